/**
 * JSON API tests against a real server on port 0 over real KV: rooms, posting and paging
 * messages, every bad request with its status and error code, and a restart on the same KV file.
 *
 * @module
 */
import assert from "node:assert/strict";
import { MAX_BODY_BYTES } from "../lib/body.ts";
import { EventLog } from "../lib/event_log.ts";
import type { Message, Room } from "../lib/types.ts";
import {
  LIMITS_OFF,
  requestJson,
  sessionToken,
  startServer,
  type TestServer,
  TestSocket,
  withoutEpoch,
} from "./server.ts";

const JSON_TYPE = { "content-type": "application/json" };

/** Runs `fn` against a fresh in-memory server, always closing it. */
async function withServer(fn: (server: TestServer) => Promise<void>): Promise<void> {
  const server = await startServer(LIMITS_OFF);
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

async function createRoom(server: TestServer, id: string, title = `Room ${id}`): Promise<Room> {
  const { status, body } = await requestJson(server, "/api/rooms", { body: { id, title } });
  assert.equal(status, 201);
  return body.room as Room;
}

async function post(
  server: TestServer,
  room: string,
  input: { id?: string; author?: string; text: string },
): Promise<Message> {
  const { status, body } = await requestJson(server, `/api/rooms/${room}/messages`, {
    body: { author: "ann", ...input },
  });
  assert.equal(status, 201, JSON.stringify(body));
  return body.message as Message;
}

/** POSTs a message to "lobby" under the session of `token`. */
function sendAs(server: TestServer, token: string, body: { id: string; text: string }) {
  return fetch(`${server.origin}/api/rooms/lobby/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
}

async function postMany(server: TestServer, room: string, count: number): Promise<Message[]> {
  const messages: Message[] = [];
  for (let i = 1; i <= count; i++) {
    messages.push(await post(server, room, { id: `m-${i}`, text: `message ${i}` }));
  }
  return messages;
}

async function history(
  server: TestServer,
  room: string,
  query = "",
): Promise<{ room: string; head: number; messages: Message[] }> {
  const { status, body } = await requestJson(server, `/api/rooms/${room}/messages${query}`);
  assert.equal(status, 200, JSON.stringify(body));
  return body as { room: string; head: number; messages: Message[] };
}

async function listRooms(server: TestServer): Promise<Room[]> {
  const { status, body } = await requestJson(server, "/api/rooms");
  assert.equal(status, 200);
  return body.rooms as Room[];
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** A factory for a stream of `text` in 1 KiB chunks, sent without a Content-Length. */
function chunkedBody(text: string): () => ReadableStream<Uint8Array> {
  return () => {
    const bytes = new TextEncoder().encode(text);
    let offset = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(offset, offset + 1024));
        offset += 1024;
      },
    });
  };
}

/** A JSON message body of exactly `size` bytes, padded with an ignored field. */
function bodyOfSize(size: number): string {
  const base = JSON.stringify({ author: "ann", text: "padded", pad: "" });
  return base.replace('"pad":""', `"pad":"${"x".repeat(size - base.length)}"`);
}

// ---------------------------------------------------------------------------------------------
// Rooms

Deno.test("POST /api/rooms - creates a room with 201, then returns it unchanged with 200", async () => {
  await withServer(async (server) => {
    const created = await requestJson(server, "/api/rooms", {
      body: { id: "lobby", title: "The Lobby" },
    });
    assert.equal(created.status, 201);
    const room = created.body.room as Room;
    assert.deepEqual(room, {
      id: "lobby",
      title: "The Lobby",
      createdAt: room.createdAt,
      head: 0,
      lastAt: null,
      epoch: room.epoch,
      trimmed: 0,
    });
    assert.equal(typeof room.createdAt, "number");
    assert.match(room.epoch, /^[0-9a-f]{8}$/);

    const again = await requestJson(server, "/api/rooms", {
      body: { id: "lobby", title: "Another title" },
    });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, { room });
    assert.deepEqual(await listRooms(server), [room]);
  });
});

Deno.test("GET /api/rooms - lists every room with its head and last activity", async () => {
  await withServer(async (server) => {
    assert.deepEqual(await listRooms(server), []);
    await createRoom(server, "quiet", "Quiet");
    await createRoom(server, "busy", "Busy");
    await post(server, "busy", { text: "one" });
    const last = await post(server, "busy", { text: "two" });

    const rooms = await listRooms(server);
    assert.equal(rooms.length, 2);
    const byId = Object.fromEntries(rooms.map((room) => [room.id, room]));
    assert.equal(byId.busy.title, "Busy");
    assert.equal(byId.busy.head, 2);
    assert.equal(byId.busy.lastAt, last.at);
    assert.equal(byId.quiet.title, "Quiet");
    assert.equal(byId.quiet.head, 0);
    assert.equal(byId.quiet.lastAt, null);
  });
});

Deno.test("GET /api/rooms/:room - reads one room as stored now, or 404 room_not_found", async () => {
  await withServer(async (server) => {
    const created = await requestJson(server, "/api/rooms", { body: { id: "one", title: "One" } });
    assert.deepEqual(await requestJson(server, "/api/rooms/one"), {
      status: 200,
      body: created.body,
    });
    const message = await post(server, "one", { text: "hello" });
    const { body } = await requestJson(server, "/api/rooms/one");
    assert.deepEqual(
      body.room,
      { ...created.body.room as Room, head: 1, lastAt: message.at },
    );
    for (const id of ["nowhere", "Not%20Valid"]) {
      const missing = await requestJson(server, `/api/rooms/${id}`);
      assert.equal(missing.status, 404, id);
      assert.equal((missing.body.error as { code: string }).code, "room_not_found", id);
    }
  });
});

Deno.test("GET /api/rooms - limit and offset page the most recently active rooms first, with the total", async () => {
  await withServer(async (server) => {
    for (const id of ["one", "two", "three"]) await createRoom(server, id, id);
    await post(server, "one", { text: "one is the latest" });
    const { status, body } = await requestJson(server, "/api/rooms?limit=2");
    assert.equal(status, 200);
    assert.deepEqual((body.rooms as Room[]).map((room) => room.id), ["one", "three"]);
    assert.equal(body.total, 3);
    const rest = await requestJson(server, "/api/rooms?limit=2&offset=2");
    assert.deepEqual((rest.body.rooms as Room[]).map((room) => room.id), ["two"]);
    const past = await requestJson(server, "/api/rooms?offset=3");
    assert.deepEqual([past.body.rooms, past.body.total], [[], 3]);
    const refused = await requestJson(server, "/api/rooms?offset=-1");
    assert.equal((refused.body.error as { code: string }).code, "invalid_offset");
    for (const limit of ["0", "1001", "two", "-1"]) {
      const refused = await requestJson(server, `/api/rooms?limit=${limit}`);
      assert.equal(refused.status, 400, limit);
      assert.equal((refused.body.error as { code: string }).code, "invalid_limit", limit);
    }
  });
});

Deno.test("HEAD - says the length of the GET's answer, and opens no socket", async () => {
  await withServer(async (server) => {
    await requestJson(server, "/api/rooms", { body: { id: "lobby", title: "Lobby" } });
    const identity = { "accept-encoding": "identity" };
    for (const path of ["/", "/rooms/lobby", "/api/rooms", "/api/rooms/lobby", "/no-such-page"]) {
      const get = await fetch(`${server.origin}${path}`, { headers: identity });
      const length = (await get.arrayBuffer()).byteLength;
      const head = await fetch(`${server.origin}${path}`, { method: "HEAD", headers: identity });
      assert.equal(head.status, get.status, path);
      assert.equal(head.headers.get("content-length"), String(length), path);
      assert.equal(await head.text(), "", path);
    }
    // A WebSocket upgrade is a GET.
    const upgrade = await fetch(`${server.origin}/api/rooms/lobby/ws`, {
      method: "HEAD",
      headers: {
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
    });
    assert.equal(upgrade.status, 400);
    await upgrade.body?.cancel();
    assert.equal(server.services.connections.count("ws"), 0);
  });
});

Deno.test("HEAD - of the event stream joins no one, and a refused HEAD is logged as one", async () => {
  await withServer(async (server) => {
    await requestJson(server, "/api/rooms", { body: { id: "lobby", title: "Lobby" } });
    const lines: Record<string, unknown>[] = [];
    server.services.events = new EventLog(true, (line) => lines.push(JSON.parse(line)));
    const cookie = `parley_session=${sessionToken(server, "ann")}`;
    const head = await fetch(`${server.origin}/api/rooms/lobby/events`, {
      method: "HEAD",
      headers: { cookie },
    });
    assert.equal(head.status, 200);
    await head.body?.cancel();
    assert.deepEqual(server.services.hub.presenceOf("lobby").online, []);
    // Nor does a long poll's: it answers at once.
    const poll = await fetch(`${server.origin}/api/rooms/lobby/messages?after=0&wait=5`, {
      method: "HEAD",
      headers: { cookie },
    });
    assert.equal(poll.status, 200);
    await poll.body?.cancel();
    assert.deepEqual(
      await server.services.presence.read("lobby").then((r) => r.presence.online),
      [],
    );
    const upgrade = await fetch(`${server.origin}/api/rooms/lobby/ws`, {
      method: "HEAD",
      headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "a2V5" },
    });
    await upgrade.body?.cancel();
    assert.deepEqual(lines.map(({ event, method }) => [event, method]), [["rejected", "HEAD"]]);
  });
});

Deno.test("GET /api/directory - lists each room's message count, last activity and people online", async () => {
  await withServer(async (server) => {
    await createRoom(server, "quiet", "Quiet");
    await createRoom(server, "busy", "Busy");
    await post(server, "busy", { text: "one" });
    const last = await post(server, "busy", { text: "two" });
    const ann = TestSocket.open(server, "busy", { name: "ann" });
    try {
      await ann.until(
        (socket) =>
          socket.frames.some((frame) =>
            frame.type === "presence" && JSON.stringify(frame.online) === '["ann"]'
          ),
        5000,
      );
      const { status, body } = await requestJson(server, "/api/directory");
      assert.equal(status, 200);
      assert.deepEqual(body, {
        rooms: [
          { id: "busy", title: "Busy", messages: 2, lastAt: last.at, online: 1 },
          { id: "quiet", title: "Quiet", messages: 0, lastAt: null },
        ],
        matches: 2,
        total: 2,
      });
    } finally {
      await ann.close();
    }
  });
});

Deno.test("GET /api/directory - the first limit rooms that match q, 50 by default, with counts", async () => {
  await withServer(async (server) => {
    for (let i = 1; i <= 60; i++) await createRoom(server, `room-${i}`, i % 2 ? "Odd" : "Even");
    const ids = (body: Record<string, unknown>) =>
      (body.rooms as { id: string }[]).map((room) => room.id);
    const all = await requestJson(server, "/api/directory");
    assert.equal(ids(all.body).length, 50);
    assert.deepEqual([all.body.matches, all.body.total], [60, 60]);
    const odd = await requestJson(server, "/api/directory?q=odd&limit=3");
    assert.equal(odd.status, 200);
    assert.equal(ids(odd.body).length, 3);
    assert.ok(ids(odd.body).every((id) => Number(id.slice(5)) % 2 === 1), ids(odd.body).join());
    assert.deepEqual([odd.body.matches, odd.body.total], [30, 60]);
    const most = await requestJson(server, "/api/directory?limit=1000");
    assert.equal(ids(most.body).length, 60);
  });
});

// ---------------------------------------------------------------------------------------------
// Posting messages

Deno.test("POST /api/rooms/:room/messages - stores a message with 201 and the next seq", async () => {
  await withServer(async (server) => {
    await createRoom(server, "lobby");
    const before = Date.now();
    const { status, body } = await requestJson(server, "/api/rooms/lobby/messages", {
      body: { id: "c-1", author: "  ann ", text: " hello\r\nworld " },
    });
    assert.equal(status, 201);
    const message = body.message as Message;
    assert.deepEqual(message, {
      seq: 1,
      id: "c-1",
      room: "lobby",
      author: "ann",
      text: "hello\nworld",
      at: message.at,
      authorId: message.authorId,
    });
    assert.match(message.authorId ?? "", /^[\w-]{8}$/);
    assert.ok(message.at >= before && message.at <= Date.now(), `at ${message.at}`);

    // Without an id the server makes one; seqs keep counting.
    const second = await post(server, "lobby", { author: "bob", text: "second" });
    assert.equal(second.seq, 2);
    assert.equal(typeof second.id, "string");
    assert.notEqual(second.id, "");
    assert.deepEqual((await history(server, "lobby")).messages, [message, second]);
  });
});

Deno.test("POST /api/rooms/:room/messages - a repeated id returns 200 with the stored message", async () => {
  await withServer(async (server) => {
    await createRoom(server, "lobby");
    const first = await post(server, "lobby", { id: "same", text: "original" });
    const { status, body } = await requestJson(server, "/api/rooms/lobby/messages", {
      body: { id: "same", author: "ann", text: "a different text" },
    });
    assert.equal(status, 200);
    assert.deepEqual(body, { message: first });

    const stored = await history(server, "lobby");
    assert.equal(stored.head, 1);
    assert.deepEqual(stored.messages, [first]);
    assert.equal((await post(server, "lobby", { id: "next", text: "next" })).seq, 2);
  });
});

Deno.test("POST /api/rooms/:room/messages - an id another author's message has is 409 id_taken, and nothing changes", async () => {
  await withServer(async (server) => {
    await createRoom(server, "lobby");
    const first = await post(server, "lobby", { id: "c-1", author: "ann", text: "ann's" });
    const { status, body } = await requestJson(server, "/api/rooms/lobby/messages", {
      body: { id: "c-1", author: "bob", text: "bob's" },
    });
    assert.equal(status, 409);
    assert.equal((body.error as { code: string }).code, "id_taken");
    assert.deepEqual((await history(server, "lobby")).messages, [first]);
    // Bob's message goes in under an id of its own.
    assert.equal((await post(server, "lobby", { id: "c-2", author: "bob", text: "bob's" })).seq, 2);
  });
});

Deno.test("POST /api/rooms/:room/messages - accepts text of exactly 4000 characters", async () => {
  await withServer(async (server) => {
    await createRoom(server, "lobby");
    const text = "é".repeat(4000);
    const message = await post(server, "lobby", { text });
    assert.equal(message.text, text);
  });
});

Deno.test("POST /api/rooms/:room/messages - accepts 4000 emoji written as JSON escapes", async () => {
  await withServer(async (server) => {
    await createRoom(server, "lobby");
    const text = "\u{1F600}".repeat(4000);
    // As Python's json.dumps writes it: every emoji as two \\uXXXX escapes, 48,000 bytes.
    const body = JSON.stringify({ text }).replace(
      /[\u0080-\uffff]/g,
      (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
    assert.ok(body.length > 48_000, `${body.length} bytes`);
    const response = await fetch(`${server.origin}/api/rooms/lobby/messages`, {
      method: "POST",
      headers: { ...JSON_TYPE, authorization: `Bearer ${sessionToken(server, "ann")}` },
      body,
    });
    assert.equal(response.status, 201);
    assert.equal((await response.json()).message.text, text);
  });
});

Deno.test("POST /api/rooms/:room/messages - accepts a body of exactly 64 KiB", async () => {
  await withServer(async (server) => {
    await createRoom(server, "lobby");
    const body = bodyOfSize(MAX_BODY_BYTES);
    assert.equal(new TextEncoder().encode(body).length, MAX_BODY_BYTES);
    const { status } = await requestJson(server, "/api/rooms/lobby/messages", {
      body,
      headers: { authorization: `Bearer ${sessionToken(server, "ann")}` },
    });
    assert.equal(status, 201);
  });
});

Deno.test("POST /api/rooms/:room/messages - accepts a chunked body of 64 KiB", async () => {
  await withServer(async (server) => {
    await createRoom(server, "lobby");
    const init: RequestInit & { duplex: "half" } = {
      method: "POST",
      headers: { ...JSON_TYPE, authorization: `Bearer ${sessionToken(server, "ann")}` },
      body: chunkedBody(bodyOfSize(MAX_BODY_BYTES))(),
      duplex: "half",
    };
    const response = await fetch(new URL("/api/rooms/lobby/messages", server.origin), init);
    const body = await response.json();
    assert.equal(response.status, 201, JSON.stringify(body));
    assert.equal(body.message.text, "padded");
  });
});

// ---------------------------------------------------------------------------------------------
// Reading messages

Deno.test("GET /api/rooms/:room/messages - returns the latest 50, oldest first, by default", async () => {
  await withServer(async (server) => {
    await createRoom(server, "lobby");
    const posted = await postMany(server, "lobby", 60);
    const page = await history(server, "lobby");
    assert.equal(page.room, "lobby");
    assert.equal(page.head, 60);
    assert.deepEqual(page.messages, posted.slice(10));
    assert.deepEqual(page.messages.map((m) => m.seq), range(11, 60));
  });
});

Deno.test("GET /api/rooms/:room/messages - an empty room has head 0 and no messages", async () => {
  await withServer(async (server) => {
    await createRoom(server, "lobby");
    assert.deepEqual(withoutEpoch(await history(server, "lobby")), {
      room: "lobby",
      head: 0,
      messages: [],
    });
  });
});

Deno.test("GET /api/rooms/:room/messages - limit returns the latest N, up to 200", async () => {
  await withServer(async (server) => {
    await createRoom(server, "lobby");
    await postMany(server, "lobby", 205);
    assert.deepEqual((await history(server, "lobby", "?limit=1")).messages.map((m) => m.seq), [
      205,
    ]);
    assert.deepEqual(
      (await history(server, "lobby", "?limit=5")).messages.map((m) => m.seq),
      range(201, 205),
    );
    const max = await history(server, "lobby", "?limit=200");
    assert.deepEqual(max.messages.map((m) => m.seq), range(6, 205));
    assert.equal(max.head, 205);
  });
});

Deno.test("GET /api/rooms/:room/messages - head is never below the last message carried", async () => {
  await withServer(async (server) => {
    await createRoom(server, "lobby");
    await postMany(server, "lobby", 3);
    // A message is stored after the room's head was read, before its messages are.
    const log = server.services.log;
    const readLatest = log.readLatest.bind(log);
    log.readLatest = async (room, options) => {
      await post(server, room, { text: "meanwhile" });
      return await readLatest(room, options);
    };
    const page = await history(server, "lobby");
    assert.deepEqual(page.messages.map((m) => m.seq), [1, 2, 3, 4]);
    assert.equal(page.head, 4);
  });
});

Deno.test("GET /api/rooms/:room/messages - before pages back through the whole history", async () => {
  await withServer(async (server) => {
    await createRoom(server, "lobby");
    const posted = await postMany(server, "lobby", 60);
    assert.deepEqual(
      (await history(server, "lobby", "?limit=5&before=11")).messages.map((m) => m.seq),
      range(6, 10),
    );

    const pages: Message[][] = [];
    let query = "?limit=25";
    for (;;) {
      const page = await history(server, "lobby", query);
      assert.equal(page.head, 60);
      if (page.messages.length === 0) break;
      pages.push(page.messages);
      query = `?limit=25&before=${page.messages[0].seq}`;
      assert.ok(pages.length <= 4, "paging did not end");
    }
    assert.deepEqual(pages.map((page) => page.length), [25, 25, 10]);
    assert.deepEqual(pages.reverse().flat(), posted);
  });
});

// ---------------------------------------------------------------------------------------------
// Bad requests: one row per case, grouped by endpoint. Each row is sent to a fresh server
// holding one empty room, "lobby", which must still be the only room, and empty, afterwards.

type Body = string | Uint8Array<ArrayBuffer> | (() => ReadableStream<Uint8Array>);

/** One bad request and the error it must get. */
interface BadRequest {
  /** What is wrong with the request. */
  when: string;
  /** Default: the group's path. */
  path?: string;
  /** Default: the group's headers. */
  headers?: Record<string, string>;
  /** A string or bytes (sent with a Content-Length), or a stream factory (sent chunked). */
  body?: Body;
  status: number;
  code: string;
  /** Extra checks on the response. */
  check?: (response: Response) => void;
  /** False to send a message post without the session the group otherwise adds. */
  session?: boolean;
}

interface Endpoint {
  method: "GET" | "POST";
  /** The route, for test names. */
  route: string;
  path: string;
  headers?: Record<string, string>;
  rows: BadRequest[];
}

const MESSAGES = "/api/rooms/lobby/messages";
const json = (value: unknown) => JSON.stringify(value);
const message = (fields: Record<string, unknown>) => json({ author: "ann", text: "hi", ...fields });
const room = (fields: Record<string, unknown>) => json({ id: "fresh", title: "Fresh", ...fields });

const BAD_REQUESTS: Endpoint[] = [
  {
    method: "POST",
    route: "/api/rooms",
    path: "/api/rooms",
    headers: JSON_TYPE,
    rows: [
      { when: "invalid JSON", body: "{nope", status: 400, code: "invalid_json" },
      { when: "a JSON array", body: "[]", status: 400, code: "invalid_body" },
      {
        when: "a malformed room id",
        body: room({ id: "Bad Id" }),
        status: 400,
        code: "invalid_room_id",
      },
      {
        when: "a missing room id",
        body: json({ title: "Fresh" }),
        status: 400,
        code: "invalid_room_id",
      },
      { when: "a missing title", body: json({ id: "fresh" }), status: 400, code: "invalid_title" },
      {
        when: "a title over 80 characters",
        body: room({ title: "t".repeat(81) }),
        status: 400,
        code: "invalid_title",
      },
      {
        when: "a text/plain body",
        headers: { "content-type": "text/plain" },
        body: room({}),
        status: 415,
        code: "unsupported_media_type",
      },
    ],
  },
  {
    method: "POST",
    route: "/api/rooms/:room/messages",
    path: MESSAGES,
    headers: JSON_TYPE,
    rows: [
      {
        when: "an unknown room",
        path: "/api/rooms/nowhere/messages",
        body: message({}),
        status: 404,
        code: "room_not_found",
      },
      {
        when: "a malformed room id",
        path: "/api/rooms/NOT_A_ROOM/messages",
        body: message({}),
        status: 404,
        code: "room_not_found",
      },
      { when: "invalid JSON", body: '{"author":"ann","text":', status: 400, code: "invalid_json" },
      { when: "an empty body", body: "", status: 400, code: "invalid_json" },
      {
        when: "invalid UTF-8",
        body: new Uint8Array([0x22, 0xff, 0xfe, 0x22]),
        status: 400,
        code: "invalid_utf8",
      },
      { when: "JSON null", body: "null", status: 400, code: "invalid_body" },
      {
        when: "a JSON array",
        body: json([{ author: "ann", text: "hi" }]),
        status: 400,
        code: "invalid_body",
      },
      { when: "a JSON string", body: '"hi"', status: 400, code: "invalid_body" },
      { when: "a JSON number", body: "42", status: 400, code: "invalid_body" },
      {
        when: "text over 4000 characters",
        body: message({ text: "a".repeat(4001) }),
        status: 400,
        code: "text_too_long",
      },
      { when: "empty text", body: message({ text: "" }), status: 400, code: "empty_text" },
      { when: "blank text", body: message({ text: " \n\t " }), status: 400, code: "empty_text" },
      { when: "missing text", body: json({ author: "ann" }), status: 400, code: "invalid_text" },
      {
        when: "text with a control character",
        body: message({ text: "bell\u0007" }),
        status: 400,
        code: "invalid_text",
      },
      {
        when: "no session",
        body: message({}),
        session: false,
        status: 401,
        code: "session_required",
      },
      {
        when: "a tampered session token",
        body: message({}),
        headers: { ...JSON_TYPE, authorization: "Bearer v1.eyJuYW1lIjoiYW5uIn0.forged" },
        status: 401,
        code: "session_required",
      },
      {
        when: "a tampered session cookie",
        body: message({}),
        headers: { ...JSON_TYPE, cookie: "parley_session=v1.eyJzaWQiOiJ4IiwibmFtZSI6ImEifQ.AAAA" },
        status: 401,
        code: "session_required",
      },
      {
        when: "an id with a space",
        body: message({ id: "has space" }),
        status: 400,
        code: "invalid_id",
      },
      {
        when: "an id over 64 characters",
        body: message({ id: "i".repeat(65) }),
        status: 400,
        code: "invalid_id",
      },
      { when: "an empty id", body: message({ id: "" }), status: 400, code: "invalid_id" },
      { when: "a numeric id", body: message({ id: 42 }), status: 400, code: "invalid_id" },
      {
        when: "a body over 64 KiB",
        body: bodyOfSize(MAX_BODY_BYTES + 1),
        status: 413,
        code: "body_too_large",
      },
      {
        when: "a chunked body over 64 KiB",
        body: chunkedBody(bodyOfSize(MAX_BODY_BYTES + 1)),
        status: 413,
        code: "body_too_large",
      },
      {
        when: "a chunked body of 256 KiB",
        body: chunkedBody(bodyOfSize(256 * 1024)),
        status: 413,
        code: "body_too_large",
      },
      {
        when: "a text/plain body",
        headers: { "content-type": "text/plain" },
        body: message({}),
        status: 415,
        code: "unsupported_media_type",
      },
      {
        when: "a form body",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "author=ann&text=hi",
        status: 415,
        code: "unsupported_media_type",
      },
      {
        when: "a body without a content type",
        headers: {},
        body: new TextEncoder().encode(message({})),
        status: 415,
        code: "unsupported_media_type",
      },
    ],
  },
  {
    method: "GET",
    route: "/api/rooms/:room/messages",
    path: MESSAGES,
    rows: [
      {
        when: "an unknown room",
        path: "/api/rooms/nowhere/messages",
        status: 404,
        code: "room_not_found",
      },
      { when: "limit=0", path: `${MESSAGES}?limit=0`, status: 400, code: "invalid_limit" },
      { when: "limit=201", path: `${MESSAGES}?limit=201`, status: 400, code: "invalid_limit" },
      { when: "limit=abc", path: `${MESSAGES}?limit=abc`, status: 400, code: "invalid_limit" },
      { when: "limit=-1", path: `${MESSAGES}?limit=-1`, status: 400, code: "invalid_limit" },
      { when: "limit=2.5", path: `${MESSAGES}?limit=2.5`, status: 400, code: "invalid_limit" },
      { when: "before=abc", path: `${MESSAGES}?before=abc`, status: 400, code: "invalid_cursor" },
      { when: "before=-5", path: `${MESSAGES}?before=-5`, status: 400, code: "invalid_cursor" },
    ],
  },
  {
    method: "GET",
    route: "/api/rooms/:room/ws",
    path: "/api/rooms/lobby/ws?name=ann",
    rows: [
      {
        when: "a plain GET without Upgrade",
        status: 426,
        code: "upgrade_required",
        check: (response) => assert.equal(response.headers.get("upgrade"), "websocket"),
      },
    ],
  },
  {
    method: "GET",
    route: "/api/*",
    path: "/api/unknown",
    rows: [{ when: "an unknown API path", status: 404, code: "not_found" }],
  },
];

async function send(
  server: TestServer,
  endpoint: Endpoint,
  row: BadRequest,
): Promise<Response> {
  const body = typeof row.body === "function" ? row.body() : row.body;
  const path = row.path ?? endpoint.path;
  const headers = { ...(row.headers ?? endpoint.headers) };
  // Message posts need a session unless the row is about sessions themselves.
  const aboutSessions = row.session === false || "authorization" in headers || "cookie" in headers;
  if (endpoint.method === "POST" && path.endsWith("/messages") && !aboutSessions) {
    headers.authorization = `Bearer ${sessionToken(server, "ann")}`;
  }
  const init: RequestInit & { duplex?: "half" } = {
    method: endpoint.method,
    headers,
    body,
    duplex: body instanceof ReadableStream ? "half" : undefined,
  };
  return await fetch(new URL(path, server.origin), init);
}

for (const endpoint of BAD_REQUESTS) {
  for (const row of endpoint.rows) {
    const name = `${endpoint.method} ${endpoint.route} - ${row.when} is ${row.status} ${row.code}`;
    Deno.test(name, async () => {
      await withServer(async (server) => {
        const lobby = await createRoom(server, "lobby", "Lobby");
        const response = await send(server, endpoint, row);
        const text = await response.text();
        assert.equal(response.status, row.status, text);
        assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
        const body = JSON.parse(text);
        assert.deepEqual(Object.keys(body), ["error"]);
        assert.equal(body.error.code, row.code);
        assert.equal(typeof body.error.message, "string");
        assert.notEqual(body.error.message, "");
        row.check?.(response);

        // Nothing was created or stored.
        assert.deepEqual(await listRooms(server), [lobby]);
        assert.deepEqual(withoutEpoch(await history(server, "lobby")), {
          room: "lobby",
          head: 0,
          messages: [],
        });
      });
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Restarts

Deno.test("server - a restart on the same KV file keeps rooms and history", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-test-" });
  const kvPath = `${dir}/parley.kv`;
  try {
    let server = await startServer({ kvPath });
    let rooms: Room[];
    let posted: Message[];
    let token: string;
    try {
      await createRoom(server, "lobby", "The Lobby");
      await createRoom(server, "empty", "Empty");
      posted = await postMany(server, "lobby", 2);
      // A session the test holds, to send again after the restart as the same person.
      token = sessionToken(server, "ann");
      const third = await sendAs(server, token, { id: "m-3", text: "message 3" });
      posted.push((await third.json()).message);
      rooms = await listRooms(server);
    } finally {
      await server.close();
    }

    server = await startServer({ kvPath });
    try {
      const after = await listRooms(server);
      assert.deepEqual(
        after.toSorted((a, b) => a.id.localeCompare(b.id)),
        rooms.toSorted((a, b) => a.id.localeCompare(b.id)),
      );
      assert.equal(after.find((room) => room.id === "lobby")?.head, 3);
      assert.deepEqual(withoutEpoch(await history(server, "lobby")), {
        room: "lobby",
        head: 3,
        messages: posted,
      });

      // The sequence continues, and client ids stored before the restart are still known.
      assert.equal((await post(server, "lobby", { id: "m-4", text: "after restart" })).seq, 4);
      const repeat = await sendAs(server, token, { id: "m-3", text: "resent after restart" });
      assert.equal(repeat.status, 200);
      assert.deepEqual(await repeat.json(), { message: posted[2] });
      const again = await requestJson(server, "/api/rooms", { body: { id: "lobby", title: "X" } });
      assert.equal(again.status, 200);
      assert.equal((again.body.room as Room).title, "The Lobby");
    } finally {
      await server.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
