/**
 * Every transport together on one room, and the client library (`lib/client.ts`) over each
 * transport: resume, reconnect, outbox and idempotent retries, against real servers.
 *
 * @module
 */
import assert from "node:assert/strict";
import { waitFor as waitUntil } from "./wait_for.ts";
import { withFakeRoom } from "./fake_room.ts";
import { createApp } from "../app.tsx";
import {
  type ChatConnection,
  connect,
  type ConnectionState,
  type OnlinePerson,
} from "../lib/client.ts";
import { readConfig } from "../lib/config.ts";
import { MessageLog } from "../lib/message_log.ts";
import { openKv } from "../lib/open_kv.ts";
import { closeServices, closeStore, createServices } from "../lib/services.ts";
import type { TransportName } from "../lib/transports/transport.ts";
import type { Message } from "../lib/types.ts";
import {
  type Frame,
  LIMITS_OFF,
  personToken,
  requestJson,
  startServer,
  type TestServer,
  TestSocket,
} from "./server.ts";

const TRANSPORTS: TransportName[] = ["ws", "sse", "poll"];

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function seqs(messages: Message[]): number[] {
  return messages.map((message) => message.seq);
}

/** {@link waitUntil}, giving up after 10 s. */
function waitFor(
  what: string | (() => string),
  condition: () => boolean,
  timeoutMs = 10_000,
): Promise<void> {
  return waitUntil(what, condition, timeoutMs);
}

async function createRoom(server: TestServer, id: string): Promise<void> {
  const { status, body } = await requestJson(server, "/api/rooms", { body: { id, title: id } });
  assert.equal(status, 201, JSON.stringify(body));
}

async function postRaw(
  server: TestServer,
  room: string,
  body: Record<string, unknown>,
): Promise<{ status: number; message: Message }> {
  const author = typeof body.author === "string" ? body.author : "ann";
  const response = await fetch(new URL(`/api/rooms/${room}/messages`, server.origin), {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${personToken(server, author)}`,
    },
    body: JSON.stringify(body),
  });
  const reply = await response.json();
  return { status: response.status, message: reply.message };
}

async function post(
  server: TestServer,
  room: string,
  text: string,
  id?: string,
): Promise<Message> {
  const { status, message } = await postRaw(server, room, { id, author: "ada", text });
  assert.equal(status, 201, `POST "${text}" answered ${status}`);
  return message;
}

async function postSeries(
  server: TestServer,
  room: string,
  texts: string[],
): Promise<Message[]> {
  const stored = [];
  for (const text of texts) stored.push(await post(server, room, text));
  return stored;
}

/** Every message of a room, oldest first, read through the history API. */
async function history(server: TestServer, room: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const after = all.at(-1)?.seq ?? 0;
    const response = await fetch(
      new URL(`/api/rooms/${room}/messages?after=${after}&limit=500`, server.origin),
    );
    assert.equal(response.status, 200);
    const page = await response.json() as { messages: Message[] };
    if (page.messages.length === 0) return all;
    all.push(...page.messages);
  }
}

/** A minimal Server-Sent Events reader: collects `message` events as they arrive. */
class SseReader {
  readonly messages: Message[] = [];
  welcomed = false;
  readonly done: Promise<void>;
  #reader: ReadableStreamDefaultReader<string>;

  private constructor(response: Response) {
    this.#reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    this.done = this.#pump();
  }

  static async open(server: TestServer, room: string, after: number): Promise<SseReader> {
    const response = await fetch(`${server.origin}/api/rooms/${room}/events?after=${after}`);
    assert.equal(response.status, 200);
    return new SseReader(response);
  }

  async #pump(): Promise<void> {
    let buffer = "";
    try {
      for (;;) {
        const { done, value } = await this.#reader.read();
        if (done) return;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          const lines = buffer.slice(0, end).split("\n");
          buffer = buffer.slice(end + 2);
          const event = lines.find((line) => line.startsWith("event: "))?.slice(7);
          const data = lines.find((line) => line.startsWith("data: "))?.slice(6);
          if (event === "welcome") this.welcomed = true;
          if (event === "message") this.messages.push(JSON.parse(data!));
        }
      }
    } catch {
      // Cancelled by close().
    }
  }

  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
    await this.done;
  }
}

/** A client connection with everything it delivered and every state it went through. */
function track(connection: ChatConnection) {
  const delivered: Message[] = [];
  const states: ConnectionState[] = [];
  connection.on("messages", (messages) => delivered.push(...messages));
  connection.on("status", (status) => states.push(status.state));
  return { connection, delivered, states };
}

function open(
  server: TestServer,
  room: string,
  transport: TransportName,
  after?: number,
) {
  return track(connect(room, { name: "cleo", transport, after, baseUrl: server.origin }));
}

async function untilLive(connection: ChatConnection): Promise<void> {
  await waitFor(
    () => `the ${connection.status.transport} connection to go live (${connection.status.state})`,
    () => connection.status.state === "live",
  );
}

/**
 * A Parley server on a chosen port over KV at a path, so a test can restart it in place;
 * `close()` may be called twice.
 */
async function startServerAt(port: number, kvPath: string): Promise<TestServer & { port: number }> {
  const kv = await openKv(kvPath);
  const services = await createServices(kv, { ...readConfig(() => undefined), kvPath });
  const controller = new AbortController();
  const server = Deno.serve(
    { port, hostname: "127.0.0.1", signal: controller.signal, onListen() {} },
    createApp(services).fetch,
  );
  let closed = false;
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    port: server.addr.port,
    services,
    async close() {
      if (closed) return;
      closed = true;
      controller.abort();
      await server.shutdown().catch(() => {});
      await server.finished;
      closeServices(services);
      closeStore(services);
    },
  };
}

Deno.test("transports - 1,000 messages from a WS and an HTTP sender reach WS, SSE and long-poll readers complete and in order", async () => {
  const server = await startServer(LIMITS_OFF);
  const room = "crowd";
  const total = 1000;
  const half = total / 2;
  let wsReader: TestSocket | undefined;
  let wsSender: TestSocket | undefined;
  let sseReader: SseReader | undefined;
  const polling = new AbortController();
  try {
    await createRoom(server, room);
    wsReader = TestSocket.open(server, room, { after: 0 });
    sseReader = await SseReader.open(server, room, 0);
    const polled: Message[] = [];
    const pollReader = (async () => {
      let after = 0;
      while (after < total) {
        const response = await fetch(
          `${server.origin}/api/rooms/${room}/messages?after=${after}&wait=10&limit=500`,
          { signal: polling.signal },
        );
        assert.equal(response.status, 200);
        const page = await response.json() as { messages: Message[] };
        polled.push(...page.messages);
        if (page.messages.length > 0) after = page.messages.at(-1)!.seq;
      }
    })();
    pollReader.catch(() => {});
    wsSender = TestSocket.open(server, room, { name: "wendy" });
    await wsReader.until((s) => s.frames.some((frame) => frame.type === "welcome"));
    await wsSender.until((s) => s.frames.some((frame) => frame.type === "welcome"));
    await waitFor("the SSE reader's welcome", () => sseReader!.welcomed);
    await waitFor("the long poll to wait", () => server.services.hub.waitingPolls === 1);

    const sender = wsSender;
    for (const i of range(1, half)) sender.send({ type: "send", id: `ws-${i}`, text: `ws ${i}` });
    const posted: Message[] = [];
    let next = 1;
    await Promise.all(
      range(1, 20).map(async () => {
        while (next <= half) {
          const i = next++;
          posted.push(await post(server, room, `http ${i}`, `http-${i}`));
        }
      }),
    );
    const acks = () => sender.frames.filter((frame) => frame.type === "ack");
    await sender.until(() => acks().length >= half, 30_000);

    const errors = sender.frames.filter((frame) => frame.type === "error");
    assert.deepEqual(errors, []);
    const ackedIds = acks().map((frame) => frame.id);
    assert.deepEqual(new Set(ackedIds), new Set(range(1, half).map((i) => `ws-${i}`)));
    assert.equal(ackedIds.length, half);
    const storedSeqs = [...acks().map((frame) => frame.seq as number), ...seqs(posted)];
    assert.deepEqual(storedSeqs.sort((a, b) => a - b), range(1, total));

    await wsReader.until((s) => s.messages.length >= total, 30_000);
    await waitFor(
      () => `SSE at ${sseReader!.messages.length}`,
      () => sseReader!.messages.length >= total,
      30_000,
    );
    await waitFor(() => `long poll at ${polled.length}`, () => polled.length >= total, 30_000);
    await pollReader;

    const stored = await history(server, room);
    assert.deepEqual(seqs(stored), range(1, total));
    const expectedIds = new Set([
      ...range(1, half).map((i) => `ws-${i}`),
      ...range(1, half).map((i) => `http-${i}`),
    ]);
    assert.deepEqual(new Set(stored.map((message) => message.id)), expectedIds);
    for (
      const [name, received] of [
        ["ws", wsReader.messages as Message[]],
        ["sse", sseReader.messages],
        ["poll", polled],
      ] as const
    ) {
      assert.deepEqual(seqs(received), range(1, total), `${name} seqs`);
      assert.deepEqual(received, stored, `${name} messages`);
    }
    // Each sender's own messages keep the order they were sent in.
    const wsOrder = stored.filter((message) => message.id.startsWith("ws-")).map((m) => m.id);
    assert.deepEqual(wsOrder, range(1, half).map((i) => `ws-${i}`));
  } finally {
    polling.abort();
    await wsReader?.close();
    await wsSender?.close();
    await sseReader?.close();
    await waitFor("the long poll to leave", () => server.services.hub.waitingPolls === 0);
    await server.close();
  }
});

Deno.test("transports - readers joining mid-burst from an old cursor get every message exactly once", async () => {
  const server = await startServer(LIMITS_OFF);
  const room = "joiners";
  const total = 600;
  const sockets: TestSocket[] = [];
  const streams: Array<{ after: number; reader: SseReader }> = [];
  try {
    await createRoom(server, room);
    const watcher = TestSocket.open(server, room, { after: 0 });
    sockets.push(watcher);
    await watcher.until((s) => s.frames.some((frame) => frame.type === "welcome"));

    let next = 1;
    const burst = Promise.all(
      range(1, 20).map(async () => {
        while (next <= total) {
          const i = next++;
          await post(server, room, `burst ${i}`, `burst-${i}`);
        }
      }),
    );
    // Each joiner's backlog read races the live deliveries of the burst.
    for (const threshold of [50, 150, 300, 450]) {
      await watcher.until((s) => s.messages.length >= threshold, 20_000);
      sockets.push(TestSocket.open(server, room, { after: 0 }));
      streams.push({ after: 0, reader: await SseReader.open(server, room, 0) });
      const midway = Math.floor(threshold / 2);
      streams.push({ after: midway, reader: await SseReader.open(server, room, midway) });
    }
    await burst;

    for (const [i, socket] of sockets.entries()) {
      await socket.until((s) => s.messages.length >= total, 20_000);
      assert.deepEqual(socket.messages.map((message) => message.seq), range(1, total), `ws ${i}`);
    }
    for (const { after, reader } of streams) {
      await waitFor(
        () => `SSE from ${after} at ${reader.messages.length}`,
        () => reader.messages.at(-1)?.seq === total,
        20_000,
      );
      assert.deepEqual(seqs(reader.messages), range(after + 1, total), `sse from ${after}`);
    }
  } finally {
    for (const socket of sockets) await socket.close();
    for (const { reader } of streams) await reader.close();
    await server.close();
  }
});

for (const transport of TRANSPORTS) {
  Deno.test(`client (${transport}) - a new connection from the old one's last gets exactly the missed messages`, async () => {
    const server = await startServer(LIMITS_OFF);
    const room = "resume";
    let first: ReturnType<typeof open> | undefined;
    let second: ReturnType<typeof open> | undefined;
    try {
      await createRoom(server, room);
      await postSeries(server, room, ["old 1", "old 2"]);
      first = open(server, room, transport);
      await untilLive(first.connection);
      assert.equal(first.connection.last, 2);

      const seen = await postSeries(server, room, ["a", "b", "c"]);
      await waitFor("the first connection's messages", () => first!.connection.last === 5);
      assert.deepEqual(first.delivered, seen);
      first.connection.close();
      assert.equal(first.connection.status.state, "closed");
      if (transport === "poll") {
        await waitFor("the closed poll to leave", () => server.services.hub.waitingPolls === 0);
      }

      const missed = await postSeries(server, room, ["d", "e", "f", "g"]);
      second = open(server, room, transport, first.connection.last);
      await waitFor("the missed messages", () => second!.delivered.length >= missed.length);
      const marker = await post(server, room, "marker");
      await waitFor("the marker", () => second!.connection.last === marker.seq);

      assert.deepEqual(second.delivered, [...missed, marker]);
      assert.deepEqual(seqs(second.delivered), range(6, 10));
      assert.deepEqual(first.delivered, seen, "the closed connection delivered nothing more");
      assert.deepEqual(second.states, ["live"]);
    } finally {
      first?.connection.close();
      second?.connection.close();
      await waitFor("polls to leave", () => server.services.hub.waitingPolls === 0);
      await server.close();
    }
  });

  Deno.test(`client (${transport}) - reconnects after the server restarts, resumes, and sends its outbox once`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "parley-restart-" });
    const kvPath = `${dir}/parley.kv`;
    const room = "restart";
    let server = await startServerAt(0, kvPath);
    const port = server.port;
    let client: ReturnType<typeof open> | undefined;
    try {
      await createRoom(server, room);
      await postSeries(server, room, ["one", "two"]);
      client = open(server, room, transport);
      const { connection, delivered, states } = client;
      await untilLive(connection);
      const before = await post(server, room, "three");
      await waitFor("the first live message", () => connection.last === 3);

      await server.close();
      await waitFor("the client to notice", () => connection.status.state === "reconnecting");
      const id = connection.send("sent while down", "down-1");
      assert.deepEqual(connection.outbox, [
        { id, text: "sent while down", state: "sending", error: undefined, failure: undefined },
      ]);

      // Messages stored while this client is away, by someone else.
      const kv = await openKv(kvPath);
      try {
        const log = new MessageLog(kv);
        for (const text of ["four", "five", "six"]) {
          await log.append(room, { author: "bob", text });
        }
      } finally {
        kv.close();
      }
      assert.equal(connection.status.state, "reconnecting");
      assert.equal(connection.outbox.length, 1);
      assert.equal(connection.outbox[0].state, "sending");

      server = await startServerAt(port, kvPath);
      await waitFor("the outbox to drain", () => connection.outbox.length === 0, 20_000);
      const marker = await post(server, room, "marker");
      await waitFor("the marker", () => connection.last === marker.seq);

      const stored = await history(server, room);
      assert.deepEqual(seqs(stored), range(1, 8));
      assert.deepEqual(stored.filter((message) => message.id === id).length, 1);
      assert.equal(stored[6].id, id);
      assert.equal(stored[6].author, "cleo");
      assert.deepEqual(delivered, stored.slice(2));
      assert.deepEqual(delivered[0], before);
      assert.ok(states.includes("reconnecting"));
      assert.equal(states.at(-1), "live");
      assert.equal(connection.status.transport, transport);
    } finally {
      client?.connection.close();
      await waitFor("polls to leave", () => server.services.hub.waitingPolls === 0);
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`client (${transport}) - after the server is restored from a backup behind its cursor, it resyncs to the restored messages and goes on`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "parley-restore-" });
    const kvPath = `${dir}/parley.kv`;
    const room = "restore";
    let server = await startServerAt(0, kvPath);
    const port = server.port;
    let client: ReturnType<typeof open> | undefined;
    try {
      await createRoom(server, room);
      const kept = await postSeries(server, room, ["one", "two"]);
      // The backup, as docs/DEPLOY.md says: the server stopped, its file copied.
      await server.close();
      await Deno.copyFile(kvPath, `${dir}/backup.kv`);
      server = await startServerAt(port, kvPath);
      client = open(server, room, transport);
      const { connection, delivered } = client;
      const resyncs: Message[][] = [];
      connection.on("resync", (messages) => resyncs.push(messages));
      await untilLive(connection);
      await postSeries(server, room, ["three", "four"]);
      await waitFor("the messages after the backup", () => connection.last === 4);

      await server.close();
      await waitFor("the client to notice", () => connection.status.state === "reconnecting");
      await Deno.copyFile(`${dir}/backup.kv`, kvPath);
      // A clean stop leaves no -wal or -shm file: the backup put in place is the whole store.
      assert.deepEqual([...Deno.readDirSync(dir)].map(({ name }) => name).sort(), [
        "backup.kv",
        "parley.kv",
      ]);
      server = await startServerAt(port, kvPath);
      await waitFor("the resync", () => resyncs.length === 1, 20_000);
      assert.deepEqual(resyncs, [kept]);
      assert.equal(connection.last, 2);
      assert.equal(connection.status.state, "live");
      const fresh = await post(server, room, "after the restore");
      assert.equal(fresh.seq, 3);
      await waitFor("the message after the restore", () => connection.last === 3);
      assert.deepEqual(delivered.at(-1), fresh);
    } finally {
      client?.connection.close();
      await waitFor("polls to leave", () => server.services.hub.waitingPolls === 0);
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`client (${transport}) - a send made before the connection is live is delivered exactly once`, async () => {
    const server = await startServer(LIMITS_OFF);
    const room = "early";
    let client: ReturnType<typeof open> | undefined;
    try {
      await createRoom(server, room);
      await post(server, room, "before");
      client = open(server, room, transport);
      const { connection, delivered } = client;
      const outboxes: number[] = [];
      connection.on("outbox", (items) => outboxes.push(items.length));
      assert.equal(connection.status.state, "connecting");
      const id = connection.send("early bird");
      assert.deepEqual(connection.outbox, [
        { id, text: "early bird", state: "sending", error: undefined, failure: undefined },
      ]);

      await waitFor("the early message", () => delivered.some((message) => message.id === id));
      assert.deepEqual(connection.outbox, []);
      const marker = await post(server, room, "marker");
      await waitFor("the marker", () => connection.last === marker.seq);

      const stored = await history(server, room);
      assert.deepEqual(stored.map((message) => message.text), ["before", "early bird", "marker"]);
      assert.equal(stored[1].id, id);
      assert.equal(stored[1].author, "cleo");
      assert.deepEqual(delivered, stored.slice(1));
      assert.deepEqual(outboxes, [1, 0]);
    } finally {
      client?.connection.close();
      await waitFor("polls to leave", () => server.services.hub.waitingPolls === 0);
      await server.close();
    }
  });

  Deno.test(`client (${transport}) - the same id sent twice is stored and delivered once`, async () => {
    const server = await startServer(LIMITS_OFF);
    const room = "twice";
    let client: ReturnType<typeof open> | undefined;
    try {
      await createRoom(server, room);
      client = open(server, room, transport);
      const { connection, delivered } = client;
      await untilLive(connection);

      const id = connection.send("only once", "same-id");
      assert.equal(id, "same-id");
      assert.equal(connection.send("only once", "same-id"), "same-id");
      assert.equal(connection.outbox.length, 1);
      await waitFor("the message", () => delivered.length >= 1);
      const marker = await post(server, room, "marker");
      await waitFor("the marker", () => connection.last === marker.seq);

      const stored = await history(server, room);
      assert.deepEqual(stored.map((message) => [message.seq, message.id]), [
        [1, "same-id"],
        [2, marker.id],
      ]);
      assert.deepEqual(delivered, stored);
      assert.deepEqual(connection.outbox, []);
    } finally {
      client?.connection.close();
      await waitFor("polls to leave", () => server.services.hub.waitingPolls === 0);
      await server.close();
    }
  });
}

for (const transport of TRANSPORTS) {
  Deno.test({
    name:
      `client (${transport}) - a missing room, a cursor beyond the head or a bad epoch closes it for good`,
    async fn() {
      const server = await startServer(LIMITS_OFF);
      const clients: Array<ReturnType<typeof open>> = [];
      try {
        await createRoom(server, "real");
        await postSeries(server, "real", ["one", "two"]);
        const missing = open(server, "nowhere", transport);
        const ahead = open(server, "real", transport, 99);
        const misdated = track(
          connect("real", { transport, after: 1, epoch: "bad!", baseUrl: server.origin }),
        );
        clients.push(missing, ahead, misdated);
        for (const client of clients) {
          await waitFor(
            () => `${transport} to close (${JSON.stringify(client.connection.status)})`,
            () => client.connection.status.state === "closed",
          );
        }
        assert.deepEqual(missing.connection.status, {
          state: "closed",
          transport,
          error: "room_not_found",
        });
        assert.deepEqual(ahead.connection.status, {
          state: "closed",
          transport,
          error: "invalid_cursor",
        });
        assert.deepEqual(misdated.connection.status, {
          state: "closed",
          transport,
          error: "invalid_epoch",
        });
        assert.ok(!missing.states.includes("live"));
        assert.deepEqual(ahead.delivered, []);
      } finally {
        for (const client of clients) client.connection.close();
        await server.close();
      }
    },
  });
}

for (const transport of TRANSPORTS) {
  Deno.test(`client (${transport}) - a refused send is marked failed; retry sends it again, discard drops it`, async () => {
    const server = await startServer(LIMITS_OFF);
    const room = "refused";
    let client: ReturnType<typeof open> | undefined;
    try {
      await createRoom(server, room);
      // A token that names no session, and no name to make one with: the server refuses sends.
      const baseUrl = server.origin;
      client = track(connect(room, { token: "not-a-session", transport, baseUrl }));
      const { connection, delivered } = client;
      const outboxes: string[][] = [];
      connection.on("outbox", (items) => outboxes.push(items.map((item) => item.state)));
      await untilLive(connection);

      const id = connection.send("hello");
      await waitFor("the refusal", () => connection.outbox[0]?.state === "failed");
      const [failed] = connection.outbox;
      assert.equal(failed.id, id);
      assert.equal(failed.failure?.code, "session_required");

      connection.retry(id);
      assert.equal(connection.outbox[0].state, "sending");
      await waitFor("the second refusal", () => connection.outbox[0]?.state === "failed");
      connection.discard(id);
      assert.deepEqual(connection.outbox, []);
      assert.deepEqual(outboxes, [["sending"], ["failed"], ["sending"], ["failed"], []]);

      const marker = await post(server, room, "marker");
      await waitFor("the marker", () => connection.last === marker.seq);
      assert.deepEqual(delivered, [marker]);
      assert.equal(connection.status.state, "live");
    } finally {
      client?.connection.close();
      await waitFor("polls to leave", () => server.services.hub.waitingPolls === 0);
      await server.close();
    }
  });
}

Deno.test("client - text the server would refuse fails at once; the rest goes as it is stored", async () => {
  const server = await startServer(LIMITS_OFF);
  let client: ReturnType<typeof open> | undefined;
  try {
    await createRoom(server, "long");
    client = open(server, "long", "ws");
    const { connection } = client;
    await untilLive(connection);
    const refusals = [
      connection.send(`  ${"x".repeat(4001)}  `),
      connection.send(" \n "),
      connection.send("half a pair \ud83d"),
      connection.send("fine text", "not an id!"),
    ].map((id) => connection.outbox.find((item) => item.id === id)?.failure);
    assert.deepEqual(refusals.map((failure) => failure?.code), [
      "text_too_long",
      "empty_text",
      "invalid_text",
      "invalid_id",
    ]);
    assert.equal(refusals[0]?.message, "The text is 4001 characters, the limit is 4000");
    // 4,000 four-byte characters padded with spaces: a frame the server takes, and text within
    // the limit once trimmed. CRLF counts as one character, as the server counts it.
    const emoji = "\u{1f600}".repeat(4000);
    connection.send(`${" ".repeat(400)}${emoji}${" ".repeat(400)}`);
    connection.send("a\r\n".repeat(1999));
    await waitFor("both messages", () => client!.delivered.length === 2, 15_000);
    assert.deepEqual(client.delivered.map(({ text }) => text), [
      emoji,
      "a\n".repeat(1999).trim(),
    ]);
    assert.deepEqual(connection.outbox.map(({ state }) => state), Array(4).fill("failed"));
  } finally {
    client?.connection.close();
    await server.close();
  }
});

Deno.test("ws - a send under an id another author's message has is an id_taken error, and nothing is stored for it", async () => {
  const server = await startServer(LIMITS_OFF);
  const room = "taken";
  await createRoom(server, room);
  const socket = TestSocket.open(server, room, { name: "mallory" });
  try {
    const first = await postRaw(server, room, { id: "c-1", author: "ada", text: "ada's" });
    await socket.until((s) => s.frames.some((frame) => frame.type === "welcome"));
    socket.send({ type: "send", id: "c-1", text: "mallory's" });
    socket.send({ type: "send", id: "c-2", text: "mallory's own" });
    await socket.until((s) => s.frames.some((frame) => frame.type === "ack"));
    const answers = socket.frames.filter((frame) => frame.type === "ack" || frame.type === "error");
    assert.deepEqual(answers.map(({ type, id, code }) => [type, id, code]), [
      ["error", "c-1", "id_taken"],
      ["ack", "c-2", undefined],
    ]);
    const stored = await history(server, room);
    assert.deepEqual(stored.map(({ id, text }) => [id, text]), [
      ["c-1", first.message.text],
      ["c-2", "mallory's own"],
    ]);
  } finally {
    await socket.close();
    await server.close();
  }
});

Deno.test("transports - a retried send with the same id is stored once, and every ack names one seq", async () => {
  const server = await startServer(LIMITS_OFF);
  const room = "retry";
  let socket: TestSocket | undefined;
  try {
    await createRoom(server, room);
    const first = await postRaw(server, room, { id: "post-1", author: "ada", text: "hello" });
    const again = await postRaw(server, room, { id: "post-1", author: "ada", text: "hello" });
    assert.equal(first.status, 201);
    assert.equal(again.status, 200);
    assert.deepEqual(again.message, first.message);

    // Concurrent retries of one id, as a client resending on a flaky link would make.
    const racing = await Promise.all(
      range(1, 5).map(() => postRaw(server, room, { id: "post-2", author: "ada", text: "again" })),
    );
    assert.deepEqual(racing.map((reply) => reply.status).sort(), [200, 200, 200, 200, 201]);
    assert.equal(new Set(racing.map((reply) => reply.message.seq)).size, 1);

    // Two sends of one new id in the same commit: the repeated id ahead keeps the appender
    // busy without a commit, so both queue behind it and go into one batch.
    const { log } = server.services;
    const [held, once, twice] = await Promise.all([
      log.append(room, { id: "post-1", author: "ada", text: "hello" }),
      log.append(room, { id: "batch-1", author: "ada", text: "batched" }),
      log.append(room, { id: "batch-1", author: "ada", text: "batched" }),
    ]);
    assert.equal(held.created, false);
    assert.deepEqual([once.created, twice.created], [true, false]);
    assert.deepEqual(twice.message, once.message);

    // Wendy, who sends over HTTP below too.
    socket = TestSocket.open(server, room, { token: personToken(server, "wendy")! });
    await socket.until((s) => s.frames.some((frame) => frame.type === "welcome"));
    socket.send({ type: "send", id: "ws-1", text: "over ws" });
    socket.send({ type: "send", id: "ws-1", text: "over ws" });
    // The same id over HTTP after WS: still the one message.
    const isAck = (frame: Frame) => frame.type === "ack";
    await socket.until((s) => s.frames.filter(isAck).length >= 2);
    const viaHttp = await postRaw(server, room, { id: "ws-1", author: "wendy", text: "over ws" });
    assert.equal(viaHttp.status, 200);
    const acks = socket.frames.filter(isAck);
    assert.deepEqual(acks, [
      { type: "ack", id: "ws-1", seq: viaHttp.message.seq },
      { type: "ack", id: "ws-1", seq: viaHttp.message.seq },
    ]);

    const stored = await history(server, room);
    assert.deepEqual(stored.map((message) => message.id), ["post-1", "post-2", "batch-1", "ws-1"]);
    assert.deepEqual(seqs(stored), [1, 2, 3, 4]);
    await socket.until((s) => s.messages.length >= 1);
    const marker = await post(server, room, "marker");
    await socket.until((s) => s.messages.some((message) => message.seq === marker.seq));
    assert.deepEqual(socket.messages.map((message) => message.id), ["ws-1", marker.id]);
  } finally {
    await socket?.close();
    await server.close();
  }
});

Deno.test("client - drops messages a transport repeats (dedupe by seq)", async () => {
  // A fake room whose socket repeats and reorders what it already sent, as a flaky relay might.
  const message = (seq: number): Message => ({
    seq,
    id: `m-${seq}`,
    room: "echo",
    author: "ada",
    text: `m ${seq}`,
    at: 1,
  });
  const frames = [
    { type: "welcome", room: "echo", head: 0 },
    { type: "messages", messages: [message(1), message(2)] },
    { type: "messages", messages: [message(2), message(3)] },
    { type: "messages", messages: [message(1)] },
    { type: "messages", messages: [message(3), message(4)] },
  ];
  await withFakeRoom({ onOpen: () => frames }, async ({ baseUrl }) => {
    const connection = connect("echo", { transport: "ws", baseUrl });
    const batches: number[][] = [];
    connection.on("messages", (messages) => batches.push(seqs(messages)));
    try {
      await waitFor("the last message", () => connection.last === 4);
      assert.deepEqual(batches, [[1, 2], [3], [4]]);
    } finally {
      connection.close();
    }
  });
});

Deno.test("client - a message the server keeps asking for later fails after 10 tries, and the next goes", async () => {
  const tries = new Map<string, number>();
  const room = {
    onOpen: () => [{ type: "welcome", room: "busy", head: 0, epoch: "e" }],
    onFrame: (frame: Record<string, unknown>) => {
      if (frame.type !== "send") return [];
      const id = String(frame.id);
      tries.set(id, (tries.get(id) ?? 0) + 1);
      // The first message can never be stored; the second is stored at once.
      return id === "stuck"
        ? [{ type: "error", id, code: "storage_busy", message: "Busy", retryAfterMs: 1 }]
        : [{ type: "ack", id, seq: 1 }];
    },
  };
  await withFakeRoom(room, async ({ baseUrl }) => {
    const connection = connect("busy", { transport: "ws", baseUrl, token: "t" });
    try {
      connection.send("never stored", "stuck");
      connection.send("stored", "fine");
      await waitFor("the second message to be sent", () => tries.has("fine"));
      assert.equal(tries.get("stuck"), 10);
      assert.deepEqual(connection.outbox.map(({ id, state, error }) => [id, state, error]), [
        ["stuck", "failed", "The server could not take it after 10 tries (retry_limit)"],
        ["fine", "sending", undefined],
      ]);
      // Retrying it gives it ten more tries.
      connection.retry("stuck");
      await waitFor("ten more tries", () => tries.get("stuck") === 20);
      await waitFor("the retry to fail again", () => connection.outbox[1]?.state === "failed");
      assert.equal(tries.get("stuck"), 20);
    } finally {
      connection.close();
    }
  });
});

Deno.test("client - a message acknowledged as stored before the cursor leaves the outbox at once", async () => {
  // Sent again after a reload: it landed before, so its delivery will not come again.
  const room = {
    onOpen: () => [{ type: "welcome", room: "old", head: 5, epoch: "e" }],
    onFrame: (frame: Record<string, unknown>) =>
      frame.type === "send" ? [{ type: "ack", id: frame.id, seq: 3 }] : [],
  };
  await withFakeRoom(room, async ({ baseUrl }) => {
    const connection = connect("old", {
      transport: "ws",
      baseUrl,
      token: "t",
      after: 5,
      epoch: "e",
    });
    try {
      connection.send("landed before the reload", "kept-1");
      await waitFor("the outbox to empty", () => connection.outbox.length === 0);
    } finally {
      connection.close();
    }
  });
});

Deno.test("client - someone else's message under a pending message's id does not take its place", async () => {
  const taken = (id: unknown, authorId: string, text: string) => ({
    type: "messages",
    messages: [{ seq: 1, id, room: "shared", author: "mallory", authorId, text, at: 1 }],
  });
  const room = {
    onOpen: () => [{ type: "welcome", room: "shared", head: 0, epoch: "e", authorId: "ann-id" }],
    // Mallory's message under the id lands first; the server then refuses Ann's send.
    onFrame: (frame: Record<string, unknown>) =>
      frame.type !== "send" ? [] : [
        taken(frame.id, "mal-id", "mallory's"),
        { type: "error", id: frame.id, code: "id_taken", message: "Taken" },
      ],
  };
  await withFakeRoom(room, async ({ baseUrl }) => {
    const connection = connect("shared", { transport: "ws", baseUrl, token: "t" });
    try {
      const id = connection.send("ann's");
      await waitFor("the send to be refused", () => connection.outbox[0]?.state === "failed");
      assert.deepEqual(connection.outbox.map((item) => [item.id, item.failure?.code]), [
        [id, "id_taken"],
      ]);
    } finally {
      connection.close();
    }
  });
});

Deno.test("client - a message refused for the rate again and again is sent until it is taken, never failed", async () => {
  let tries = 0;
  const room = {
    onOpen: () => [{ type: "welcome", room: "shared", head: 0, epoch: "e" }],
    onFrame: (frame: Record<string, unknown>) => {
      if (frame.type !== "send") return [];
      // People behind the same address spend its rate first, fifteen times over.
      return ++tries <= 15
        ? [{ type: "error", id: frame.id, code: "rate_limited", message: "Slow", retryAfterMs: 1 }]
        : [
          { type: "ack", id: frame.id, seq: 1 },
          {
            type: "messages",
            messages: [{
              seq: 1,
              id: frame.id,
              room: "shared",
              author: "ada",
              text: "patient",
              at: 1,
            }],
          },
        ];
    },
  };
  await withFakeRoom(room, async ({ baseUrl }) => {
    const connection = connect("shared", { transport: "ws", baseUrl, token: "t" });
    try {
      connection.send("patient", "patient");
      await waitFor("the message to be taken", () => tries === 16);
      await waitFor("the outbox to empty", () => connection.outbox.length === 0);
    } finally {
      connection.close();
    }
  });
});

Deno.test("client - a backlog of 30 sends made offline is stored in order, within the rate limit", async () => {
  const server = await startServer();
  let connection: ChatConnection | undefined;
  try {
    await createRoom(server, "paced");
    connection = connect("paced", { name: "cleo", transport: "ws", baseUrl: server.origin });
    const states: string[] = [];
    connection.on("status", (status) => states.push(status.state));
    for (let i = 1; i <= 30; i++) connection.send(`queued ${i}`);
    await waitFor("all 30 stored", () => connection!.outbox.length === 0, 15_000);
    assert.deepEqual(states, ["live"]);
    const stored = await history(server, "paced");
    assert.deepEqual(stored.map((message) => message.text), range(1, 30).map((i) => `queued ${i}`));
  } finally {
    connection?.close();
    await server.close();
  }
});

for (const transport of TRANSPORTS) {
  Deno.test(`client (${transport}) - a burst past the rate limit is stored in the order it was sent`, async () => {
    const server = await startServer({
      env: { PARLEY_MESSAGE_BURST: "4", PARLEY_MESSAGE_RATE: "20" },
    });
    let connection: ChatConnection | undefined;
    try {
      await createRoom(server, "ordered");
      connection = connect("ordered", { name: "cleo", transport, baseUrl: server.origin });
      await waitFor("the connection to go live", () => connection!.status.state === "live");
      for (let i = 1; i <= 12; i++) connection.send(`burst ${i}`);
      await waitFor("all 12 stored", () => connection!.outbox.length === 0, 20_000);
      const stored = await history(server, "ordered");
      assert.deepEqual(
        stored.map((message) => message.text),
        range(1, 12).map((i) => `burst ${i}`),
      );
    } finally {
      connection?.close();
      await server.close();
    }
  });
}

for (const transport of TRANSPORTS) {
  Deno.test(`client (${transport}) - presence gives each session online with its author id`, async () => {
    const server = await startServer(LIMITS_OFF);
    let connection: ChatConnection | undefined;
    try {
      await createRoom(server, "lobby");
      connection = connect("lobby", { name: "cleo", transport, baseUrl: server.origin });
      let seen: unknown[] = [];
      connection.on("presence", (names, people) => (seen = [names, people]));
      await waitFor("cleo online", () => (seen[0] as string[] | undefined)?.length === 1);
      assert.deepEqual(seen, [["cleo"], [{ name: "cleo", authorId: connection.authorId }]]);
    } finally {
      connection?.close();
      await server.close();
    }
  });
}

for (const transport of TRANSPORTS) {
  Deno.test(`client (${transport}) - typing gives each session typing with the author id it is online with`, async () => {
    const server = await startServer(LIMITS_OFF);
    const connections: ChatConnection[] = [];
    try {
      await createRoom(server, "lobby");
      for (let i = 0; i < 2; i++) {
        connections.push(connect("lobby", { name: "sam", transport, baseUrl: server.origin }));
      }
      const [reader, typist] = connections;
      let online: OnlinePerson[] = [];
      let seen: unknown[] = [];
      reader.on("presence", (_names, people) => (online = people));
      reader.on("typing", (names, people) => (seen = [names, people]));
      await waitFor("both sams online", () => online.length === 2);
      typist.typing();
      await waitFor("a sam typing", () => (seen[0] as string[] | undefined)?.length === 1);
      const sam = { name: "sam", authorId: typist.authorId };
      assert.deepEqual(seen, [["sam"], [sam]]);
      assert.notEqual(sam.authorId, reader.authorId);
      assert.ok(online.some((person) => person.authorId === sam.authorId), JSON.stringify(online));
    } finally {
      for (const connection of connections) connection.close();
      await server.close();
    }
  });
}

Deno.test("client - a server that is down does not push the client off its WebSocket", async () => {
  const listener = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const connection = connect("lobby", { baseUrl: `http://127.0.0.1:${port}` });
  try {
    const attempts: string[] = [];
    connection.on(
      "status",
      (status) => status.retryAt !== undefined && attempts.push(status.transport),
    );
    await waitFor("four failed attempts", () => attempts.length >= 4, 15_000);
    assert.deepEqual(new Set(attempts), new Set(["ws"]));
  } finally {
    connection.close();
  }
});

Deno.test("client (sse) - a server at its connection cap does not push the client off SSE", async () => {
  const server = await startServer({ env: { PARLEY_CONNECTIONS_PER_IP: "1" } });
  // This tab fell back to SSE before (remembered for the browser session); the one connection
  // this address may have is taken.
  sessionStorage.setItem("parley:transport", JSON.stringify({ transport: "sse", at: Date.now() }));
  const held = new AbortController();
  let connection: ChatConnection | undefined;
  try {
    await createRoom(server, "capped");
    const stream = await fetch(`${server.origin}/api/rooms/capped/events`, { signal: held.signal });
    assert.equal(stream.status, 200);
    connection = connect("capped", { baseUrl: server.origin });
    const states: string[] = [];
    connection.on("status", ({ state, transport }) => states.push(`${state} ${transport}`));
    await waitFor("three refused opens", () => states.length >= 3);
    held.abort();
    await stream.body?.cancel().catch(() => {});
    await untilLive(connection);
    assert.equal(connection.status.transport, "sse");
    assert.ok(states.every((state) => state.endsWith(" sse")), states.join(", "));
  } finally {
    sessionStorage.removeItem("parley:transport");
    connection?.close();
    await server.close();
  }
});

Deno.test("client (poll) - a fresh connection delivers what was committed while it opened", async () => {
  const server = await startServer(LIMITS_OFF);
  const room = "opening";
  const realFetch = globalThis.fetch;
  let connection: ReturnType<typeof open> | undefined;
  try {
    await createRoom(server, room);
    await post(server, room, "before");
    let raced: Message | undefined;
    // A message lands between the poll transport's first request (the head) and its second.
    globalThis.fetch = async (input, init) => {
      const response = await realFetch(input, init);
      const url = new URL(input instanceof Request ? input.url : input);
      if (raced === undefined && url.searchParams.get("limit") === "1") {
        raced = await post(server, room, "while opening");
      }
      return response;
    };
    connection = open(server, room, "poll");
    await untilLive(connection.connection);
    await waitFor("the message sent while opening", () => connection!.delivered.length >= 1);
    assert.deepEqual(connection.delivered, [raced]);
    assert.equal(connection.connection.last, raced!.seq);
  } finally {
    globalThis.fetch = realFetch;
    connection?.connection.close();
    await waitFor("polls to leave", () => server.services.hub.waitingPolls === 0);
    await server.close();
  }
});

Deno.test("client (sse) - a stream the server renews is opened again at once from the last seq, staying live", async () => {
  const opened: URL[] = [];
  const controller = new AbortController();
  const encoder = new TextEncoder();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: controller.signal, onListen() {} },
    (request) => {
      const url = new URL(request.url);
      if (url.pathname !== "/api/rooms/aged/events") return new Response("ok");
      const first = opened.push(url) === 1;
      const message = { seq: 1, id: "m1", room: "aged", author: "ann", text: "hi", at: 1 };
      const events = first
        ? `id: 0\nevent: welcome\ndata: {"room":"aged","head":0,"epoch":"e"}\n\n` +
          `id: 1\nevent: message\ndata: ${JSON.stringify(message)}\n\n` +
          `event: reconnect\ndata: {}\n\n`
        : `id: 1\nevent: welcome\ndata: {"room":"aged","head":1,"epoch":"e"}\n\n`;
      // The renewed stream stays open until the test ends.
      const body = new ReadableStream<Uint8Array>({
        start(stream) {
          stream.enqueue(encoder.encode(`retry: 2000\n\n${events}`));
          if (first) stream.close();
          else controller.signal.addEventListener("abort", () => stream.close());
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    },
  );
  const connection = connect("aged", {
    transport: "sse",
    baseUrl: `http://127.0.0.1:${server.addr.port}`,
    token: "t",
  });
  const states: ConnectionState[] = [];
  connection.on("status", (status) => states.push(status.state));
  try {
    await waitFor("the second stream to be live", () => opened.length === 2 && states.length === 2);
    assert.equal(opened[1].searchParams.get("after"), "1");
    assert.equal(opened[1].searchParams.get("epoch"), "e");
    assert.deepEqual(states, ["live", "live"], "it never showed itself reconnecting");
    assert.equal(connection.last, 1);
  } finally {
    connection.close();
    controller.abort();
    await server.finished;
  }
});

Deno.test("client - a message acknowledged but not delivered before a resync past it leaves the outbox", async () => {
  const message = (seq: number): Message => ({
    seq,
    id: `other-${seq}`,
    room: "busy",
    author: "bob",
    text: `message ${seq}`,
    at: seq,
  });
  const room = {
    onOpen: (index: number) =>
      index === 0 ? [{ type: "welcome", room: "busy", head: 0, epoch: "e" }] : [
        { type: "welcome", room: "busy", head: 60, epoch: "e" },
        // Retention passed the cursor meanwhile: the latest 50, which do not hold seq 1.
        {
          type: "resync",
          room: "busy",
          epoch: "e",
          head: 60,
          messages: range(11, 60).map(message),
        },
      ],
    onFrame: (frame: Record<string, unknown>, from: { socket: WebSocket }) => {
      if (frame.type !== "send") return [];
      // Stored as seq 1 and acknowledged, then the connection drops before its delivery.
      setTimeout(() => from.socket.close(1011), 20);
      return [{ type: "ack", id: frame.id, seq: 1 }];
    },
  };
  await withFakeRoom(room, async ({ baseUrl }) => {
    const connection = connect("busy", { transport: "ws", baseUrl, token: "t" });
    try {
      connection.send("stored, never delivered", "mine");
      await waitFor("the resync", () => connection.last === 60);
      assert.deepEqual(connection.outbox, []);
    } finally {
      connection.close();
    }
  });
});

Deno.test("client - once the room is gone, what waits to be sent or to come back fails, and so does a new send", async () => {
  const room = {
    onOpen: (index: number) =>
      index === 0 ? [{ type: "welcome", room: "gone", head: 0, epoch: "e" }] : "close" as const,
    onFrame: (frame: Record<string, unknown>, from: { socket: WebSocket }) => {
      if (frame.type !== "send") return [];
      // The first is stored; the second's answer is lost as the room is deleted and the socket
      // closed for good.
      if (frame.id === "stored") return [{ type: "ack", id: frame.id, seq: 1 }];
      from.socket.close(4404, "room_not_found");
      return [];
    },
  };
  await withFakeRoom(room, async ({ baseUrl }) => {
    const connection = connect("gone", { transport: "ws", baseUrl, token: "t" });
    try {
      connection.send("stored before", "stored");
      connection.send("never answered", "lost");
      await waitFor("the close", () => connection.status.state === "closed");
      assert.equal(connection.status.error, "room_not_found");
      connection.send("typed after", "after");
      // Stored, it went with the room.
      assert.deepEqual(connection.outbox.map(({ id, state, error }) => [id, state, error]), [
        ["stored", "failed", "The room no longer exists (room_not_found)"],
        ["lost", "failed", "The room no longer exists (room_not_found)"],
        ["after", "failed", "The room no longer exists (room_not_found)"],
      ]);
    } finally {
      connection.close();
    }
  });
});

Deno.test("client - a message acknowledged in a log that was reset is sent again under its id", async () => {
  let sends = 0;
  const room = {
    onOpen: (index: number) =>
      index === 0 ? [{ type: "welcome", room: "reset", head: 0, epoch: "old" }] : [
        // The server's data was reset: another epoch, and a resync to its (empty) log.
        { type: "welcome", room: "reset", head: 0, epoch: "new" },
        { type: "resync", room: "reset", epoch: "new", head: 0, messages: [] },
      ],
    onFrame: (frame: Record<string, unknown>, from: { socket: WebSocket; index: number }) => {
      if (frame.type !== "send") return [];
      sends++;
      if (from.index === 0) {
        // Stored in the old log, then the connection drops before its delivery.
        setTimeout(() => from.socket.close(1011), 20);
        return [{ type: "ack", id: frame.id, seq: 7 }];
      }
      const message = { seq: 1, id: frame.id, room: "reset", author: "ann", text: "again", at: 1 };
      return [{ type: "ack", id: frame.id, seq: 1 }, { type: "messages", messages: [message] }];
    },
  };
  await withFakeRoom(room, async ({ baseUrl }) => {
    const connection = connect("reset", { transport: "ws", baseUrl, token: "t" });
    try {
      connection.send("again", "kept");
      await waitFor("it to be stored in the new log", () => connection.outbox.length === 0);
      assert.equal(sends, 2);
      assert.equal(connection.last, 1);
    } finally {
      connection.close();
    }
  });
});

for (const transport of TRANSPORTS) {
  Deno.test(`client (${transport}) - learns its author id as it opens: the one its messages come back with`, async () => {
    const server = await startServer(LIMITS_OFF);
    let connection: ChatConnection | undefined;
    try {
      await createRoom(server, "mine");
      connection = connect("mine", { name: "cleo", transport, baseUrl: server.origin });
      await waitFor("live", () => connection!.status.state === "live");
      const authorId = connection.authorId;
      assert.match(authorId ?? "", /^[\w-]{8}$/);
      connection.send("hello", "cleo-1");
      await waitFor("stored", () => connection!.outbox.length === 0);
      const [stored] = await history(server, "mine");
      assert.equal(stored.authorId, authorId);
    } finally {
      connection?.close();
      await server.close();
    }
  });
}
