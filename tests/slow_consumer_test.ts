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
/** 4000 characters of 4 UTF-8 bytes each: 16,000 bytes, near the 16 KiB body limit. */
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
    if (connection instanceof WebSocket) sockets.push(connection);
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
      const id = `flood-${posted.length + i}`;
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

Deno.test({
  name: "slow consumer - once closed with 4008, a socket that still never reads gives up its slot",
  async fn() {
    const server = await startServer({
      env: {
        PARLEY_CONNECTIONS_PER_IP: "2",
        PARLEY_MESSAGE_RATE: "1000000",
        PARLEY_MESSAGE_BURST: "1000000",
      },
    });
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

      await flood(
        server,
        () => slowOnServer.readyState !== WebSocket.OPEN,
        MAX_MESSAGES,
        SETTLE_MS,
      );
      assert.notEqual(slowOnServer.readyState, WebSocket.OPEN, "no 4008 decision");

      // Both slots were taken; the slow consumer's must come back without it ever reading.
      const deadline = Date.now() + 5000;
      for (;;) {
        const newcomer = TestSocket.open(server, "lobby");
        newcomers.push(newcomer);
        await newcomer.until((s) =>
          s.frames.length > 0 || s.socket.readyState === WebSocket.CLOSED
        );
        if (newcomer.frames[0]?.type === "welcome") break;
        const event = await newcomer.closed;
        assert.equal(event.code, 1013, `unexpected close ${event.code} ${event.reason}`);
        assert.ok(Date.now() < deadline, "the slow consumer still holds its connection slot");
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      assert.equal(server.services.connections.count("ws"), 2);
    } finally {
      slow?.close();
      await Promise.all(newcomers.map((socket) => socket.close()));
      await reader?.close();
      await server.close();
    }
  },
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
