/**
 * Crash safety for real: the server runs as a child process on a KV file while four WebSocket
 * writers and one HTTP writer send steadily; it is killed with SIGKILL mid-stream and started
 * again on the same file, five times over. After each kill every acknowledged message must be
 * stored exactly once at its acked seq, and seqs must be dense. After the clients resume (from
 * the last seq they saw, retrying every unacknowledged send under its id) every send must be
 * stored exactly once, and every client must have seen every seq exactly once.
 *
 * @module
 */
import assert from "node:assert/strict";
import { waitFor } from "./wait_for.ts";
import type { Message } from "../lib/types.ts";
import {
  createRoom,
  openSession,
  readStoredRoom,
  type ServerProcess,
  spawnServer,
  type StoredRoom,
  tempKvPath,
} from "./server_process.ts";

const ROOM = "crash";
const WS_WRITERS = 4;
/** Sends a writer keeps unacknowledged at once. */
const WINDOW = 8;
/** The most sends per writer, so the test is bounded whatever happens. */
const MAX_SENDS = 400;
/** How many times the server is killed and started again. */
const CRASHES = 5;
/** Acks (over all writers) between one kill and the next. */
const KILL_EVERY_ACKS = 100;
const WAIT_MS = 8_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `done()` holds, checking every 10 ms; throws with `what` after `timeoutMs`. */
function until(done: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
  return waitFor(what, done, timeoutMs);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/** What every writer has in common: the sends it made and the acks it got. */
interface Writer {
  readonly name: string;
  /** Every client id sent, with its text. */
  readonly sent: Map<string, string>;
  /** Client id → the seq the server acknowledged it with. */
  readonly acked: Map<string, number>;
}

/**
 * A WebSocket writer: keeps up to {@link WINDOW} sends in flight, records every ack and every
 * delivered seq, and can resume on a new connection from the last seq it saw.
 */
class SocketWriter implements Writer {
  readonly sent = new Map<string, string>();
  readonly acked = new Map<string, number>();
  /** Every seq delivered, over all connections, in arrival order. */
  readonly seen: number[] = [];
  /** Ids whose send was answered with an error frame: retried on resume. */
  readonly failed = new Set<string>();
  #socket: WebSocket | undefined;
  #sending = false;
  #next = 0;

  constructor(readonly name: string, readonly token: string) {}

  get last(): number {
    return this.seen.at(-1) ?? 0;
  }

  get open(): boolean {
    return this.#socket?.readyState === WebSocket.OPEN;
  }

  /** Connects from `after` and waits for the welcome; then resends every unacked id. */
  async connect(origin: string): Promise<void> {
    const url = new URL(`/api/rooms/${ROOM}/ws`, origin.replace("http", "ws"));
    url.searchParams.set("token", this.token);
    url.searchParams.set("after", String(this.last));
    const socket = new WebSocket(url);
    this.#socket = socket;
    const welcome = Promise.withResolvers<void>();
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "welcome") welcome.resolve();
      else if (frame.type === "messages") {
        for (const message of frame.messages as Message[]) this.seen.push(message.seq);
      } else if (frame.type === "ack") {
        this.acked.set(frame.id, frame.seq);
        this.failed.delete(frame.id);
      } else if (frame.type === "error" && typeof frame.id === "string") {
        this.failed.add(frame.id);
      }
    };
    socket.onerror = () => {};
    socket.onclose = (event) => welcome.reject(new Error(`Closed before welcome: ${event.code}`));
    await welcome.promise;
    for (const [id, text] of this.sent) if (!this.acked.has(id)) this.#send(id, text);
  }

  /** Sends new messages while connected, keeping the window full, until `stop()`. */
  async pump(): Promise<void> {
    this.#sending = true;
    while (this.#sending && this.open && this.#next < MAX_SENDS) {
      const unacked = this.sent.size - this.acked.size;
      if (unacked >= WINDOW) {
        await delay(1);
        continue;
      }
      const id = `${this.name}-${this.#next++}`;
      this.sent.set(id, `message ${id}`);
      this.#send(id, `message ${id}`);
      await delay(0);
    }
  }

  stop(): void {
    this.#sending = false;
  }

  /** Retries the sends answered with an error, under their ids. */
  retryFailed(): void {
    for (const id of [...this.failed]) {
      this.failed.delete(id);
      this.#send(id, this.sent.get(id)!);
    }
  }

  close(): void {
    this.#sending = false;
    this.#socket?.close();
  }

  #send(id: string, text: string): void {
    if (this.open) this.#socket!.send(JSON.stringify({ type: "send", id, text }));
  }
}

/** An HTTP writer: posts one message at a time, and retries unacknowledged ones on resume. */
class PostWriter implements Writer {
  readonly sent = new Map<string, string>();
  readonly acked = new Map<string, number>();
  /** Statuses other than 201 and 200 (a dropped connection is recorded as 0). */
  readonly statuses: number[] = [];
  #sending = false;
  #next = 0;

  constructor(readonly name: string, readonly token: string) {}

  async pump(origin: string): Promise<void> {
    this.#sending = true;
    while (this.#sending && this.#next < MAX_SENDS) {
      const id = `${this.name}-${this.#next++}`;
      this.sent.set(id, `message ${id}`);
      if (!await this.#post(origin, id)) break;
    }
  }

  stop(): void {
    this.#sending = false;
  }

  /** Posts every unacknowledged id again until each is acked, a bounded number of times. */
  async resume(origin: string): Promise<void> {
    for (let attempt = 0; attempt < 20 && this.acked.size < this.sent.size; attempt++) {
      for (const id of this.sent.keys()) if (!this.acked.has(id)) await this.#post(origin, id);
    }
  }

  /** Posts one message; false when the server could not be reached or the answer was cut. */
  async #post(origin: string, id: string): Promise<boolean> {
    let status: number;
    let body: { message?: Message };
    try {
      const response = await fetch(new URL(`/api/rooms/${ROOM}/messages`, origin), {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
        body: JSON.stringify({ id, text: this.sent.get(id) }),
      });
      status = response.status;
      body = await response.json();
    } catch {
      this.statuses.push(0);
      return false;
    }
    if ((status === 201 || status === 200) && body.message) {
      this.acked.set(id, body.message.seq);
    } else {
      this.statuses.push(status);
    }
    return true;
  }
}

/** Asserts what must hold of the store at any time: dense seqs, each id once. */
function assertConsistent(stored: StoredRoom, writers: Writer[]) {
  const { room, messages } = stored;
  assert.ok(room, "the room is gone");
  assert.equal(room.trimmed, 0);
  assert.deepEqual(messages.map((message) => message.seq), range(1, room.head));
  const ids = new Set(messages.map((message) => message.id));
  assert.equal(ids.size, messages.length, "a client id is stored twice");
  const texts = new Map(writers.flatMap((writer) => [...writer.sent]));
  for (const message of messages) {
    assert.equal(message.text, texts.get(message.id), `${message.id} is not a message we sent`);
  }
}

/** Asserts that every acknowledged send is stored at the seq it was acknowledged with. */
function assertAcksStored(stored: StoredRoom, writers: Writer[]): number {
  const seqOf = new Map(stored.messages.map((message) => [message.id, message.seq]));
  let acks = 0;
  for (const writer of writers) {
    for (const [id, seq] of writer.acked) {
      assert.equal(seqOf.get(id), seq, `acked ${id} at ${seq}`);
      acks++;
    }
  }
  return acks;
}

async function crashAndResume(workers: number | undefined): Promise<void> {
  const kv = await tempKvPath();
  const servers: ServerProcess[] = [];
  const start = async () => {
    const server = await spawnServer({ kvPath: kv.path, workers });
    servers.push(server);
    return server;
  };
  const sockets: SocketWriter[] = [];
  try {
    let server = await start();
    await createRoom(server.origin, ROOM);
    for (let i = 0; i < WS_WRITERS; i++) {
      sockets.push(new SocketWriter(`ws${i}`, await openSession(server.origin, `ws${i}`)));
    }
    const poster = new PostWriter("post", await openSession(server.origin, "poster"));
    const writers: Writer[] = [...sockets, poster];
    const acks = () => writers.reduce((sum, writer) => sum + writer.acked.size, 0);

    for (let crash = 1; crash <= CRASHES; crash++) {
      // Resume (the first time: start) from the last seq seen, retrying every unacked send,
      // then keep the traffic steady and SIGKILL while every writer has sends in flight.
      await Promise.all(sockets.map((socket) => socket.connect(server.origin)));
      await poster.resume(server.origin);
      const traffic = [...sockets.map((socket) => socket.pump()), poster.pump(server.origin)];
      await until(() => acks() >= crash * KILL_EVERY_ACKS, `${crash * KILL_EVERY_ACKS} acks`);
      server.kill("SIGKILL");
      const killed = await server.exit(WAIT_MS);
      assert.equal(killed.signal, "SIGKILL");
      for (const writer of [...sockets, poster]) writer.stop();
      await Promise.all(traffic);
      const inFlight = writers.reduce((sum, w) => sum + w.sent.size - w.acked.size, 0);
      assert.ok(inFlight > 0, "the kill came after the traffic had stopped");

      // Right after the crash: what was acknowledged is there, once, and nothing else is wrong.
      const stored = await readStoredRoom(kv.path, ROOM);
      assertConsistent(stored, writers);
      assertAcksStored(stored, writers);
      for (const socket of sockets) {
        assert.deepEqual(socket.seen, range(1, socket.last), `${socket.name} saw a gap`);
        assert.ok(socket.last <= stored.room!.head, `${socket.name} saw past the head`);
      }
      server = await start();
    }

    // The last restart: every client resumes, retries what was not acknowledged, and catches up.
    await Promise.all(sockets.map((socket) => socket.connect(server.origin)));
    await poster.resume(server.origin);
    await until(() => {
      for (const socket of sockets) socket.retryFailed();
      return writers.every((writer) => writer.acked.size === writer.sent.size);
    }, "every send to be acknowledged after the restart");
    const total = writers.reduce((sum, writer) => sum + writer.sent.size, 0);
    await until(
      () => sockets.every((socket) => socket.last >= total),
      "every socket to see every message",
    );

    server.kill("SIGTERM");
    const stopped = await server.exit(WAIT_MS, { resend: workers ? "SIGTERM" : undefined });
    assert.equal(stopped.code, 0, server.output());

    const final = await readStoredRoom(kv.path, ROOM);
    assertConsistent(final, writers);
    assert.equal(assertAcksStored(final, writers), total);
    assert.equal(final.room!.head, total, "a send was stored twice, or not at all");
    for (const socket of sockets) {
      assert.deepEqual(socket.seen, range(1, total), `${socket.name} missed or repeated a seq`);
    }
    for (const status of poster.statuses) assert.equal(status, 0, `HTTP ${status}`);
  } finally {
    for (const socket of sockets) socket.close();
    for (const server of servers) await server.close();
    await kv.remove();
  }
}

Deno.test("crash - SIGKILL mid-stream loses no acknowledged message, and clients resume exactly", async () => {
  await crashAndResume(undefined);
});

Deno.test("crash - the same holds with parallel workers sharing the KV file", async () => {
  await crashAndResume(3);
});
