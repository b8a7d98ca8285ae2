/**
 * Server-Sent Events over `GET /api/rooms/:room/events`, read with `fetch` and a small parser.
 *
 * @module
 */
import assert from "node:assert/strict";
import { waitFor } from "./wait_for.ts";
import { withConsoleErrors } from "./console_errors.ts";
import { createApp } from "../app.tsx";
import { Hub } from "../lib/hub.ts";
import { readConfig } from "../lib/config.ts";
import { openKv } from "../lib/open_kv.ts";
import { createServices, type Services } from "../lib/services.ts";
import { type EventStreamOptions, openEventStream, STREAM_TIMING } from "../lib/event_stream.ts";
import { withTiming } from "./timing.ts";
import type { Message } from "../lib/types.ts";
import {
  LIMITS_OFF,
  requestJson,
  sessionToken,
  startServer,
  type TestServer,
  withoutEpoch,
} from "./server.ts";

/** One dispatched block of the stream: the fields it carried. */
interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
  comments: string[];
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Parses one block (the text between blank lines) into its fields. */
function parseBlock(block: string): SseEvent {
  const event: SseEvent = { comments: [] };
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) {
      event.comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "id") event.id = value;
    else if (field === "event") event.event = value;
    else if (field === "retry") event.retry = Number(value);
  }
  if (data.length > 0) event.data = data.join("\n");
  return event;
}

/** An open event stream that parses blocks as they arrive and lets a test wait for them. */
class SseStream {
  readonly blocks: SseEvent[] = [];
  raw = "";
  ended = false;
  readonly done: Promise<void>;
  #reader: ReadableStreamDefaultReader<string>;
  #waiters = new Set<() => void>();

  constructor(readonly response: Response) {
    this.#reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    this.done = this.#pump();
  }

  /** Opens `/api/rooms/:room/events` with an optional `after`, `Last-Event-ID` and `token`. */
  static async open(
    server: TestServer,
    room: string,
    options: { after?: string | number; lastEventId?: string | number; token?: string } = {},
  ): Promise<SseStream> {
    const url = new URL(`/api/rooms/${room}/events`, server.origin);
    if (options.after !== undefined) url.searchParams.set("after", String(options.after));
    if (options.token !== undefined) url.searchParams.set("token", options.token);
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (options.lastEventId !== undefined) headers["last-event-id"] = String(options.lastEventId);
    const response = await fetch(url, { headers });
    assert.equal(response.status, 200, `the stream answered ${response.status}`);
    return new SseStream(response);
  }

  /** The `message` events, parsed. */
  get messages(): Message[] {
    return this.blocks.filter((block) => block.event === "message").map((block) =>
      JSON.parse(block.data!) as Message
    );
  }

  /** The seqs of the `message` events. */
  get seqs(): number[] {
    return this.messages.map((message) => message.seq);
  }

  async #pump(): Promise<void> {
    let buffer = "";
    try {
      for (;;) {
        const { done, value } = await this.#reader.read();
        if (done) break;
        this.raw += value;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          this.blocks.push(parseBlock(buffer.slice(0, end)));
          buffer = buffer.slice(end + 2);
        }
        this.#wake();
      }
    } catch {
      // Cancelled by close().
    } finally {
      this.ended = true;
      this.#wake();
    }
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
  }

  /** Waits until `predicate` holds over what arrived, or fails after `timeoutMs`. */
  async until(predicate: (stream: SseStream) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      const left = deadline - Date.now();
      if (left <= 0 || this.ended) {
        throw new Error(
          `${this.ended ? "Stream ended" : "Timed out"}; received: ${this.raw.slice(-500)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
      });
    }
  }

  /** Cancels the body (the client goes away) and waits for the reader to stop. */
  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
    await this.done;
  }
}

async function createRoom(server: TestServer, id: string): Promise<void> {
  const { status } = await requestJson(server, "/api/rooms", { body: { id, title: id } });
  assert.equal(status, 201);
}

async function post(server: TestServer, room: string, text: string, id?: string): Promise<Message> {
  const { status, body } = await requestJson(server, `/api/rooms/${room}/messages`, {
    body: { id, author: "ada", text },
  });
  assert.equal(status, 201, `POST answered ${status}: ${JSON.stringify(body)}`);
  return body.message as Message;
}

async function postSeries(server: TestServer, room: string, count: number): Promise<Message[]> {
  const stored = [];
  for (let i = 1; i <= count; i++) stored.push(await post(server, room, `note ${i}`));
  return stored;
}

/** Posts `count` messages with at most `inFlight` requests open at once. */
async function postMany(
  server: TestServer,
  room: string,
  count: number,
  inFlight: number,
): Promise<Message[]> {
  const stored: Message[] = [];
  let next = 1;
  await Promise.all(
    range(1, inFlight).map(async () => {
      while (next <= count) {
        const i = next++;
        stored.push(await post(server, room, `burst ${i}`, `burst-${i}`));
      }
    }),
  );
  return stored;
}

/**
 * A server like {@link startServer}'s, but whose hub drops a room's watch as soon as its last
 * subscriber leaves, so a test can see when a stream's subscription ends.
 */
async function startEagerServer(): Promise<TestServer> {
  const kv = await openKv(":memory:");
  const base = await createServices(kv, { ...readConfig(() => undefined), kvPath: ":memory:" });
  const services: Services = { ...base, hub: new Hub(kv, base.log, { lingerMs: 0 }) };
  const controller = new AbortController();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: controller.signal, onListen() {} },
    createApp(services).fetch,
  );
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    services,
    async close() {
      controller.abort();
      await server.shutdown().catch(() => {});
      await server.finished;
      services.hub.close();
      base.hub.close();
      kv.close();
    },
  };
}

Deno.test("sse - opens with retry and welcome, then sends each message as id, event and data", async () => {
  const server = await startServer(LIMITS_OFF);
  let stream: SseStream | undefined;
  try {
    await createRoom(server, "lobby");
    await postSeries(server, "lobby", 2);

    stream = await SseStream.open(server, "lobby");
    assert.match(stream.response.headers.get("content-type") ?? "", /^text\/event-stream/);
    assert.equal(stream.response.headers.get("cache-control"), "no-cache");
    await stream.until((s) => s.blocks.length >= 3);
    const { epoch } = (await requestJson(server, "/api/rooms/lobby/messages")).body;
    const welcome = `{"room":"lobby","head":2,"epoch":"${epoch}"}`;
    const presence = `{"online":[],"onlineAuthorIds":[],"typing":[],"typingAuthorIds":[]}`;
    assert.equal(
      stream.raw,
      `retry: 2000\n\nid: 2\nevent: welcome\ndata: ${welcome}\n\nevent: presence\ndata: ${presence}\n\n`,
    );
    assert.deepEqual(stream.blocks.slice(0, 3), [
      { retry: 2000, comments: [] },
      { id: "2", event: "welcome", data: welcome, comments: [] },
      { event: "presence", data: presence, comments: [] },
    ]);

    const message = await post(server, "lobby", "line one\nline two", "m-3");
    await stream.until((s) => s.messages.length >= 1);
    assert.deepEqual(stream.blocks.slice(3), [
      { id: "3", event: "message", data: JSON.stringify(message), comments: [] },
    ]);
    assert.ok(
      stream.raw.endsWith(`id: 3\nevent: message\ndata: ${JSON.stringify(message)}\n\n`),
      `raw stream: ${stream.raw}`,
    );
    assert.deepEqual(stream.messages, [message]);
    assert.equal(stream.messages[0].text, "line one\nline two");
  } finally {
    await stream?.close();
    await server.close();
  }
});

Deno.test("sse - a presence event gives each online session's author id beside its name", async () => {
  const server = await startServer(LIMITS_OFF);
  let stream: SseStream | undefined;
  try {
    await createRoom(server, "lobby");
    stream = await SseStream.open(server, "lobby", { token: sessionToken(server, "ann") });
    const events = (name: string) =>
      stream!.blocks.filter((block) => block.event === name).map((block) =>
        JSON.parse(block.data!)
      );
    await stream.until(() => events("presence").some((presence) => presence.online.length > 0));
    const [{ authorId }] = events("welcome");
    assert.deepEqual(events("presence").at(-1), {
      online: ["ann"],
      onlineAuthorIds: [authorId],
      typing: [],
      typingAuthorIds: [],
    });
  } finally {
    await stream?.close();
    await server.close();
  }
});

Deno.test("sse - the first presence event lists the stream's own session", async () => {
  const server = await startServer(LIMITS_OFF);
  const streams: SseStream[] = [];
  const firstPresence = async (stream: SseStream) => {
    await stream.until((s) => s.blocks.some((block) => block.event === "presence"));
    return JSON.parse(stream.blocks.find((block) => block.event === "presence")!.data!);
  };
  try {
    await createRoom(server, "lobby");
    // Bob's stream keeps the room open on the worker, with its presence read before ann came.
    for (const name of ["bob", "ann"]) {
      streams.push(await SseStream.open(server, "lobby", { token: sessionToken(server, name) }));
      await firstPresence(streams.at(-1)!);
    }
    assert.deepEqual((await firstPresence(streams[1])).online, ["ann", "bob"]);
  } finally {
    for (const stream of streams) await stream.close();
    await server.close();
  }
});

Deno.test("sse - a presence event gives the typing session's author id, the one it is online with", async () => {
  const server = await startServer(LIMITS_OFF);
  const tokens = [sessionToken(server, "sam"), sessionToken(server, "sam")];
  const streams: SseStream[] = [];
  try {
    await createRoom(server, "lobby");
    for (const token of tokens) streams.push(await SseStream.open(server, "lobby", { token }));
    const events = (stream: SseStream, name: string) =>
      stream.blocks.filter((block) => block.event === name).map((block) => JSON.parse(block.data!));
    const latest = () => events(streams[0], "presence").at(-1);
    await streams[0].until(() => latest()?.online.length === 2);
    const typed = await fetch(`${server.origin}/api/rooms/lobby/typing`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens[1]}` },
    });
    assert.equal(typed.status, 204);
    await streams[0].until(() => latest()?.typing.length === 1);
    const [{ authorId }] = events(streams[1], "welcome");
    const { online, onlineAuthorIds, typing, typingAuthorIds } = latest();
    assert.deepEqual({ typing, typingAuthorIds }, { typing: ["sam"], typingAuthorIds: [authorId] });
    assert.equal(online[onlineAuthorIds.indexOf(authorId)], "sam");
  } finally {
    for (const stream of streams) await stream.close();
    await server.close();
  }
});

Deno.test("sse - after replays the backlog, then goes on live", async () => {
  const server = await startServer(LIMITS_OFF);
  let stream: SseStream | undefined;
  try {
    await createRoom(server, "lobby");
    const stored = await postSeries(server, "lobby", 5);

    stream = await SseStream.open(server, "lobby", { after: 2 });
    await stream.until((s) => s.messages.length >= 3);
    assert.deepEqual(withoutEpoch(JSON.parse(stream.blocks[1].data!)), { room: "lobby", head: 5 });
    // An EventSource that drops before the backlog reconnects from the cursor, not the head.
    assert.equal(stream.blocks[1].id, "2");
    assert.deepEqual(stream.messages, stored.slice(2));
    assert.deepEqual(stream.blocks.filter((b) => b.event === "message").map((b) => b.id), [
      "3",
      "4",
      "5",
    ]);

    const live = await post(server, "lobby", "live");
    await stream.until((s) => s.messages.length >= 4);
    assert.deepEqual(stream.messages, [...stored.slice(2), live]);
  } finally {
    await stream?.close();
    await server.close();
  }
});

Deno.test("sse - without after only new messages arrive", async () => {
  const server = await startServer(LIMITS_OFF);
  let stream: SseStream | undefined;
  try {
    await createRoom(server, "lobby");
    await postSeries(server, "lobby", 3);

    stream = await SseStream.open(server, "lobby");
    await stream.until((s) => s.blocks.some((block) => block.event === "welcome"));
    const live = await post(server, "lobby", "new");
    await stream.until((s) => s.messages.length >= 1);
    assert.deepEqual(stream.messages, [live]);
    assert.equal(live.seq, 4);
  } finally {
    await stream?.close();
    await server.close();
  }
});

Deno.test("sse - Last-Event-ID wins over after", async () => {
  const server = await startServer(LIMITS_OFF);
  let stream: SseStream | undefined;
  try {
    await createRoom(server, "lobby");
    const stored = await postSeries(server, "lobby", 5);

    stream = await SseStream.open(server, "lobby", { after: 1, lastEventId: 3 });
    await stream.until((s) => s.seqs.includes(5));
    const live = await post(server, "lobby", "live");
    await stream.until((s) => s.seqs.includes(6));
    assert.deepEqual(stream.messages, [...stored.slice(3), live]);

    // A bad Last-Event-ID is refused even when `after` is fine.
    const bad = await requestJson(server, "/api/rooms/lobby/events?after=1", {
      headers: { "last-event-id": "99" },
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(Object.keys(bad.body), ["error"]);
    assert.equal((bad.body.error as { code: string }).code, "invalid_cursor");
  } finally {
    await stream?.close();
    await server.close();
  }
});

Deno.test("sse - a stream killed mid-way resumes from Last-Event-ID with exactly the missed messages", async () => {
  const server = await startServer(LIMITS_OFF);
  let first: SseStream | undefined;
  let second: SseStream | undefined;
  try {
    await createRoom(server, "lobby");
    first = await SseStream.open(server, "lobby", { after: 0 });
    await first.until((s) => s.blocks.some((block) => block.event === "welcome"));

    const total = 200;
    const posting = postMany(server, "lobby", total, 10);
    await first.until((s) => s.messages.length >= 30, 10_000);
    await first.close();
    const seen = first.seqs;
    assert.ok(seen.length < total, `the stream was not cut mid-way: it saw ${seen.length}`);
    assert.deepEqual(seen, range(1, seen.length));
    const lastId = first.blocks.filter((block) => block.event === "message").at(-1)!.id!;
    assert.equal(lastId, String(seen.at(-1)));

    const stored = await posting;
    assert.equal(stored.length, total);
    second = await SseStream.open(server, "lobby", { lastEventId: lastId });
    await second.until((s) => s.seqs.includes(total), 10_000);
    const marker = await post(server, "lobby", "after the resume");
    await second.until((s) => s.seqs.includes(marker.seq));

    assert.deepEqual(withoutEpoch(JSON.parse(second.blocks[1].data!)), {
      room: "lobby",
      head: total,
    });
    assert.deepEqual(second.seqs, range(Number(lastId) + 1, total + 1));
    const byId = new Map(stored.map((message) => [message.id, message]));
    for (const message of second.messages.slice(0, -1)) {
      assert.deepEqual(message, byId.get(message.id));
    }
  } finally {
    await first?.close();
    await second?.close();
    await server.close();
  }
});

Deno.test("sse - an unknown room answers 404 room_not_found as JSON", async () => {
  const server = await startServer(LIMITS_OFF);
  try {
    for (const room of ["nowhere", "Not-A-Slug"]) {
      const response = await fetch(`${server.origin}/api/rooms/${room}/events`);
      assert.equal(response.status, 404, room);
      assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
      const body = await response.json();
      assert.equal(body.error.code, "room_not_found", room);
      assert.equal(typeof body.error.message, "string");
    }
  } finally {
    await server.close();
  }
});

Deno.test("sse - a stream that fails for the server's own reason says so in its own words, and logs the cause", async () => {
  const server = await startServer(LIMITS_OFF);
  const { hub } = server.services;
  const subscribe = hub.subscribe;
  try {
    await createRoom(server, "lobby");
    hub.subscribe = () => Promise.reject(new TypeError("unable to read /srv/secret/parley.kv"));
    const { text, logged } = await withConsoleErrors(async (logged) => {
      const response = await fetch(`${server.origin}/api/rooms/lobby/events`);
      return { text: await response.text(), logged };
    });
    assert.match(text, /event: error\ndata: "The stream could not read the room's messages"\n/);
    assert.doesNotMatch(text, /secret/);
    assert.match(String(logged.flat().join(" ")), /\/srv\/secret\/parley\.kv/);
  } finally {
    hub.subscribe = subscribe;
    await server.close();
  }
});

Deno.test("sse - a bad after answers 400 invalid_cursor", async () => {
  const server = await startServer(LIMITS_OFF);
  try {
    await createRoom(server, "lobby");
    await postSeries(server, "lobby", 2);
    for (const after of ["3", "-1", "1.5", "abc"]) {
      const response = await fetch(`${server.origin}/api/rooms/lobby/events?after=${after}`);
      assert.equal(response.status, 400, `after=${after}`);
      assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
      const body = await response.json();
      assert.equal(body.error.code, "invalid_cursor", `after=${after}`);
    }
  } finally {
    await server.close();
  }
});

Deno.test("sse - a client that goes away ends its subscription", async () => {
  const server = await startEagerServer();
  const { hub } = server.services;
  let leaving: SseStream | undefined;
  let staying: SseStream | undefined;
  try {
    await createRoom(server, "lobby");
    leaving = await SseStream.open(server, "lobby");
    staying = await SseStream.open(server, "lobby");
    for (const stream of [leaving, staying]) {
      await stream.until((s) => s.blocks.some((block) => block.event === "welcome"));
    }
    assert.equal(hub.watchedRooms, 1);

    await leaving.close();
    const message = await post(server, "lobby", "after one left");
    await staying.until((s) => s.messages.length >= 1);
    assert.deepEqual(staying.messages, [message]);
    assert.deepEqual(leaving.messages, []);
    assert.equal(hub.watchedRooms, 1, "the other stream still holds the room's watch");

    await staying.close();
    await waitFor("the room's watch to be released", () => hub.watchedRooms === 0);
  } finally {
    await leaving?.close();
    await staying?.close();
    await server.close();
  }
});

Deno.test("sse - a reader catching up on a long backlog is not taken for a slow consumer", async () => {
  const server = await startServer(LIMITS_OFF);
  const controller = new AbortController();
  try {
    await createRoom(server, "lobby");
    const text = "é".repeat(3990);
    await Promise.all(range(1, 300).map((i) => post(server, "lobby", `${i} ${text}`, `big-${i}`)));
    const response = await fetch(`${server.origin}/api/rooms/lobby/events?after=0`, {
      signal: controller.signal,
    });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let seen = 0;
    let buffer = "";
    while (seen < 300) {
      const { value, done } = await reader.read();
      assert.ok(!done, `the stream ended after ${seen} of 300 messages`);
      buffer += value;
      const blocks = buffer.split("\n\n");
      buffer = blocks.pop() ?? "";
      seen += blocks.filter((block) => block.includes("event: message")).length;
    }
    assert.equal(seen, 300);
    await reader.cancel();
  } finally {
    controller.abort();
    await server.close();
  }
});

Deno.test("sse - a bad cursor is named as sent: Last-Event-ID or after", async () => {
  const server = await startServer(LIMITS_OFF);
  try {
    await createRoom(server, "lobby");
    const url = `${server.origin}/api/rooms/lobby/events`;
    const fromHeader = await fetch(url, { headers: { "last-event-id": "abc" } });
    assert.equal(fromHeader.status, 400);
    assert.equal(
      (await fromHeader.json()).error.message,
      'The Last-Event-ID cursor must be a non-negative integer, got "abc"',
    );
    const fromQuery = await fetch(`${url}?after=9`);
    assert.equal(fromQuery.status, 400);
    assert.equal(
      (await fromQuery.json()).error.message,
      "The after cursor 9 is beyond the newest message (0)",
    );
  } finally {
    await server.close();
  }
});

/**
 * Opens a stream of a new room `id` on the server's services directly, from the head, with
 * `options` (timings shortened, a session, what to do at its end).
 */
async function openDirect(
  server: TestServer,
  id: string,
  options: Partial<EventStreamOptions> = {},
): Promise<SseStream> {
  await createRoom(server, id);
  const room = (await server.services.log.getRoom(id))!;
  const stream = openEventStream(server.services, {
    room,
    resume: { resync: false },
    ip: "127.0.0.1",
    ...options,
  });
  return new SseStream(new Response(stream));
}

Deno.test("sse - a stream ends at its age with a reconnect event, its session online a moment longer", async () => {
  const server = await startServer(LIMITS_OFF);
  try {
    await withTiming(STREAM_TIMING, { maxAgeMs: 300, renewalPresenceMs: 300 }, async () => {
      const { session } = server.services.sessions.issue("ann");
      let released = false;
      const stream = await openDirect(server, "aged", {
        session,
        onEnd: () => released = true,
      });
      await stream.until((s) => s.blocks.some((block) => block.event === "welcome"));
      await stream.done;
      assert.deepEqual(stream.blocks.at(-1), { event: "reconnect", data: "{}", comments: [] });
      assert.ok(released, "the stream kept its connection slot");
      // Its client's next stream joins meanwhile: others do not see ann leave and come back.
      const online = async () => (await server.services.presence.read("aged")).presence.online;
      assert.deepEqual(await online(), ["ann"]);
      // No stream follows here: she leaves.
      const deadline = Date.now() + 5_000;
      while ((await online()).length > 0) {
        assert.ok(Date.now() < deadline, "ann stayed online");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
  } finally {
    await server.close();
  }
});

Deno.test("sse - a ping event comes at every heartbeat, whether or not messages flow", async () => {
  const server = await startServer(LIMITS_OFF);
  try {
    await withTiming(STREAM_TIMING, { heartbeatMs: 50 }, async () => {
      const stream = await openDirect(server, "quiet");
      await stream.until((s) => s.blocks.filter((block) => block.event === "ping").length >= 3);
      const ping = stream.blocks.find((block) => block.event === "ping");
      assert.deepEqual(ping, { event: "ping", data: "{}", comments: [] });
      await stream.close();
    });
  } finally {
    await server.close();
  }
});
