/**
 * WebSocket chat tests against a real server on port 0 over real (in-memory) KV: fan-out and
 * ordering, room isolation, resume with `after=`, HTTP-to-WebSocket delivery, idempotent
 * client ids, and every bad input with its error frame or close code.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type Frame,
  personToken,
  requestJson,
  startServer,
  type TestServer,
  TestSocket,
  withoutEpoch,
} from "./server.ts";
import { maskedFrame, OPCODE_CLOSE, OPCODE_TEXT, RawSocket } from "./raw_socket.ts";

/** A server plus the sockets a test opened, all closed when the test ends. */
interface Harness {
  server: TestServer;
  /** Opens a socket without waiting for anything. */
  open(room: string, query?: Record<string, string | number>): TestSocket;
  /** Opens a socket and waits for its welcome frame. */
  join(room: string, query?: Record<string, string | number>): Promise<TestSocket>;
  /** Creates a room over HTTP, asserting it was created. */
  createRoom(id: string, title?: string): Promise<void>;
}

async function withServer(fn: (harness: Harness) => Promise<void>): Promise<void> {
  const server = await startServer();
  const sockets: TestSocket[] = [];
  const open = (room: string, query: Record<string, string | number> = {}) => {
    const socket = TestSocket.open(server, room, query);
    sockets.push(socket);
    return socket;
  };
  try {
    await fn({
      server,
      open,
      async join(room, query) {
        const socket = open(room, query);
        await socket.until((s) => welcomeOf(s) !== undefined);
        return socket;
      },
      async createRoom(id, title = `Room ${id}`) {
        const { status } = await requestJson(server, "/api/rooms", { body: { id, title } });
        assert.equal(status, 201);
      },
    });
  } finally {
    await Promise.all(sockets.map((socket) => socket.close()));
    await server.close();
  }
}

/** A welcome frame without its epoch and the session's author id (checked for shape). */
function plainWelcome(frame: unknown): Record<string, unknown> {
  const { authorId, ...rest } = withoutEpoch(frame);
  assert.ok(authorId === undefined || /^[\w-]{8}$/.test(String(authorId)), `authorId ${authorId}`);
  return rest;
}

/** Makes every room read of `server` take `ms` longer; resolves `read` once one has finished. */
function slowRoomReads(server: TestServer, ms: number): { read: Promise<void> } {
  const { log } = server.services;
  const getRoom = log.getRoom.bind(log);
  const { promise: read, resolve } = Promise.withResolvers<void>();
  log.getRoom = async (id) => {
    await new Promise((done) => setTimeout(done, ms));
    const room = await getRoom(id);
    resolve();
    return room;
  };
  return { read };
}

function welcomeOf(socket: TestSocket): Frame | undefined {
  return socket.frames.find((frame) => frame.type === "welcome");
}

function framesOf(socket: TestSocket, type: string): Frame[] {
  return socket.frames.filter((frame) => frame.type === type);
}

function ackFor(socket: TestSocket, id: string): Frame[] {
  return framesOf(socket, "ack").filter((frame) => frame.id === id);
}

/** Sends a message and waits for its ack; returns the acked seq. */
async function sendAndAck(socket: TestSocket, id: string, text: string): Promise<number> {
  const before = ackFor(socket, id).length;
  socket.send({ type: "send", id, text });
  await socket.until((s) => ackFor(s, id).length > before);
  const seq = ackFor(socket, id)[before].seq;
  assert.equal(typeof seq, "number");
  return seq as number;
}

function waitForMessages(socket: TestSocket, count: number): Promise<void> {
  return socket.until((s) => s.messages.length >= count);
}

function waitForClose(socket: TestSocket): Promise<CloseEvent> {
  return socket.until((s) => s.socket.readyState === WebSocket.CLOSED).then(() => socket.closed);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

Deno.test("ws - the first frame is a welcome with the room, its head, and the session's author id", async () => {
  await withServer(async ({ server, createRoom, join }) => {
    await createRoom("lobby");
    for (const text of ["one", "two"]) {
      const { status } = await requestJson(server, "/api/rooms/lobby/messages", {
        body: { author: "ann", text },
      });
      assert.equal(status, 201);
    }
    const socket = await join("lobby", { name: "ann" });
    const { authorId, ...welcome } = withoutEpoch(socket.frames[0]);
    assert.deepEqual(welcome, { type: "welcome", room: "lobby", head: 2 });
    // The id its own messages come back with.
    socket.send({ type: "send", id: "mine", text: "three" });
    await waitForMessages(socket, 1);
    assert.equal(typeof authorId, "string");
    assert.equal(socket.messages[0].authorId, authorId);
    // A reader without a session has none.
    const reader = await join("lobby", {});
    assert.deepEqual(withoutEpoch(reader.frames[0]), { type: "welcome", room: "lobby", head: 3 });
  });
});

Deno.test("ws - a presence frame gives each online session's author id, in the order of its names", async () => {
  await withServer(async ({ createRoom, join }) => {
    await createRoom("lobby");
    const sams = [await join("lobby", { name: "sam" }), await join("lobby", { name: "sam" })];
    const ann = await join("lobby", { name: "ann" });
    const ids = [ann, ...sams].map((socket) => String(welcomeOf(socket)!.authorId));
    const latest = () => framesOf(ann, "presence").at(-1);
    await ann.until(() => (latest()?.online as string[] | undefined)?.length === 3);
    const { onlineAuthorIds, ...names } = latest()!;
    assert.deepEqual(names, {
      type: "presence",
      online: ["ann", "sam", "sam"],
      typing: [],
      typingAuthorIds: [],
    });
    assert.deepEqual(onlineAuthorIds, [ids[0], ...ids.slice(1).sort()]);
  });
});

Deno.test("ws - the first presence frame lists the socket's own session", async () => {
  await withServer(async ({ createRoom, join }) => {
    await createRoom("lobby");
    const bob = await join("lobby", { name: "bob" });
    await bob.until(() => framesOf(bob, "presence").length > 0);
    const ann = await join("lobby", { name: "ann" });
    await ann.until(() => framesOf(ann, "presence").length > 0);
    assert.deepEqual(framesOf(ann, "presence")[0].online, ["ann", "bob"]);
  });
});

Deno.test("ws - a presence frame gives the typing session's author id, the one it is online with", async () => {
  await withServer(async ({ createRoom, join }) => {
    await createRoom("lobby");
    const sams = [await join("lobby", { name: "sam" }), await join("lobby", { name: "sam" })];
    const ann = await join("lobby", { name: "ann" });
    const latest = () => framesOf(ann, "presence").at(-1);
    await ann.until(() => (latest()?.online as string[] | undefined)?.length === 3);
    sams[1].send({ type: "typing" });
    await ann.until(() => (latest()?.typing as string[] | undefined)?.length === 1);
    const { online, onlineAuthorIds, typing, typingAuthorIds } = latest()! as Record<
      string,
      string[]
    >;
    const typist = String(welcomeOf(sams[1])!.authorId);
    assert.deepEqual({ typing, typingAuthorIds }, { typing: ["sam"], typingAuthorIds: [typist] });
    assert.equal(online[onlineAuthorIds.indexOf(typist)], "sam");
  });
});

Deno.test("ws - frames sent while the server still reads the room are answered once it has", async () => {
  await withServer(async ({ server, createRoom, open }) => {
    await createRoom("lobby");
    // The upgrade is answered before the room is read; here the read takes a while, so the
    // socket opens and its first send arrives before the server knows the room.
    slowRoomReads(server, 200);
    const socket = open("lobby", { token: personToken(server, "ann")! });
    socket.socket.onopen = () => socket.send({ type: "send", id: "early", text: "at once" });
    await socket.until((s) => ackFor(s, "early").length === 1 && welcomeOf(s) !== undefined);
    assert.equal(ackFor(socket, "early")[0].seq, 1);
  });
});

Deno.test("ws - a client that floods frames while the room is read is closed at once", async () => {
  await withServer(async ({ server, createRoom }) => {
    await createRoom("lobby");
    const { read } = slowRoomReads(server, 2_000);
    let roomRead = false;
    read.then(() => roomRead = true);
    const socket = await RawSocket.open(Number(new URL(server.origin).port), "/api/rooms/lobby/ws");
    try {
      assert.equal(socket.status, 101);
      // 1.2 MiB in frames each under the 64 KiB limit, before the server knows the room.
      const frame = maskedFrame(OPCODE_TEXT, new Uint8Array(60 * 1024).fill(0x20));
      for (let i = 0; i < 20; i++) await socket.write(frame);
      // A 1008 close, or the connection's end when the close frame is lost to the reset.
      const close = await socket.readMessage(1_000);
      if (close !== null) {
        assert.equal(close.opcode, OPCODE_CLOSE);
        assert.equal((close.payload[0] << 8) | close.payload[1], 1008);
      }
      assert.equal(roomRead, false, "closed before the room was read");
      await read;
    } finally {
      socket.close();
    }
  });
});

Deno.test("ws - frames sent before the room is read and after a refused frame are dropped", async () => {
  await withServer(async ({ server, createRoom }) => {
    await createRoom("lobby");
    const { read } = slowRoomReads(server, 300);
    const port = Number(new URL(server.origin).port);
    const token = personToken(server, "ann")!;
    const socket = await RawSocket.open(port, `/api/rooms/lobby/ws?token=${token}`);
    try {
      const send = (id: string) =>
        maskedFrame(
          OPCODE_TEXT,
          new TextEncoder().encode(JSON.stringify({ type: "send", id, text: id })),
        );
      // A binary frame closes the socket with 1003: as on a socket served at once, what follows
      // it is not read.
      await socket.write(send("before"));
      await socket.write(maskedFrame(0x2, new Uint8Array([1, 2, 3])));
      await socket.write(send("after"));
      await read;
      // Time for the first send's append to commit.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { body } = await requestJson(server, "/api/rooms/lobby/messages?after=0");
      assert.deepEqual((body.messages as { text: string }[]).map((m) => m.text), ["before"]);
    } finally {
      socket.close();
    }
  });
});

Deno.test("ws - a room that cannot be read is refused with 1011 internal_error", async () => {
  await withServer(async ({ server, createRoom, open }) => {
    await createRoom("lobby");
    server.services.log.getRoom = () => Promise.reject(new Error("disk on fire"));
    const errors: unknown[][] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => void errors.push(args);
    try {
      const { code, reason } = await open("lobby").closed;
      assert.deepEqual([code, reason], [1011, "internal_error"]);
    } finally {
      console.error = consoleError;
    }
    assert.match(String(errors[0]?.[0]), /Cannot open a WebSocket in room "lobby"/);
  });
});

Deno.test("ws - a room read that fails once the socket has closed is no error", async () => {
  await withServer(async ({ server, createRoom, open }) => {
    await createRoom("lobby");
    // As in a shutdown: the socket closes, then the store, under the read.
    const { promise: closed, resolve } = Promise.withResolvers<void>();
    server.services.log.getRoom = async () => {
      await closed;
      throw new TypeError("Database is closed.");
    };
    const errors: unknown[][] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => void errors.push(args);
    try {
      const socket = open("lobby");
      await new Promise((opened) => socket.socket.onopen = opened);
      socket.socket.close(1000);
      await socket.closed;
      resolve();
      await new Promise((done) => setTimeout(done, 100));
    } finally {
      console.error = consoleError;
    }
    assert.deepEqual(errors, []);
  });
});

Deno.test("ws - a ping is answered with pong, by anyone, at most once a second, and is no strike", async () => {
  await withServer(async ({ createRoom, join }) => {
    await createRoom("lobby");
    // A reader without a session too: it has a link to check as much as a sender.
    for (const socket of [await join("lobby", { name: "ann" }), await join("lobby", {})]) {
      for (let i = 0; i < 12; i++) socket.send({ type: "ping" });
      await socket.until((s) => s.frames.some(({ type }) => type === "pong"));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(socket.frames.filter(({ type }) => type === "pong").length, 1);
      assert.equal(socket.frames.filter(({ type }) => type === "error").length, 0);
      assert.equal(socket.socket.readyState, WebSocket.OPEN);
    }
  });
});

Deno.test("ws - two clients in a room see each other's messages in the same order", async () => {
  await withServer(async ({ createRoom, join }) => {
    await createRoom("lobby");
    const ann = await join("lobby", { name: "ann" });
    const bob = await join("lobby", { name: "bob" });
    for (let i = 1; i <= 5; i++) {
      ann.send({ type: "send", id: `ann-${i}`, text: `ann says ${i}` });
      bob.send({ type: "send", id: `bob-${i}`, text: `bob says ${i}` });
    }
    await waitForMessages(ann, 10);
    await waitForMessages(bob, 10);

    assert.deepEqual(ann.messages, bob.messages);
    assert.deepEqual(ann.messages.map((m) => m.seq), range(1, 10));
    const idsBy = (author: string) =>
      ann.messages.filter((m) => m.author === author).map((m) => m.id);
    assert.deepEqual(idsBy("ann"), range(1, 5).map((i) => `ann-${i}`));
    assert.deepEqual(idsBy("bob"), range(1, 5).map((i) => `bob-${i}`));
    for (const message of ann.messages) {
      assert.equal(message.text, `${message.author} says ${message.id.split("-")[1]}`);
    }

    // Each sender is acked once per message, with the seq the message was delivered under.
    for (const [socket, name] of [[ann, "ann"], [bob, "bob"]] as const) {
      await socket.until((s) => framesOf(s, "ack").length === 5);
      for (const ack of framesOf(socket, "ack")) {
        const delivered = socket.messages.find((m) => m.id === ack.id);
        assert.ok(delivered, `ack for an undelivered id ${ack.id}`);
        assert.equal(delivered.author, name);
        assert.equal(ack.seq, delivered.seq);
      }
    }
  });
});

Deno.test("ws - a client in another room sees nothing", async () => {
  await withServer(async ({ server, createRoom, join }) => {
    await createRoom("lobby");
    await createRoom("other");
    const ann = await join("lobby", { name: "ann" });
    const cat = await join("other", { name: "cat" });
    for (let i = 1; i <= 3; i++) await sendAndAck(ann, `lobby-${i}`, `lobby message ${i}`);
    await waitForMessages(ann, 3);

    // A message in the other room is the sentinel: once it arrives, anything from the lobby
    // would have arrived before it.
    const { status, body } = await requestJson(server, "/api/rooms/other/messages", {
      body: { id: "other-1", author: "dan", text: "other message" },
    });
    assert.equal(status, 201);
    await waitForMessages(cat, 1);
    assert.deepEqual(plainWelcome(welcomeOf(cat)), { type: "welcome", room: "other", head: 0 });
    assert.deepEqual(framesOf(cat, "messages"), [{ type: "messages", messages: [body.message] }]);

    // And the lobby never hears the other room.
    await sendAndAck(ann, "lobby-4", "lobby message 4");
    await waitForMessages(ann, 4);
    assert.deepEqual(ann.messages.map((m) => m.id), ["lobby-1", "lobby-2", "lobby-3", "lobby-4"]);
  });
});

Deno.test("ws - after= replays exactly the messages missed while disconnected", async () => {
  await withServer(async ({ createRoom, join }) => {
    await createRoom("lobby");
    const ann = await join("lobby", { name: "ann" });
    const bob = await join("lobby", { name: "bob" });
    await sendAndAck(ann, "m1", "first");
    await sendAndAck(ann, "m2", "second");
    await waitForMessages(bob, 2);
    const lastSeen = bob.messages[bob.messages.length - 1].seq;
    assert.equal(lastSeen, 2);
    await bob.close();

    for (let i = 3; i <= 5; i++) await sendAndAck(ann, `m${i}`, `missed ${i}`);
    const back = await join("lobby", { name: "bob", after: lastSeen });
    assert.deepEqual(plainWelcome(back.frames[0]), { type: "welcome", room: "lobby", head: 5 });
    await waitForMessages(back, 3);
    assert.deepEqual(back.messages.map((m) => [m.seq, m.id, m.text]), [
      [3, "m3", "missed 3"],
      [4, "m4", "missed 4"],
      [5, "m5", "missed 5"],
    ]);

    // Live delivery continues after the backlog, with no repeats.
    await sendAndAck(ann, "m6", "live 6");
    await waitForMessages(back, 4);
    assert.deepEqual(back.messages.map((m) => m.seq), [3, 4, 5, 6]);
    assert.equal(framesOf(back, "welcome").length, 1);
  });
});

Deno.test("ws - after=0 replays the whole history and no after replays nothing", async () => {
  await withServer(async ({ createRoom, join }) => {
    await createRoom("lobby");
    const ann = await join("lobby", { name: "ann" });
    for (let i = 1; i <= 3; i++) await sendAndAck(ann, `old-${i}`, `old ${i}`);

    const fromStart = await join("lobby", { after: 0 });
    const fromNow = await join("lobby");
    await waitForMessages(fromStart, 3);
    assert.deepEqual(fromStart.messages.map((m) => m.id), ["old-1", "old-2", "old-3"]);

    await sendAndAck(ann, "new-1", "new");
    await waitForMessages(fromStart, 4);
    await waitForMessages(fromNow, 1);
    assert.deepEqual(fromNow.messages.map((m) => m.id), ["new-1"]);
    assert.deepEqual(fromStart.messages.map((m) => m.seq), [1, 2, 3, 4]);
  });
});

Deno.test("ws - a POSTed message reaches WebSocket clients", async () => {
  await withServer(async ({ server, createRoom, join }) => {
    await createRoom("lobby");
    const writer = await join("lobby", { name: "ann" });
    const reader = await join("lobby");
    const { status, body } = await requestJson(server, "/api/rooms/lobby/messages", {
      body: { id: "posted-1", author: "eve", text: "hello from HTTP" },
    });
    assert.equal(status, 201);
    const posted = body.message as Record<string, unknown>;
    assert.equal(posted.seq, 1);
    for (const socket of [writer, reader]) {
      await waitForMessages(socket, 1);
      assert.deepEqual(framesOf(socket, "messages"), [{ type: "messages", messages: [posted] }]);
    }
  });
});

Deno.test("ws - a repeated client id is acked with the same seq and stored once", async () => {
  await withServer(async ({ server, createRoom, join }) => {
    await createRoom("lobby");
    const ann = await join("lobby", { name: "ann" });
    const first = await sendAndAck(ann, "dup-1", "first try");
    const second = await sendAndAck(ann, "dup-1", "second try");
    assert.equal(first, 1);
    assert.equal(second, first);

    // Back to back, before the first is stored.
    ann.send({ type: "send", id: "dup-2", text: "again" });
    ann.send({ type: "send", id: "dup-2", text: "again" });
    await ann.until((s) => ackFor(s, "dup-2").length === 2);
    assert.deepEqual(ackFor(ann, "dup-2").map((f) => f.seq), [2, 2]);

    const after = await sendAndAck(ann, "after-dup", "next");
    assert.equal(after, 3);
    await waitForMessages(ann, 3);
    assert.deepEqual(ann.messages.map((m) => [m.seq, m.id, m.text]), [
      [1, "dup-1", "first try"],
      [2, "dup-2", "again"],
      [3, "after-dup", "next"],
    ]);

    const { status, body } = await requestJson(server, "/api/rooms/lobby/messages");
    assert.equal(status, 200);
    assert.equal(body.head, 3);
    assert.deepEqual(
      (body.messages as Array<{ id: string }>).map((m) => m.id),
      ["dup-1", "dup-2", "after-dup"],
    );
  });
});

Deno.test("ws - a client id first POSTed over HTTP is acked with its stored seq", async () => {
  await withServer(async ({ server, createRoom, join }) => {
    await createRoom("lobby");
    const { status } = await requestJson(server, "/api/rooms/lobby/messages", {
      body: { id: "shared-1", author: "ann", text: "over HTTP" },
    });
    assert.equal(status, 201);
    // The same ann (the session requestJson sent under), now over a WebSocket.
    const ann = await join("lobby", { token: personToken(server, "ann")! });
    assert.equal(await sendAndAck(ann, "shared-1", "over WebSocket"), 1);
    const { body } = await requestJson(server, "/api/rooms/lobby/messages");
    assert.equal(body.head, 1);
  });
});

Deno.test("ws - a plain GET without Upgrade is 426 upgrade_required", async () => {
  await withServer(async ({ server, createRoom }) => {
    await createRoom("lobby");
    await assertUpgradeRequired(server);
  });
});

async function assertUpgradeRequired(server: TestServer): Promise<void> {
  const response = await fetch(new URL("/api/rooms/lobby/ws?name=ann", server.origin));
  const body = await response.json();
  assert.equal(response.status, 426);
  assert.equal(response.headers.get("upgrade"), "websocket");
  assert.equal(body.error.code, "upgrade_required");
  assert.equal(typeof body.error.message, "string");
}

/** What a bad input must lead to: an error frame on an open socket, or a close. */
type Expected =
  | { error: string; id?: string }
  | { close: number; reason?: string; errors?: number };

interface BadInput {
  name: string;
  /** Default: the existing room "lobby". */
  room?: string;
  /** Default: `{ name: "ann" }`. */
  query?: Record<string, string | number>;
  /** Raw frames sent after the welcome; objects are sent as JSON. */
  frames?: Array<string | Uint8Array | Record<string, unknown>>;
  expect: Expected;
  /** Set, with a TODO, while a known server bug makes the row fail. */
  ignore?: boolean;
}

const BAD_INPUTS: BadInput[] = [
  {
    name: "invalid JSON gets an invalid_json error",
    frames: ["{not json"],
    expect: { error: "invalid_json" },
  },
  {
    name: "a JSON array gets an invalid_frame error",
    frames: ["[1,2,3]"],
    expect: { error: "invalid_frame" },
  },
  {
    name: "a JSON string gets an invalid_frame error",
    frames: ['"send"'],
    expect: { error: "invalid_frame" },
  },
  {
    name: "an unknown frame type gets an invalid_frame error",
    frames: [{ type: "shout", id: "u1", text: "hi" }],
    expect: { error: "invalid_frame", id: "u1" },
  },
  {
    name: "a send with blank text gets an empty_text error",
    frames: [{ type: "send", id: "e1", text: "  \n " }],
    expect: { error: "empty_text", id: "e1" },
  },
  {
    name: "a send with text over 4000 characters gets a text_too_long error",
    frames: [{ type: "send", id: "t1", text: "a".repeat(4001) }],
    expect: { error: "text_too_long", id: "t1" },
  },
  {
    name: "a send with a non-string text gets an invalid_text error",
    frames: [{ type: "send", id: "t2", text: 42 }],
    expect: { error: "invalid_text", id: "t2" },
  },
  {
    name: "a send with a malformed id gets an invalid_id error",
    frames: [{ type: "send", id: "not ok!", text: "hi" }],
    expect: { error: "invalid_id", id: "not ok!" },
  },
  {
    name: "a send on a socket without a session gets a session_required error",
    query: {},
    frames: [{ type: "send", id: "r1", text: "hi" }],
    expect: { error: "session_required", id: "r1" },
  },
  {
    name: "a send with a tampered session token gets a session_required error",
    query: { token: "v1.eyJzaWQiOiJ4IiwibmFtZSI6Im1hbGxvcnkifQ.forged" },
    frames: [{ type: "send", id: "t1", text: "hi" }],
    expect: { error: "session_required", id: "t1" },
  },

  {
    name: "10 consecutive malformed frames close with 1008",
    frames: [
      ...Array.from({ length: 4 }, (_, i) => `garbage ${i}`),
      ...Array.from({ length: 3 }, (_, i) => ({ type: "nope", id: `n${i}` })),
      ...Array.from({ length: 3 }, (_, i) => ({ type: "send", id: `b${i}`, text: "" })),
    ],
    expect: { close: 1008, errors: 10 },
  },
  {
    name: "a binary frame closes with 1003",
    frames: [new Uint8Array([123, 125])],
    expect: { close: 1003 },
  },
  {
    name: "a frame over 64 KiB closes with 1009",
    frames: [JSON.stringify({ type: "send", id: "big", text: "a".repeat(64 * 1024) })],
    expect: { close: 1009 },
  },
  {
    name: "a frame over 64 KiB of multi-byte text closes with 1009",
    frames: [JSON.stringify({ type: "send", id: "big", text: "€".repeat(22_000) })],
    expect: { close: 1009 },
  },
  {
    name: "an unknown room closes with 4404",
    room: "nowhere",
    expect: { close: 4404, reason: "room_not_found" },
  },
  {
    name: "a malformed room id closes with 4404",
    room: "Not_A_Room",
    expect: { close: 4404, reason: "room_not_found" },
  },
  {
    name: "a non-numeric after closes with 4400",
    query: { name: "ann", after: "abc" },
    expect: { close: 4400, reason: "invalid_cursor" },
  },
  {
    name: "a negative after closes with 4400",
    query: { name: "ann", after: "-1" },
    expect: { close: 4400, reason: "invalid_cursor" },
  },
  {
    name: "an after beyond the head closes with 4400",
    query: { name: "ann", after: 5 },
    expect: { close: 4400, reason: "invalid_cursor" },
  },
];

/** Runs one bad input against a server whose room "lobby" exists, and checks the outcome. */
async function runBadInput(harness: Harness, input: BadInput): Promise<void> {
  const socket = harness.open(input.room ?? "lobby", input.query ?? { name: "ann" });
  try {
    if (input.frames) {
      await socket.until((s) => welcomeOf(s) !== undefined);
      for (const frame of input.frames) {
        if (typeof frame === "string" || frame instanceof Uint8Array) socket.socket.send(frame);
        else socket.send(frame);
      }
    }
    const expect = input.expect;
    if ("close" in expect) {
      const event = await waitForClose(socket);
      assert.equal(event.code, expect.close);
      if (expect.reason !== undefined) assert.equal(event.reason, expect.reason);
      if (input.frames) {
        assert.equal(framesOf(socket, "error").length, expect.errors ?? 0);
      } else {
        // Refused at the upgrade: no welcome, nothing at all.
        assert.deepEqual(socket.frames, []);
      }
      return;
    }
    await socket.until((s) => framesOf(s, "error").length > 0);
    const [error, ...more] = framesOf(socket, "error");
    assert.deepEqual(more, []);
    assert.equal(error.code, expect.error);
    assert.equal(typeof error.message, "string");
    if (expect.id === undefined) {
      assert.ok(!("id" in error), `unexpected id in ${JSON.stringify(error)}`);
    } else assert.equal(error.id, expect.id);
    assert.equal(socket.socket.readyState, WebSocket.OPEN);
    assert.deepEqual(framesOf(socket, "ack"), []);
  } finally {
    await socket.close();
  }
}

for (const input of BAD_INPUTS) {
  Deno.test({
    name: `ws - ${input.name}`,
    ignore: input.ignore,
    async fn() {
      await withServer(async (harness) => {
        await harness.createRoom("lobby");
        await runBadInput(harness, input);
      });
    },
  });
}

Deno.test("ws - a valid send resets the count of malformed frames", async () => {
  await withServer(async ({ createRoom, join }) => {
    await createRoom("lobby");
    const ann = await join("lobby", { name: "ann" });
    for (let i = 0; i < 9; i++) ann.socket.send("garbage");
    await ann.until((s) => framesOf(s, "error").length === 9);
    assert.equal(await sendAndAck(ann, "ok-1", "still here"), 1);
    for (let i = 0; i < 9; i++) ann.socket.send("garbage");
    await ann.until((s) => framesOf(s, "error").length === 18);
    assert.equal(await sendAndAck(ann, "ok-2", "still here"), 2);
    assert.equal(ann.socket.readyState, WebSocket.OPEN);
  });
});

Deno.test("ws - the server still serves a normal client after every bad input", async () => {
  await withServer(async (harness) => {
    await harness.createRoom("lobby");
    // Rows ignored for a known bug are skipped here too; see their TODOs.
    for (const input of BAD_INPUTS.filter((row) => !row.ignore)) {
      await runBadInput(harness, input).catch((error) => {
        throw new Error(`Bad input "${input.name}" failed`, { cause: error });
      });
    }
    await assertUpgradeRequired(harness.server);

    const ann = await harness.join("lobby", { name: "ann" });
    const bob = await harness.join("lobby", { name: "bob" });
    assert.deepEqual(plainWelcome(ann.frames[0]), { type: "welcome", room: "lobby", head: 0 });
    assert.equal(await sendAndAck(ann, "hello-1", "hello after all that"), 1);
    await waitForMessages(bob, 1);
    assert.deepEqual(bob.messages.map((m) => [m.seq, m.id, m.author, m.text]), [
      [1, "hello-1", "ann", "hello after all that"],
    ]);
  });
});

Deno.test("ws - a name in the URL does not name the sender; only a session does", async () => {
  const server = await startServer();
  await requestJson(server, "/api/rooms", { body: { id: "lobby", title: "Lobby" } });
  const url = `${server.origin.replace("http", "ws")}/api/rooms/lobby/ws?name=mallory`;
  const impostor = new TestSocket(url);
  const ann = TestSocket.open(server, "lobby", { name: "ann" });
  try {
    await impostor.until((s) => s.frames.some((frame) => frame.type === "welcome"));
    impostor.send({ type: "send", id: "m1", text: "I am ann" });
    await impostor.until((s) => s.frames.some((frame) => frame.type === "error"));
    assert.equal(impostor.frames.find((frame) => frame.type === "error")?.code, "session_required");
    await ann.until((s) => s.frames.some((frame) => frame.type === "welcome"));
    ann.send({ type: "send", id: "a1", text: "I am ann" });
    await ann.until((s) => s.messages.length === 1);
    assert.equal(ann.messages[0].author, "ann");
  } finally {
    await impostor.close();
    await ann.close();
    await server.close();
  }
});
