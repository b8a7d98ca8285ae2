/**
 * Long-polling over `GET /api/rooms/:room/messages?after=&wait=&limit=` against a real server.
 *
 * @module
 */
import assert from "node:assert/strict";
import { waitFor, within } from "./wait_for.ts";
import type { Message } from "../lib/types.ts";
import {
  LIMITS_OFF,
  requestJson,
  sessionToken,
  startServer,
  type TestServer,
  TestSocket,
  withoutEpoch,
  withoutPresence,
} from "./server.ts";

interface Page {
  room: string;
  head: number;
  messages: Message[];
}

interface ErrorReply {
  error: { code: string; message: string };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function seqs(messages: Message[]): number[] {
  return messages.map((message) => message.seq);
}

async function createRoom(server: TestServer, id: string): Promise<void> {
  const { status } = await requestJson(server, "/api/rooms", { body: { id, title: id } });
  assert.equal(status, 201);
}

async function post(server: TestServer, room: string, text: string, id?: string): Promise<Message> {
  const { status, body } = await requestJson(server, `/api/rooms/${room}/messages`, {
    body: { id, author: "ada", text },
  });
  assert.ok(status === 201 || status === 200, `POST answered ${status}: ${JSON.stringify(body)}`);
  return body.message as Message;
}

/** Posts `count` messages with at most `inFlight` requests open at once. */
async function postMany(
  server: TestServer,
  room: string,
  count: number,
  inFlight = 10,
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
 * Issues one poll; `query` is appended as is so malformed values reach the server. A poll
 * still open after 45 s (longer than any wait used here) is aborted, so a hang fails the test.
 */
async function poll(
  server: TestServer,
  room: string,
  query: string,
  signal?: AbortSignal,
): Promise<{ status: number; body: Page & ErrorReply; ms: number }> {
  const started = performance.now();
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new Error(`poll ?${query} hung`)), 45_000);
  try {
    const response = await fetch(`${server.origin}/api/rooms/${room}/messages?${query}`, {
      signal: signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal,
    });
    const body = await response.json();
    return { status: response.status, body, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("long poll - wakes the moment a message lands, long before wait", async () => {
  const server = await startServer(LIMITS_OFF);
  try {
    await createRoom(server, "lobby");
    const waiting = poll(server, "lobby", "after=0&wait=20");
    await waitFor("the poll to wait", () => server.services.hub.waitingPolls === 1);

    const posted = performance.now();
    const message = await post(server, "lobby", "hello", "m-1");
    const { status, body } = await waiting;
    const latency = performance.now() - posted;

    assert.equal(status, 200);
    assert.ok(latency < 2000, `answered ${latency.toFixed(0)} ms after the post, wait was 20 s`);
    assert.equal(body.room, "lobby");
    assert.equal(body.head, 1);
    assert.deepEqual(body.messages, [message]);
    assert.equal(server.services.hub.waitingPolls, 0);
  } finally {
    await server.close();
  }
});

Deno.test("long poll - answers with an empty list once wait passes with nothing new", async () => {
  const server = await startServer(LIMITS_OFF);
  try {
    await createRoom(server, "lobby");
    await postMany(server, "lobby", 3);

    const { status, body, ms } = await poll(server, "lobby", "after=3&wait=1");

    assert.equal(status, 200);
    assert.deepEqual(withoutPresence(withoutEpoch(body)), { room: "lobby", head: 3, messages: [] });
    assert.ok(ms >= 900, `answered after ${ms.toFixed(0)} ms, before the 1 s wait`);
    assert.ok(ms < 5000, `answered after ${ms.toFixed(0)} ms, long after the 1 s wait`);
    assert.equal(server.services.hub.waitingPolls, 0);
    // An empty presence version is no version, not one that differs from the room's.
    const blank = await poll(server, "lobby", "after=3&wait=1&presence=");
    assert.ok(blank.ms >= 900, `with presence= answered after ${blank.ms.toFixed(0)} ms`);
  } finally {
    await server.close();
  }
});

/** How many entries a list field of a long-poll answer has, if it has that field. */
function listLength(page: Record<string, unknown>, field: string): number | undefined {
  return (page[field] as unknown[] | undefined)?.length;
}

/**
 * Long-polls the lobby from the start as `headers` say, each poll waiting for the presence to
 * differ from the one it last saw, until an answer is `wanted`; fails after 5 s naming `what`.
 */
async function pollUntilPresence(
  server: TestServer,
  headers: HeadersInit,
  wanted: (page: Record<string, unknown>) => boolean,
  what: string,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 5_000;
  let page: Record<string, unknown> = {};
  while (!wanted(page)) {
    assert.ok(Date.now() < deadline, `${what} never showed: ${JSON.stringify(page)}`);
    const seen = page.presence ?? "";
    const url = `${server.origin}/api/rooms/lobby/messages?after=0&wait=1&presence=${seen}`;
    page = await (await fetch(url, { headers })).json();
  }
  return page;
}

Deno.test("long poll - the presence fields give each online session's author id, in the order of its names", async () => {
  const server = await startServer(LIMITS_OFF);
  await createRoom(server, "lobby");
  const socket = TestSocket.open(server, "lobby", { name: "sam" });
  try {
    const headers = { authorization: `Bearer ${sessionToken(server, "sam")}` };
    const page = await pollUntilPresence(
      server,
      headers,
      (page) => listLength(page, "online") === 2,
      "both sams",
    );
    const welcome = socket.frames.find((frame) => frame.type === "welcome")!;
    assert.deepEqual(page.online, ["sam", "sam"]);
    assert.deepEqual(page.onlineAuthorIds, [welcome.authorId, page.authorId].sort());
  } finally {
    await socket.close();
    await server.close();
  }
});

Deno.test("long poll - the presence fields give the typing session's author id, the one it is online with", async () => {
  const server = await startServer(LIMITS_OFF);
  await createRoom(server, "lobby");
  const socket = TestSocket.open(server, "lobby", { name: "sam" });
  try {
    const headers = { authorization: `Bearer ${sessionToken(server, "sam")}` };
    const typed = await fetch(`${server.origin}/api/rooms/lobby/typing`, {
      method: "POST",
      headers,
    });
    assert.equal(typed.status, 204);
    const page = await pollUntilPresence(
      server,
      headers,
      (page) => listLength(page, "online") === 2 && listLength(page, "typing") === 1,
      "the typing sam",
    );
    const onlineAuthorIds = page.onlineAuthorIds as string[];
    assert.deepEqual(page.typing, ["sam"]);
    assert.deepEqual(page.typingAuthorIds, [page.authorId]);
    assert.notEqual(onlineAuthorIds.indexOf(page.authorId as string), -1);
    const welcome = socket.frames.find((frame) => frame.type === "welcome")!;
    assert.notEqual(page.authorId, welcome.authorId);
  } finally {
    await socket.close();
    await server.close();
  }
});

Deno.test("long poll - without wait answers at once, even with nothing new", async () => {
  const server = await startServer(LIMITS_OFF);
  try {
    await createRoom(server, "lobby");
    await post(server, "lobby", "one");

    const { status, body, ms } = await poll(server, "lobby", "after=1");

    assert.equal(status, 200);
    assert.deepEqual(withoutPresence(withoutEpoch(body)), { room: "lobby", head: 1, messages: [] });
    assert.ok(ms < 2000, `answered after ${ms.toFixed(0)} ms`);
    assert.equal(server.services.hub.waitingPolls, 0);
  } finally {
    await server.close();
  }
});

Deno.test("long poll - answers at once, oldest first, when messages already exist", async () => {
  const server = await startServer(LIMITS_OFF);
  try {
    await createRoom(server, "lobby");
    const stored = [];
    for (const text of ["one", "two", "three", "four", "five"]) {
      stored.push(await post(server, "lobby", text));
    }

    const { status, body, ms } = await poll(server, "lobby", "after=2&wait=20");

    assert.equal(status, 200);
    assert.ok(ms < 2000, `answered after ${ms.toFixed(0)} ms with messages ready`);
    assert.equal(body.room, "lobby");
    assert.equal(body.head, 5);
    assert.deepEqual(body.messages, stored.slice(2));
    assert.deepEqual(body.messages.map((message) => message.text), ["three", "four", "five"]);
  } finally {
    await server.close();
  }
});

Deno.test("long poll - limit caps the page; the default is 100 and the most 500", async () => {
  const server = await startServer(LIMITS_OFF);
  try {
    await createRoom(server, "lobby");
    await postMany(server, "lobby", 520, 20);

    const two = await poll(server, "lobby", "after=0&limit=2&wait=20");
    assert.equal(two.status, 200);
    assert.equal(two.body.head, 520);
    assert.deepEqual(seqs(two.body.messages), [1, 2]);
    assert.ok(two.ms < 2000, `answered after ${two.ms.toFixed(0)} ms with messages ready`);

    const fallback = await poll(server, "lobby", "after=10");
    assert.deepEqual(seqs(fallback.body.messages), range(11, 110));

    const most = await poll(server, "lobby", "after=0&limit=500");
    assert.deepEqual(seqs(most.body.messages), range(1, 500));

    for (const limit of ["501", "0", "-1", "ten"]) {
      const { status, body } = await poll(server, "lobby", `after=0&limit=${limit}`);
      assert.equal(status, 400, `limit=${limit}`);
      assert.equal(body.error.code, "invalid_limit", `limit=${limit}`);
    }
  } finally {
    await server.close();
  }
});

Deno.test("long poll - a woken poll answers with at most limit messages; the next gets the rest", async () => {
  const server = await startServer(LIMITS_OFF);
  try {
    await createRoom(server, "lobby");
    const { log, hub } = server.services;
    await log.append("lobby", { id: "first", author: "ada", text: "first" });
    const waiting = poll(server, "lobby", "after=1&limit=3&wait=20");
    await waitFor("the poll to wait", () => hub.waitingPolls === 1);

    // The repeated id keeps the appender busy without a commit, so the next ten queue behind it
    // and land in one commit: the waiting poll is woken by a single batch of ten.
    const appends = [log.append("lobby", { id: "first", author: "ada", text: "first" })];
    for (const i of range(1, 10)) {
      appends.push(log.append("lobby", { id: `batch-${i}`, author: "ada", text: `batch ${i}` }));
    }
    const results = await Promise.all(appends);
    assert.deepEqual(results.map((result) => result.message.seq), [1, ...range(2, 11)]);

    const woken = await waiting;
    assert.equal(woken.status, 200);
    assert.deepEqual(seqs(woken.body.messages), [2, 3, 4]);
    assert.ok(woken.body.head >= 4, `head ${woken.body.head} is behind the messages`);

    const rest = await poll(server, "lobby", "after=4&wait=20");
    assert.deepEqual(seqs(rest.body.messages), range(5, 11));
    assert.equal(rest.body.head, 11);
  } finally {
    await server.close();
  }
});

Deno.test({
  name: "long poll - a woken poll reports the room's head, not just its last message",
  async fn() {
    const server = await startServer(LIMITS_OFF);
    try {
      await createRoom(server, "lobby");
      const { log, hub } = server.services;
      await log.append("lobby", { id: "first", author: "ada", text: "first" });
      const waiting = poll(server, "lobby", "after=1&limit=3&wait=20");
      await waitFor("the poll to wait", () => hub.waitingPolls === 1);

      // As above: ten appends queued behind a repeated id land in one commit.
      const appends = [log.append("lobby", { id: "first", author: "ada", text: "first" })];
      for (const i of range(1, 10)) {
        appends.push(log.append("lobby", { id: `batch-${i}`, author: "ada", text: `batch ${i}` }));
      }
      await Promise.all(appends);

      const woken = await waiting;
      assert.deepEqual(seqs(woken.body.messages), [2, 3, 4]);
      assert.equal(woken.body.head, 11);
    } finally {
      await server.close();
    }
  },
});

Deno.test("long poll - a re-poll from the head this worker reached waits without reading the store", async () => {
  const server = await startServer(LIMITS_OFF);
  try {
    await createRoom(server, "lobby");
    const { log, hub } = server.services;
    // A first poll that waits opens the room's feed, which stays open between polls.
    const opening = poll(server, "lobby", "after=0&wait=20");
    await waitFor("the first poll to wait", () => hub.waitingPolls === 1);
    const first = await post(server, "lobby", "one");
    assert.deepEqual(seqs((await opening).body.messages), [first.seq]);
    const reads: string[] = [];
    const getRoom = log.getRoom.bind(log);
    const readAfter = log.readAfter.bind(log);
    log.getRoom = (id) => (reads.push(`getRoom ${id}`), getRoom(id));
    log.readAfter = (
      id,
      after,
      limit,
    ) => (reads.push(`readAfter ${id}`), readAfter(id, after, limit));
    const waiting = poll(server, "lobby", `after=${first.seq}&wait=20`);
    await waitFor("the poll to wait", () => hub.waitingPolls === 1);
    assert.deepEqual(reads, [], "the poll read nothing before it waited");
    const second = await post(server, "lobby", "two");
    const woken = await waiting;
    assert.equal(woken.status, 200);
    assert.deepEqual(seqs(woken.body.messages), [second.seq]);
    assert.equal(woken.body.head, second.seq);
    assert.deepEqual(reads, [], "the message came from the commit, not from a read");
    // A cursor this worker has not reached (from another worker, say) is checked against the store.
    const ahead = await poll(server, "lobby", `after=${second.seq + 5}&wait=0`);
    assert.equal(ahead.status, 400);
    assert.deepEqual(reads, ["getRoom lobby"]);
  } finally {
    await server.close();
  }
});

Deno.test("long poll - an aborted request frees its waiter", async () => {
  const server = await startServer(LIMITS_OFF);
  try {
    await createRoom(server, "lobby");
    const { hub } = server.services;
    const controller = new AbortController();
    const aborted = poll(server, "lobby", "after=0&wait=30", controller.signal);
    const kept = poll(server, "lobby", "after=0&wait=30");
    await waitFor("both polls to wait", () => hub.waitingPolls === 2);

    controller.abort();
    await assert.rejects(aborted, (error: unknown) => {
      assert.ok(error instanceof DOMException, `expected an AbortError, got ${error}`);
      assert.equal(error.name, "AbortError");
      return true;
    });
    await waitFor("the aborted waiter to go", () => hub.waitingPolls === 1);

    // The other waiter is still there and still works.
    const message = await post(server, "lobby", "still here");
    const { body } = await kept;
    assert.deepEqual(body.messages, [message]);
    assert.equal(hub.waitingPolls, 0);
  } finally {
    await server.close();
  }
});

Deno.test("long poll - bad cursors answer 400 invalid_cursor, bad waits 400 invalid_wait", async () => {
  const server = await startServer(LIMITS_OFF);
  try {
    await createRoom(server, "lobby");
    await postMany(server, "lobby", 3);

    for (const after of ["4", "1000", "-1", "1.5", "abc", "0x1", "1e2"]) {
      const { status, body } = await poll(server, "lobby", `after=${after}&wait=1`);
      assert.equal(status, 400, `after=${after}`);
      assert.equal(body.error.code, "invalid_cursor", `after=${after}`);
      assert.equal(typeof body.error.message, "string");
    }
    for (const wait of ["61", "-1", "1.5", "soon"]) {
      const { status, body } = await poll(server, "lobby", `after=0&wait=${wait}`);
      assert.equal(status, 400, `wait=${wait}`);
      assert.equal(body.error.code, "invalid_wait", `wait=${wait}`);
    }
    // The bounds themselves are accepted (answered at once, since messages are ready).
    const atHead = await poll(server, "lobby", "after=3&wait=0");
    assert.equal(atHead.status, 200);
    assert.deepEqual(atHead.body.messages, []);
    const longest = await poll(server, "lobby", "after=0&wait=60");
    assert.equal(longest.status, 200);
    assert.deepEqual(seqs(longest.body.messages), [1, 2, 3]);

    const missing = await poll(server, "nowhere", "after=0&wait=1");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, "room_not_found");
    assert.equal(server.services.hub.waitingPolls, 0);
  } finally {
    await server.close();
  }
});

Deno.test("long poll - a poll after a burst of 50 answers with all 50", async () => {
  const server = await startServer(LIMITS_OFF);
  try {
    await createRoom(server, "lobby");
    const stored = await postMany(server, "lobby", 50, 25);
    assert.deepEqual(seqs(stored).sort((a, b) => a - b), range(1, 50));

    const { status, body } = await poll(server, "lobby", "after=0&wait=20");

    assert.equal(status, 200);
    assert.equal(body.head, 50);
    assert.deepEqual(seqs(body.messages), range(1, 50));
    assert.deepEqual(
      new Set(body.messages.map((message) => message.id)),
      new Set(range(1, 50).map((i) => `burst-${i}`)),
    );
  } finally {
    await server.close();
  }
});

Deno.test("long poll - a reader polling through a burst gets every message exactly once", async () => {
  const server = await startServer(LIMITS_OFF);
  const reader = new AbortController();
  try {
    await createRoom(server, "lobby");
    const total = 300;
    const received: Message[] = [];
    const reading = (async () => {
      let after = 0;
      while (after < total) {
        const { status, body } = await poll(
          server,
          "lobby",
          `after=${after}&wait=10`,
          reader.signal,
        );
        assert.equal(status, 200);
        received.push(...body.messages);
        if (body.messages.length > 0) after = body.messages.at(-1)!.seq;
      }
    })();
    await waitFor("the reader to wait", () => server.services.hub.waitingPolls === 1);

    const stored = await postMany(server, "lobby", total, 20);
    await within(reading, 20_000, () => `the reader, stuck after ${received.length} messages`);

    assert.deepEqual(seqs(received), range(1, total));
    const byId = new Map(stored.map((message) => [message.id, message]));
    for (const message of received) assert.deepEqual(message, byId.get(message.id));
  } finally {
    reader.abort();
    await server.close();
  }
});

Deno.test("long poll - an answer carries about 1 MiB of messages at most; the next gets the rest", async () => {
  // 500 messages of 4,000 emoji are 8 MB of JSON, which a client that does not read its answer
  // kept in the server's memory with each such request.
  const server = await startServer(LIMITS_OFF);
  try {
    await createRoom(server, "lobby");
    const text = "😀".repeat(4000);
    for (const i of range(1, 100)) {
      await server.services.log.append("lobby", { id: `big-${i}`, author: "ada", text });
    }
    const bytes = (messages: Message[]) =>
      messages.reduce(
        (sum, message) => sum + new TextEncoder().encode(JSON.stringify(message)).length,
        0,
      );

    const first = await poll(server, "lobby", "after=0&limit=500");
    assert.equal(first.status, 200);
    assert.equal(first.body.head, 100);
    const count = first.body.messages.length;
    assert.ok(count >= 50 && count < 100, `${count} messages in one answer`);
    assert.deepEqual(seqs(first.body.messages), range(1, count));
    assert.ok(bytes(first.body.messages) <= 1024 * 1024, `${bytes(first.body.messages)} bytes`);
    const rest = await poll(server, "lobby", `after=${count}&limit=500&wait=20`);
    assert.deepEqual(seqs(rest.body.messages), range(count + 1, 100));

    // History pages back from the newest; a page of 50 (the bundled client's) comes whole.
    const history = await poll(server, "lobby", "limit=200");
    const shown = history.body.messages.length;
    assert.ok(shown >= 50 && shown < 100, `${shown} messages in one page of history`);
    assert.deepEqual(seqs(history.body.messages), range(101 - shown, 100));
    const older = await poll(server, "lobby", `limit=50&before=${101 - shown}`);
    assert.deepEqual(seqs(older.body.messages), range(Math.max(1, 51 - shown), 100 - shown));
  } finally {
    await server.close();
  }
});
