/**
 * A probe of what clients that stop reading cost the server: one address opens event streams
 * (or WebSockets) on a room with a long history and never reads them, round after round. The
 * server ends each as a slow consumer; what it had queued for it stays until the connection
 * ends, so with the connection cap on (as by default) the address can hold only so many, and
 * the server's memory stops growing once it does. The probe reports, per round, the streams the
 * server took and ended, the live connections it counts, and its resident memory.
 *
 * Usage: `deno run --allow-all bench/stalled_readers.ts [sse|ws] [rounds, default 6]
 * [per round, default 40] [checkout to run, default this one]`
 *
 * @module
 */
import { startServer } from "./server_process.ts";

const [transport = "sse", roundsArg = "6", perRoundArg = "40", rootArg] = Deno.args;
if (transport !== "sse" && transport !== "ws") throw new Error(`Unknown transport "${transport}"`);
const ROUNDS = Number(roundsArg);
const PER_ROUND = Number(perRoundArg);
/** The room's history: 3,000 messages of 4,000 "€", about 36 MB. */
const HISTORY = 3_000;
const TEXT = "€".repeat(4_000);
/** How long a round waits for the server to end its streams, at most. */
const ROUND_TIMEOUT_MS = 15_000;
/** How long a round waits once no more streams are being ended. */
const SETTLED_MS = 3_000;

const root = rootArg === undefined ? new URL("..", import.meta.url) : new URL(`file://${rootArg}/`);
const server = await startServer("parley-1w", {
  root,
  // The limits as deployed, but for the message rate, so the history fills quickly.
  env: { PARLEY_LIMITS: "on", PARLEY_MESSAGE_RATE: "100000", PARLEY_MESSAGE_BURST: "100000" },
});
const headers = { "content-type": "application/json", origin: server.origin };

async function post(path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${server.origin}${path}`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
  });
  return await response.json();
}

/** Fills the room over one WebSocket, acknowledged message by message in flight together. */
async function fill(token: string): Promise<void> {
  const socket = new WebSocket(
    `${server.originAt("127.0.0.1", "ws")}/api/rooms/big/ws?token=${token}`,
  );
  await new Promise((resolve) => socket.onopen = resolve);
  const acked = Promise.withResolvers<void>();
  let acks = 0;
  socket.onmessage = ({ data }) => {
    if (JSON.parse(data).type === "ack" && ++acks === HISTORY) acked.resolve();
  };
  for (let i = 0; i < HISTORY; i++) {
    socket.send(JSON.stringify({ type: "send", id: `fill-${i}`, text: TEXT }));
  }
  await acked.promise;
  socket.close();
}

/** One series of `/metrics`, or 0. */
async function metric(series: string): Promise<number> {
  const text = await (await fetch(`${server.origin}/metrics`)).text();
  const line = text.split("\n").find((line) => line.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** Opens a stream that reads its answer's first bytes and then nothing. */
async function openStalled(): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const upgrade = transport === "ws"
    ? "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
      "Sec-WebSocket-Version: 13\r\n"
    : "";
  const path = transport === "ws" ? "/api/rooms/big/ws?after=0" : "/api/rooms/big/events?after=0";
  const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n${upgrade}\r\n`;
  await conn.write(new TextEncoder().encode(request));
  await conn.read(new Uint8Array(64));
  return conn;
}

const held: Deno.TcpConn[] = [];
try {
  await post("/api/rooms", { id: "big", title: "Big" });
  const { token } = await post("/api/session", { name: "filler" });
  await fill(String(token));
  const slow = `parley_rejected_total{reason="slow_consumer"}`;
  const open = `parley_open_connections{transport="${transport}"}`;
  const mib = () => (server.rssKiB() / 1024).toFixed(0);
  console.log(`${transport}: ${ROUNDS} rounds of ${PER_ROUND} stalled readers from one address`);
  console.log(`RSS with the history stored: ${mib()} MiB`);
  console.log(
    "| Round | Stalled connections held | Ended as slow consumers | Counted open | RSS MiB |",
  );
  console.log(
    "| ----- | ------------------------ | ----------------------- | ------------ | ------- |",
  );
  for (let round = 1; round <= ROUNDS; round++) {
    const before = await metric(slow);
    const opened = await Promise.all(Array.from({ length: PER_ROUND }, openStalled));
    held.push(...opened);
    // The server takes at most its cap, and ends those it took once they stay over their output
    // cap: wait until every one is ended, or none has been for a while.
    const started = Date.now();
    let ended = 0;
    let changed = started;
    while (ended < PER_ROUND && Date.now() - started < ROUND_TIMEOUT_MS) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const now = (await metric(slow)) - before;
      if (now !== ended) changed = Date.now();
      ended = now;
      if (Date.now() - changed > SETTLED_MS && Date.now() - started > SETTLED_MS) break;
    }
    const row = [round, held.length, ended, await metric(open), mib()];
    console.log(`| ${row.join(" | ")} |`);
  }
  for (const conn of held.splice(0)) conn.close();
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  console.log(`RSS 3 s after the client closed them all: ${mib()} MiB`);
} finally {
  for (const conn of held) conn.close();
  await server.stop();
}
