import assert from "node:assert/strict";
import { connect, type Message } from "../lib/client.ts";
import { MessageLog } from "../lib/message_log.ts";
import type { TransportName } from "../lib/transports/transport.ts";
import { requestJson, startServer, type TestServer, TestSocket } from "./server.ts";
import { waitFor, within } from "./wait_for.ts";

const HISTORY_LIMIT = 5;

/** A server keeping 5 messages per room, with 12 posted to "lobby" (seqs 8..12 kept). */
async function withTrimmedRoom(fn: (server: TestServer, epoch: string) => Promise<void>) {
  const server = await startServer({ env: { PARLEY_HISTORY_LIMIT: String(HISTORY_LIMIT) } });
  try {
    const { body } = await requestJson(server, "/api/rooms", { body: { id: "lobby", title: "L" } });
    for (let i = 1; i <= 12; i++) {
      await requestJson(server, "/api/rooms/lobby/messages", {
        body: { author: "ann", text: `m${i}` },
      });
    }
    await fn(server, (body.room as { epoch: string }).epoch);
  } finally {
    await server.close();
  }
}

function seqsOf(messages: Array<{ seq: number }>): number[] {
  return messages.map((message) => message.seq);
}

Deno.test("GET / - counts only the messages a room still keeps", async () => {
  await withTrimmedRoom(async (server) => {
    const html = await (await fetch(`${server.origin}/`)).text();
    assert.match(html, /5 messages/);
  });
});

const RESYNCED_CURSORS = [
  ["a trimmed cursor", 3],
  ["a cursor beyond the head of its own epoch (a backup restored since)", 20],
] as const;

for (const [cursor, after] of RESYNCED_CURSORS) {
  Deno.test(`ws - ${cursor} gets an explicit resync, then live messages`, async () => {
    await withTrimmedRoom(async (server, epoch) => {
      const socket = TestSocket.open(server, "lobby", { after, epoch, name: "bob" });
      try {
        await socket.until((s) => s.frames.some((frame) => frame.type === "resync"));
        const types = socket.frames.map((frame) => frame.type).slice(0, 2);
        assert.deepEqual(types, ["welcome", "resync"]);
        const resync = socket.frames[1];
        assert.equal(resync.head, 12);
        assert.equal(resync.epoch, epoch);
        assert.deepEqual(seqsOf(resync.messages as Message[]), [8, 9, 10, 11, 12]);
        socket.send({ type: "send", id: "after-resync", text: "hello" });
        await socket.until((s) => s.messages.some((message) => message.id === "after-resync"));
        assert.deepEqual(seqsOf(socket.messages), [13]);
      } finally {
        await socket.close();
      }
    });
  });
}

Deno.test("ws - a cursor from another epoch gets a resync, even beyond this head", async () => {
  await withTrimmedRoom(async (server) => {
    const socket = TestSocket.open(server, "lobby", { after: 400, epoch: "0ldepoch" });
    try {
      await socket.until((s) => s.frames.length >= 2);
      assert.equal(socket.frames[1].type, "resync");
      assert.deepEqual(seqsOf(socket.frames[1].messages as Message[]), [8, 9, 10, 11, 12]);
    } finally {
      await socket.close();
    }
  });
});

Deno.test("ws - a cursor still inside the history resumes without a resync", async () => {
  await withTrimmedRoom(async (server, epoch) => {
    const socket = TestSocket.open(server, "lobby", { after: 9, epoch });
    try {
      await socket.until((s) => s.messages.length >= 3);
      const types = socket.frames.map((frame) => frame.type).filter((type) => type !== "presence");
      assert.deepEqual(types, ["welcome", "messages"]);
      assert.deepEqual(seqsOf(socket.messages), [10, 11, 12]);
    } finally {
      await socket.close();
    }
  });
});

/** Checks a long-poll answer is a resync to the trimmed room's latest: head 12, seqs 8 to 12. */
function assertResyncedToLatest(
  { status, body }: { status: number; body: Record<string, unknown> },
) {
  assert.equal(status, 200);
  assert.equal(body.resync, true);
  assert.equal(body.head, 12);
  assert.deepEqual(seqsOf(body.messages as Message[]), [8, 9, 10, 11, 12]);
}

Deno.test("long-poll - a trimmed cursor answers resync: true with the latest history", async () => {
  await withTrimmedRoom(async (server, epoch) => {
    assertResyncedToLatest(
      await requestJson(server, `/api/rooms/lobby/messages?after=2&epoch=${epoch}&wait=5`),
    );
    const fine = await requestJson(server, `/api/rooms/lobby/messages?after=10&epoch=${epoch}`);
    assert.equal(fine.body.resync, undefined);
    assert.deepEqual(seqsOf(fine.body.messages as Message[]), [11, 12]);
  });
});

Deno.test("long-poll - a cursor beyond the head of its own epoch answers resync: true at once; without an epoch it is refused", async () => {
  await withTrimmedRoom(async (server, epoch) => {
    assertResyncedToLatest(
      await requestJson(server, `/api/rooms/lobby/messages?after=20&epoch=${epoch}&wait=5`),
    );
    const plain = await requestJson(server, "/api/rooms/lobby/messages?after=20");
    assert.equal(plain.status, 400);
    assert.equal((plain.body.error as { code: string }).code, "invalid_cursor");
  });
});

/**
 * Makes retention pass every cursor just after the server checked it: the next read from a
 * cursor first stores six more messages (seqs 13-18), which trims seqs up to 13.
 */
function trimBeforeNextCursorRead(server: TestServer): void {
  const log = server.services.log;
  const read = log.readAfter.bind(log);
  let trimmed = false;
  log.readAfter = async (room, after, limit) => {
    if (!trimmed) {
      trimmed = true;
      for (let i = 13; i <= 18; i++) await log.append(room, { author: "ann", text: `m${i}` });
    }
    return await read(room, after, limit);
  };
}

Deno.test("long-poll - a cursor retention passes while it is read gets a resync, not a gap", async () => {
  await withTrimmedRoom(async (server, epoch) => {
    trimBeforeNextCursorRead(server);
    const { status, body } = await requestJson(
      server,
      `/api/rooms/lobby/messages?after=9&epoch=${epoch}`,
    );
    assert.equal(status, 200);
    assert.equal(body.resync, true);
    assert.equal(body.head, 18);
    assert.deepEqual(seqsOf(body.messages as Message[]), [14, 15, 16, 17, 18]);
  });
});

Deno.test("ws - a cursor retention passes during the backlog closes 4409, and reconnecting resyncs", async () => {
  await withTrimmedRoom(async (server, epoch) => {
    trimBeforeNextCursorRead(server);
    const first = TestSocket.open(server, "lobby", { after: 9, epoch });
    const closed = await within(
      first.closed,
      5000,
      () => `the close; frames: ${JSON.stringify(first.frames)}`,
    );
    assert.equal(closed.code, 4409);
    assert.equal(closed.reason, "history_trimmed");
    assert.deepEqual(seqsOf(first.messages), [], "messages were delivered past a gap");
    assert.equal(server.services.metrics.rejected.get("history_trimmed"), 1);
    const again = TestSocket.open(server, "lobby", { after: 9, epoch });
    try {
      await again.until((s) => s.frames.some((frame) => frame.type === "resync"));
      const resync = again.frames.find((frame) => frame.type === "resync")!;
      assert.equal(resync.head, 18);
      assert.deepEqual(seqsOf(resync.messages as Message[]), [14, 15, 16, 17, 18]);
    } finally {
      await again.close();
    }
  });
});

Deno.test("ws - a burst far past a small history limit reaches every live socket, in order", async () => {
  // One group commit carries up to 250 messages of a room; with 10 kept, it trims most of what
  // it appends before any socket was sent it. The live sockets get it in memory nonetheless.
  const server = await startServer({ env: { PARLEY_HISTORY_LIMIT: "10", PARLEY_LIMITS: "off" } });
  try {
    await requestJson(server, "/api/rooms", { body: { id: "lobby", title: "L" } });
    for (let round = 0; round < 20; round++) {
      const sockets = ["ann", "bo", "cy", "di", "ed"].map((name) => {
        return TestSocket.open(server, "lobby", { name });
      });
      try {
        for (const socket of sockets) {
          await socket.until((s) => s.frames.some((frame) => frame.type === "welcome"));
        }
        const head = sockets[0].frames.find((frame) => frame.type === "welcome")!.head as number;
        for (let i = 0; i < 50; i++) {
          for (const [k, socket] of sockets.slice(1).entries()) {
            socket.send({ type: "send", id: `r${round}s${k}m${i}`, text: `m${i}` });
          }
        }
        const last = head + 200;
        const everySeq = Array.from({ length: 200 }, (_, i) => head + 1 + i);
        for (const socket of sockets) {
          const closed = socket.closed.then(({ code }) => `a close with code ${code}`);
          const reached = socket.until((s) => s.messages.at(-1)?.seq === last, 10_000);
          assert.equal(
            await Promise.race([reached.then(() => "every message"), closed]),
            "every message",
          );
          assert.deepEqual(seqsOf(socket.messages), everySeq);
        }
      } finally {
        for (const socket of sockets) await socket.close();
      }
    }
  } finally {
    await server.close();
  }
});

/**
 * Opens lobby's event stream from `lastEventId` (with `query` in its URL) and reads it up to its
 * whole resync event.
 */
async function readUntilResync(
  server: TestServer,
  lastEventId: string,
  query = "",
): Promise<string> {
  const controller = new AbortController();
  const response = await fetch(`${server.origin}/api/rooms/lobby/events${query}`, {
    headers: { "last-event-id": lastEventId },
    signal: controller.signal,
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("event: resync") || !text.endsWith("\n\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`The stream ended (${response.status}) without a resync: ${text}`);
    text += value;
  }
  controller.abort();
  await reader.cancel().catch(() => {});
  return text;
}

Deno.test("sse - a trimmed Last-Event-ID gets a resync event whose id is the head", async () => {
  await withTrimmedRoom(async (server) => {
    const text = await readUntilResync(server, "1");
    const block = text.split("\n\n").find((part) => part.includes("event: resync"))!;
    assert.match(block, /^id: 12\nevent: resync\ndata: /);
    // The welcome before it names no cursor: the trimmed one must not be resumed from.
    assert.match(text, /\n\nevent: welcome\n/);
    const data = JSON.parse(block.slice(block.indexOf("data: ") + 6));
    assert.deepEqual(seqsOf(data.messages), [8, 9, 10, 11, 12]);
  });
});

Deno.test("sse - a cursor beyond the head of its own epoch (a backup restored since) gets a resync event", async () => {
  await withTrimmedRoom(async (server, epoch) => {
    for (
      const [lastEventId, query] of [["", `?after=20&epoch=${epoch}`], ["20", `?epoch=${epoch}`]]
    ) {
      const text = await readUntilResync(server, lastEventId, query);
      const block = text.split("\n\n").find((part) => part.includes("event: resync"))!;
      assert.match(block, /^id: 12\nevent: resync\ndata: /, query);
      const data = JSON.parse(block.slice(block.indexOf("data: ") + 6));
      assert.deepEqual(seqsOf(data.messages), [8, 9, 10, 11, 12]);
    }
  });
});

Deno.test("sse - a cursor retention passes during the backlog ends the stream, and reconnecting resyncs", async () => {
  await withTrimmedRoom(async (server) => {
    trimBeforeNextCursorRead(server);
    const first = await fetch(`${server.origin}/api/rooms/lobby/events`, {
      headers: { "last-event-id": "9" },
    });
    // The stream ends by itself, after an error event and before any message.
    const text = await within(first.text(), 5000, "the stream to end");
    assert.match(text, /event: error\ndata: ".*no longer keeps the messages after seq 9/);
    assert.doesNotMatch(text, /event: message/);
    assert.equal(server.services.metrics.rejected.get("history_trimmed"), 1);
    assert.match(await readUntilResync(server, "9"), /id: 18\nevent: resync\n/);
  });
});

for (const transport of ["ws", "sse"] as TransportName[]) {
  Deno.test(`client (${transport}) - a message acknowledged before its resync comes is stored once, though retention deletes it meanwhile`, async () => {
    await withTrimmedRoom(async (server, epoch) => {
      const log = server.services.log;
      const stored = Promise.withResolvers<void>();
      log.onCommitted((_room, messages) => {
        if (messages.some((message) => message.id === "early")) stored.resolve();
      });
      // The resync's messages are read once the message sent on the welcome is stored and
      // acknowledged, and six more have deleted it: its seq is above the resync's head.
      const read = log.readLatest.bind(log);
      let delayed = false;
      log.readLatest = async (room, options) => {
        if (!delayed) {
          delayed = true;
          await stored.promise;
          for (let i = 1; i <= 6; i++) await log.append(room, { author: "ann", text: `n${i}` });
          // The acknowledgement, an answer to a POST over SSE, reaches the client first.
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        return await read(room, options);
      };
      const chat = connect("lobby", {
        name: "cat",
        after: 1,
        epoch,
        transport,
        baseUrl: server.origin,
      });
      const delivered: Message[] = [];
      chat.on("messages", (messages) => delivered.push(...messages));
      try {
        chat.send("sent as the connection opens", "early");
        await waitFor("the message delivered", () => chat.outbox.length === 0, 5_000);
        await new Promise((resolve) => setTimeout(resolve, 500));
        const { body } = await requestJson(server, "/api/rooms/lobby/messages", {
          body: { author: "ann", text: "last" },
        });
        const last = (body.message as Message).seq;
        await waitFor("the last message", () => chat.last === last, 5_000);
        const early = delivered.filter((message) => message.id === "early");
        assert.deepEqual(early.map((message) => message.seq), [13], "copies delivered");
      } finally {
        chat.close();
      }
    });
  });
}

Deno.test("ws and sse - a worker's feed that retention passed ends live sockets (4409) and streams", async () => {
  await withTrimmedRoom(async (server) => {
    const socket = TestSocket.open(server, "lobby");
    const stream = await fetch(`${server.origin}/api/rooms/lobby/events`);
    const streamText = stream.text();
    try {
      await socket.until((s) => s.frames.some((frame) => frame.type === "welcome"));
      // Another process's log (same store, same history limit) stores eight messages at once:
      // by the time this worker's feed reads past seq 12, retention has deleted seqs up to 15.
      const other = new MessageLog(server.services.kv, { historyLimit: HISTORY_LIMIT });
      await Promise.all(
        Array.from({ length: 8 }, (_, i) => other.append("lobby", { author: "bo", text: `o${i}` })),
      );
      const closed = await within(socket.closed, 5000, "the socket to close");
      assert.equal(closed.code, 4409);
      assert.equal(closed.reason, "history_trimmed");
      const text = await within(streamText, 5000, "the stream to end");
      assert.match(text, /event: error\ndata: ".*no longer keeps messages this stream was yet/);
      assert.deepEqual(seqsOf(socket.messages), [], "messages were delivered past a gap");
      assert.doesNotMatch(text, /event: message/);
      assert.equal(server.services.metrics.rejected.get("history_trimmed"), 2, "one per transport");
    } finally {
      await socket.close();
    }
  });
});

for (const transport of ["ws", "sse", "poll"] as TransportName[]) {
  Deno.test(`client (${transport}) - resuming from trimmed history replaces the view, then continues`, async () => {
    await withTrimmedRoom(async (server, epoch) => {
      const chat = connect("lobby", {
        name: "cat",
        after: 1,
        epoch,
        transport,
        baseUrl: server.origin,
      });
      try {
        const resynced = new Promise<Message[]>((resolve) => chat.on("resync", resolve));
        assert.deepEqual(seqsOf(await resynced), [8, 9, 10, 11, 12]);
        assert.equal(chat.last, 12);
        const fresh = new Promise<Message[]>((resolve) => chat.on("messages", resolve));
        chat.send("after the resync");
        assert.deepEqual((await fresh).map((message) => [message.seq, message.text]), [
          [13, "after the resync"],
        ]);
      } finally {
        chat.close();
      }
    });
  });
}
