/**
 * Slow consumers: a WebSocket client that completes the upgrade by hand over `Deno.connect` and
 * then never reads, while the room is flooded with large messages. The server must close it
 * with 4008 once its unsent output passes 1 MiB, and a client reading normally in the same room
 * must get every message, in order, meanwhile.
 *
 * The flood stops as soon as the server has given up on the slow socket; to know when, the test
 * watches the server's own WebSocket through the connection registry (the test server runs in
 * this process). Whether it was closed, and how, is then read off the wire.
 *
 * @module
 */
import assert from "node:assert/strict";
import { OPCODE_CLOSE, OPCODE_TEXT, RawSocket } from "./raw_socket.ts";
import { waitFor } from "./wait_for.ts";
import type { Message } from "../lib/types.ts";
import {
  type Frame,
  LIMITS_OFF,
  requestJson,
  sessionToken,
  startServer,
  type TestServer,
  TestSocket,
} from "./server.ts";

/** The server's limit on a socket's unsent output (`MAX_BUFFERED_BYTES` in chat_socket.ts). */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** 4000 characters of 4 UTF-8 bytes each: 16,000 bytes, the longest text as raw UTF-8. */
const LARGE_TEXT = "\u{1F600}".repeat(4000);
/** Bounds on the flood: 2,000 such messages are about 31 MiB. */
const MAX_MESSAGES = 2000;
const FLOOD_BUDGET_MS = 15_000;
const CONCURRENT_POSTS = 16;
const SETTLE_MS = 3_000;

const decoder = new TextDecoder();

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Records every WebSocket the server registers from now on (its side of each connection). */
function captureServerSockets(server: TestServer): WebSocket[] {
  const sockets: WebSocket[] = [];
  const registry = server.services.connections;
  const add = registry.add.bind(registry);
  registry.add = (connection, transport) => {
    // A WebSocket is registered as what serves it (see lib/chat_socket.ts).
    const { socket } = connection as { socket?: unknown };
    if (socket instanceof WebSocket) sockets.push(socket);
    return add(connection, transport);
  };
  return sockets;
}

async function createLobby(server: TestServer): Promise<void> {
  const { status } = await requestJson(server, "/api/rooms", {
    body: { id: "lobby", title: "Lobby" },
  });
  assert.equal(status, 201);
}

/**
 * Posts large messages, `CONCURRENT_POSTS` at a time, until `done()` holds or `limit` messages
 * or the time budget are reached; returns every stored message.
 */
async function flood(
  server: TestServer,
  done: () => boolean,
  limit = MAX_MESSAGES,
  settleMs = 0,
  idPrefix = "flood",
): Promise<Message[]> {
  const url = new URL("/api/rooms/lobby/messages", server.origin);
  const headers = {
    "content-type": "application/json",
    authorization: `Bearer ${sessionToken(server, "flood")}`,
  };
  const posted: Message[] = [];
  const started = Date.now();
  while (!done() && posted.length < limit && Date.now() - started < FLOOD_BUDGET_MS) {
    const size = Math.min(CONCURRENT_POSTS, limit - posted.length);
    const batch = Array.from({ length: size }, async (_, i) => {
      const id = `${idPrefix}-${posted.length + i}`;
      const body = JSON.stringify({ id, text: LARGE_TEXT });
      const response = await fetch(url, { method: "POST", headers, body });
      const reply = await response.json();
      assert.equal(response.status, 201, JSON.stringify(reply));
      return reply.message as Message;
    });
    posted.push(...await Promise.all(batch));
  }
  // The server decides a socket is too slow only after it stayed over the cap for a moment.
  const settled = Date.now() + settleMs;
  while (!done() && Date.now() < settled) await new Promise((resolve) => setTimeout(resolve, 50));
  return posted;
}

/** Upgrades `path` with a hand-written client that reads nothing until the test asks it to. */
async function openSilent(port: number, path: string): Promise<RawSocket> {
  const socket = await RawSocket.open(port, path);
  assert.equal(socket.status, 101, `the upgrade of ${path} was refused`);
  return socket;
}

const mebibytes = (bytes: number) => `${(bytes / MAX_BUFFERED_BYTES).toFixed(1)} MiB`;

Deno.test("slow consumer - a WebSocket that never reads is closed with 4008 while a reading client gets every message in order", async () => {
  const server = await startServer(LIMITS_OFF);
  const port = Number(new URL(server.origin).port);
  let slow: RawSocket | undefined;
  let reader: TestSocket | undefined;
  try {
    await createLobby(server);
    const onServer = captureServerSockets(server);
    // Read-only (no session): it only ever receives.
    slow = await openSilent(port, "/api/rooms/lobby/ws");
    await waitFor("the server to open the slow socket", () => onServer.length === 1);
    const slowOnServer = onServer[0];
    reader = TestSocket.open(server, "lobby");
    await reader.until((s) => s.frames.some((frame) => frame.type === "welcome"));

    let peakBuffered = 0;
    const posted = await flood(
      server,
      () => {
        peakBuffered = Math.max(peakBuffered, slowOnServer.bufferedAmount);
        return slowOnServer.readyState !== WebSocket.OPEN;
      },
      MAX_MESSAGES,
      SETTLE_MS,
    );
    const bytes = posted.length * LARGE_TEXT.length * 2;
    assert.notEqual(
      slowOnServer.readyState,
      WebSocket.OPEN,
      `the server never gave up on the slow socket: ${posted.length} messages ` +
        `(${mebibytes(bytes)}) posted, its bufferedAmount peaked at ${peakBuffered} bytes`,
    );
    assert.ok(peakBuffered > 0, "the server's bufferedAmount never grew");

    // The reading client got every message, in order, and was never cut off.
    await reader.until((s) => s.messages.length >= posted.length, 20_000);
    assert.deepEqual(reader.messages.map((m) => m.seq), range(1, posted.length));
    const byId = new Map(posted.map((message) => [message.id, message]));
    for (const message of reader.messages) assert.deepEqual(message, byId.get(message.id));
    assert.deepEqual(reader.frames.filter((frame) => frame.type === "error"), []);
    assert.equal(reader.socket.readyState, WebSocket.OPEN);

    // The slow socket got its welcome, a gap-free start of the room, then a 4008 close
    // (`presence` frames, which report who is online, may come in between).
    const frames: Frame[] = [];
    let close: Uint8Array | undefined;
    for (;;) {
      const message = await slow.readMessage(10_000);
      if (message === null) break;
      if (message.opcode === OPCODE_CLOSE) {
        close = message.payload;
        break;
      }
      assert.equal(message.opcode, OPCODE_TEXT);
      const frame: Frame = JSON.parse(decoder.decode(message.payload));
      if (frame.type !== "presence") frames.push(frame);
    }
    assert.ok(close, `the connection ended without a close frame after ${frames.length} frames`);
    assert.deepEqual(
      { code: (close[0] << 8) | close[1], reason: decoder.decode(close.subarray(2)) },
      { code: 4008, reason: "slow consumer" },
    );
    assert.equal(frames[0]?.type, "welcome");
    assert.deepEqual(frames.slice(1).filter((frame) => frame.type !== "messages"), []);
    const seqs = frames.slice(1).flatMap((frame) =>
      (frame.messages as Message[]).map((message) => message.seq)
    );
    assert.deepEqual(seqs, range(1, seqs.length));

    // Completing the closing handshake frees the slow socket; the reader stays.
    await slow.sendClose(4008);
    await waitFor("the slow socket to close", () => slowOnServer.readyState === WebSocket.CLOSED);
    assert.equal(server.services.connections.count("ws"), 1);
  } finally {
    slow?.close();
    await reader?.close();
    await server.close();
  }
});

/** The limits of a server whose client IP may hold two connections (and flood at will). */
const TWO_SLOTS = {
  env: {
    PARLEY_CONNECTIONS_PER_IP: "2",
    PARLEY_MESSAGE_RATE: "1000000",
    PARLEY_MESSAGE_BURST: "1000000",
  },
};

/** Opens a WebSocket in the lobby: "welcome" if served, else the code it was closed with. */
async function tryJoin(server: TestServer, joined: TestSocket[]): Promise<string> {
  const newcomer = TestSocket.open(server, "lobby");
  joined.push(newcomer);
  await newcomer.until((s) => s.frames.length > 0 || s.socket.readyState === WebSocket.CLOSED);
  if (newcomer.frames[0]?.type === "welcome") return "welcome";
  return String((await newcomer.closed).code);
}

Deno.test("slow consumer - once closed with 4008, a socket that still never reads keeps its slot until its connection ends", async () => {
  const server = await startServer(TWO_SLOTS);
  const port = Number(new URL(server.origin).port);
  let slow: RawSocket | undefined;
  let reader: TestSocket | undefined;
  const newcomers: TestSocket[] = [];
  try {
    await createLobby(server);
    const onServer = captureServerSockets(server);
    slow = await openSilent(port, "/api/rooms/lobby/ws");
    await waitFor("the server to open the slow socket", () => onServer.length === 1);
    const slowOnServer = onServer[0];
    reader = TestSocket.open(server, "lobby");
    await reader.until((s) => s.frames.some((frame) => frame.type === "welcome"));

    await flood(server, () => slowOnServer.readyState !== WebSocket.OPEN, MAX_MESSAGES, SETTLE_MS);
    assert.notEqual(slowOnServer.readyState, WebSocket.OPEN, "no 4008 decision");

    // What the server still has queued for it stays until its connection ends, and so does its
    // slot: a client cannot pile up such queues by abandoning socket after socket.
    assert.equal(await tryJoin(server, newcomers), "1013");
    slow.close();
    await waitFor(
      "the slow socket's connection to end",
      () => slowOnServer.readyState === WebSocket.CLOSED,
    );
    assert.equal(await tryJoin(server, newcomers), "welcome");
    assert.equal(server.services.connections.count("ws"), 2);
  } finally {
    slow?.close();
    await Promise.all(newcomers.map((socket) => socket.close()));
    await reader?.close();
    await server.close();
  }
});

/** Opens the lobby's event stream with a hand-written client that reads nothing until asked. */
async function openSilentStream(server: TestServer): Promise<Deno.TcpConn> {
  const port = Number(new URL(server.origin).port);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(
    `GET /api/rooms/lobby/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`,
  ));
  await waitFor(
    "the server to open the stream",
    () => server.services.connections.count("sse") === 1,
  );
  return conn;
}

/** The bytes of an HTTP/1.1 chunked body's last chunk. */
const LAST_CHUNK = "\r\n0\r\n\r\n";

/**
 * Runs `fn` once the server has ended a silent client's event stream as a slow consumer (a
 * reading WebSocket in the same room holds the client IP's other slot, and a newcomer is
 * refused): `slow` is the silent client's connection, which `fn` may close.
 */
async function withEndedStream(
  fn: (
    context: { server: TestServer; slow: Deno.TcpConn; join: () => Promise<string> },
  ) => Promise<void>,
): Promise<void> {
  const server = await startServer(TWO_SLOTS);
  let slow: Deno.TcpConn | undefined;
  let reader: TestSocket | undefined;
  const newcomers: TestSocket[] = [];
  try {
    await createLobby(server);
    slow = await openSilentStream(server);
    reader = TestSocket.open(server, "lobby");
    await reader.until((s) => s.frames.some((frame) => frame.type === "welcome"));
    const rejected = () => server.services.metrics.rejected.get("slow_consumer");
    await flood(server, () => rejected() === 1, MAX_MESSAGES, SETTLE_MS);
    assert.equal(rejected(), 1, "the stream was never taken for a slow consumer");
    const join = () => tryJoin(server, newcomers);
    // What is queued for it stays with the connection, and so does its slot.
    assert.equal(await join(), "1013");
    await fn({ server, slow, join });
  } finally {
    try {
      slow?.close();
    } catch {
      // Closed by the test.
    }
    await Promise.all(newcomers.map((socket) => socket.close()));
    await reader?.close();
    await server.close();
  }
}

Deno.test("slow consumer - an event stream that stops reading is ended, keeps its slot until its reader has what was queued, then closes", async () => {
  await withEndedStream(async ({ server, slow, join }) => {
    // Ended: what comes next is not queued for it.
    const later = await flood(server, () => false, 5, 0, "later");

    // The reader reads again: it gets the start of the room, in order, and then the end.
    let text = "";
    const buffer = new Uint8Array(256 * 1024);
    const deadline = Date.now() + 20_000;
    while (!text.endsWith(LAST_CHUNK) && Date.now() < deadline) {
      const read = await slow.read(buffer);
      if (read === null) break;
      text += decoder.decode(buffer.subarray(0, read), { stream: true });
    }
    assert.ok(text.endsWith(LAST_CHUNK), "the stream did not end");
    const seqs = [...text.matchAll(/"seq":(\d+)/g)].map((match) => Number(match[1]));
    assert.ok(seqs.length > 0, "no messages");
    assert.deepEqual(seqs, range(1, seqs.length));
    assert.ok(seqs.length < later[0].seq, `${seqs.length} messages, then one sent after the end`);
    await waitFor(
      "the stream to give up its slot",
      () => server.services.connections.count("sse") === 0,
    );
    assert.equal(await join(), "welcome");
  });
});

Deno.test("slow consumer - an event stream ended as a slow consumer gives up its slot when its reader disconnects", async () => {
  await withEndedStream(async ({ server, slow, join }) => {
    slow.close();
    await waitFor(
      "the stream to give up its slot",
      () => server.services.connections.count("sse") === 0,
    );
    assert.equal(await join(), "welcome");
  });
});

Deno.test("slow consumer - a socket that never reads its backlog is closed with 4008 too", async () => {
  const server = await startServer(LIMITS_OFF);
  const port = Number(new URL(server.origin).port);
  let slow: RawSocket | undefined;
  try {
    await createLobby(server);
    // 500 messages of 16 KB: about 7.6 MiB of history.
    const history = await flood(server, () => false, 500);
    assert.equal(history.length, 500);
    const onServer = captureServerSockets(server);
    slow = await openSilent(port, "/api/rooms/lobby/ws?after=0");
    await waitFor("the server to open the slow socket", () => onServer.length === 1);
    const slowOnServer = onServer[0];
    await waitFor(
      "the server to give up on the socket",
      () => slowOnServer.readyState !== WebSocket.OPEN,
    );

    const seqs: number[] = [];
    let close: Uint8Array | undefined;
    for (;;) {
      const message = await slow.readMessage(10_000);
      if (message === null) break;
      if (message.opcode === OPCODE_CLOSE) {
        close = message.payload;
        break;
      }
      const frame: Frame = JSON.parse(decoder.decode(message.payload));
      if (frame.type === "messages") seqs.push(...(frame.messages as Message[]).map((m) => m.seq));
      else assert.ok(["welcome", "presence"].includes(frame.type), `unexpected ${frame.type}`);
    }
    assert.ok(close, "the connection ended without a close frame");
    assert.equal((close[0] << 8) | close[1], 4008);
    assert.deepEqual(seqs, range(1, seqs.length));
    await slow.sendClose(4008);
    await waitFor("the slow socket to close", () => slowOnServer.readyState === WebSocket.CLOSED);
  } finally {
    slow?.close();
    await server.close();
  }
});

Deno.test("heartbeat - a WebSocket that never answers pings is closed after the idle timeout", async () => {
  const server = await startServer({ env: { PARLEY_WS_IDLE_TIMEOUT: "2" } });
  const port = Number(new URL(server.origin).port);
  let silent: RawSocket | undefined;
  let alive: TestSocket | undefined;
  try {
    await createLobby(server);
    const onServer = captureServerSockets(server);
    silent = await openSilent(port, "/api/rooms/lobby/ws");
    alive = TestSocket.open(server, "lobby");
    await waitFor("both sockets to open", () => onServer.length === 2);
    const started = Date.now();
    await waitFor(
      "the silent socket to be dropped",
      () => onServer[0].readyState === WebSocket.CLOSED,
      8000,
    );
    const after = Date.now() - started;
    assert.ok(after >= 1000 && after < 6000, `dropped after ${after} ms`);
    // A client that answers pings (every browser and Deno does) stays.
    assert.equal(alive.socket.readyState, WebSocket.OPEN);
    assert.equal(server.services.connections.count("ws"), 1);
  } finally {
    silent?.close();
    await alive?.close();
    await server.close();
  }
});
