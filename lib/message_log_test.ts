import assert from "node:assert/strict";
import { ParleyError } from "./errors.ts";
import { type AppendResult, MessageLog } from "./message_log.ts";
import { roomKey } from "./keys.ts";
import { openKv } from "./open_kv.ts";
import type { Message, NewMessage } from "./types.ts";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

function seqs(messages: Message[]): number[] {
  return messages.map((message) => message.seq);
}

function note(i: number, id?: string): NewMessage {
  return id === undefined
    ? { author: "ada", text: `note ${i}` }
    : { id, author: "ada", text: `note ${i}` };
}

async function withLog(
  fn: (log: MessageLog, kv: Deno.Kv) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(new MessageLog(kv), kv);
  } finally {
    kv.close();
  }
}

function isParleyError(code: string, status: number) {
  return (error: unknown) => {
    assert.ok(error instanceof ParleyError, `expected a ParleyError, got ${error}`);
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    return true;
  };
}

Deno.test("MessageLog.append - 200 concurrent appends to one room get dense seqs 1..200", async () => {
  await withLog(async (log) => {
    await log.createRoom("lobby", "Lobby");
    const before = Date.now();
    const results = await Promise.all(
      range(1, 200).map((i) => log.append("lobby", note(i, i % 2 === 0 ? `c${i}` : undefined))),
    );
    const after = Date.now();

    assert.equal(results.length, 200);
    for (const result of results) assert.equal(result.created, true);
    const resultSeqs = results.map((result) => result.message.seq);
    assert.deepEqual([...resultSeqs].sort((a, b) => a - b), range(1, 200));
    assert.equal(new Set(resultSeqs).size, 200);
    // One log appends in arrival order: the i-th call gets seq i.
    assert.deepEqual(resultSeqs, range(1, 200));

    const stored = await log.readAfter("lobby", 0, 500);
    assert.deepEqual(seqs(stored), range(1, 200));
    assert.deepEqual(stored, results.map((result) => result.message));
    for (const message of stored) {
      assert.equal(message.room, "lobby");
      assert.equal(message.text, `note ${message.seq}`);
      assert.ok(message.at >= before && message.at <= after, `at ${message.at} is out of range`);
    }
    // Server-made ids are unique; client ids are kept as given.
    assert.equal(new Set(stored.map((message) => message.id)).size, 200);
    assert.equal(stored[1].id, "c2");

    const room = await log.getRoom("lobby");
    assert.equal(room?.head, 200);
    assert.equal(room?.lastAt, stored[199].at);
    assert.equal(log.stats.appended, 200);
  });
});

Deno.test("MessageLog.append - group commit batches 200 concurrent appends into few commits", async () => {
  await withLog(async (log) => {
    await log.createRoom("lobby", "Lobby");
    const results = await Promise.all(range(1, 200).map((i) => log.append("lobby", note(i))));
    assert.ok(results.every((result) => result.created));
    // The first append starts a commit on its own; the others queue behind it and go into the
    // next. With one log on the store nothing can conflict: 2 commits.
    assert.ok(log.stats.commits <= 2, `${log.stats.commits} commits, expected at most 2`);
    assert.equal(log.stats.conflicts, 0);
    assert.equal(log.stats.appended, 200);
  });
});

Deno.test("MessageLog.append - one commit carries the messages of many rooms", async () => {
  await withLog(async (log) => {
    const rooms = range(1, 150).map((i) => `room-${i}`);
    for (const room of rooms) await log.createRoom(room, room);
    await log.append(rooms[0], note(0));
    const before = log.stats.commits;
    const results = await Promise.all(rooms.map((room, i) => log.append(room, note(i + 1))));
    assert.ok(results.every(({ created }) => created));
    assert.deepEqual(
      results.map(({ message }) => message.seq),
      rooms.map((_, i) => i === 0 ? 2 : 1),
    );
    // At most the first commits alone; the others queue behind it and share one commit. With
    // ten rooms per commit this would take 15.
    assert.ok(log.stats.commits - before <= 2, `${log.stats.commits - before} commits`);
  });
});

Deno.test("MessageLog.append - a head another handle moved is read again, not reused", async () => {
  const path = await Deno.makeTempFile({ suffix: ".kv" });
  const kvs = [await openKv(path), await openKv(path)];
  try {
    const [first, second] = kvs.map((kv) => new MessageLog(kv));
    await first.createRoom("lobby", "Lobby");
    await first.append("lobby", note(1));
    assert.equal((await second.append("lobby", note(2))).message.seq, 2);
    // The first log's cached head (1) is stale now: its commit must fail its check and retry.
    assert.equal((await first.append("lobby", note(3))).message.seq, 3);
    assert.equal(first.stats.conflicts, 1);
    assert.deepEqual(seqs(await first.readAfter("lobby", 0, 10)), [1, 2, 3]);
  } finally {
    for (const kv of kvs) kv.close();
    await Deno.remove(path);
  }
});

Deno.test("MessageLog.roomExists - false for a room never created, true once it is", async () => {
  await withLog(async (log) => {
    assert.equal(await log.roomExists("lobby"), false);
    await log.createRoom("lobby", "Lobby");
    assert.equal(await log.roomExists("lobby"), true);
    assert.equal(await log.roomExists("lobby"), true);
    assert.equal(await log.roomExists("other"), false);
  });
});

Deno.test("MessageLog.append - sequential appends commit one by one", async () => {
  await withLog(async (log) => {
    await log.createRoom("lobby", "Lobby");
    // Sequential awaits leave nothing to batch: one commit per message.
    for (const i of range(1, 5)) await log.append("lobby", note(i));
    assert.equal(log.stats.commits, 5);
    assert.deepEqual(seqs(await log.readAfter("lobby", 0, 10)), range(1, 5));
  });
});

Deno.test("MessageLog.append - two logs on one store (two workers) keep seqs dense under contention", async () => {
  await withLog(async (first, kv) => {
    const second = new MessageLog(kv);
    await first.createRoom("lobby", "Lobby");
    const n = 120;
    const calls: Promise<AppendResult>[] = [];
    // Several waves, so both workers keep committing while the other's commits land.
    for (let wave = 0; wave < 6; wave++) {
      for (let i = 0; i < n / 12; i++) {
        const k = calls.length;
        calls.push(first.append("lobby", note(k, `a${k}`)));
        calls.push(second.append("lobby", note(k + 1, `b${k + 1}`)));
      }
      await sleep(0);
    }
    const results = await Promise.all(calls);

    assert.equal(results.length, n);
    assert.ok(results.every((result) => result.created));
    const resultSeqs = results.map((result) => result.message.seq);
    assert.deepEqual([...resultSeqs].sort((a, b) => a - b), range(1, n));

    const stored = await first.readAfter("lobby", 0, 500);
    assert.deepEqual(seqs(stored), range(1, n));
    assert.equal(new Set(stored.map((message) => message.id)).size, n);
    assert.equal((await first.getRoom("lobby"))?.head, n);

    const stats = [first.stats, second.stats];
    assert.equal(stats[0].appended + stats[1].appended, n);
    assert.ok(stats[0].appended > 0 && stats[1].appended > 0);
    // Both workers raced for the same head, so some commits lost and were retried.
    assert.ok(stats[0].conflicts + stats[1].conflicts > 0, "expected at least one conflict");
  });
});

Deno.test("MessageLog.append - a repeated client id returns the stored message and stores once", async () => {
  await withLog(async (log) => {
    await log.createRoom("lobby", "Lobby");
    const first = await log.append("lobby", { id: "msg-1", author: "ada", text: "hello" });
    const again = await log.append("lobby", { id: "msg-1", author: "bob", text: "changed" });

    assert.equal(first.created, true);
    assert.equal(again.created, false);
    assert.deepEqual(again.message, first.message);
    assert.equal(again.message.text, "hello");
    assert.equal(again.message.author, "ada");

    const stored = await log.readAfter("lobby", 0, 10);
    assert.deepEqual(stored, [first.message]);
    assert.equal((await log.getRoom("lobby"))?.head, 1);
    assert.equal(log.stats.appended, 1);

    // The next new message continues right after it.
    const next = await log.append("lobby", { id: "msg-2", author: "ada", text: "more" });
    assert.equal(next.created, true);
    assert.equal(next.message.seq, 2);
  });
});

Deno.test("MessageLog.append - a client id another author stored under is refused with id_taken", async () => {
  await withLog(async (log) => {
    await log.createRoom("lobby", "Lobby");
    const ada = { author: "ada", authorId: "ada-id" };
    const first = await log.append("lobby", { id: "msg-1", ...ada, text: "hello" });
    const [again, other] = await Promise.allSettled([
      log.append("lobby", { id: "msg-1", ...ada, text: "hello" }),
      log.append("lobby", { id: "msg-1", author: "ada", authorId: "bob-id", text: "mine" }),
    ]);
    assert.deepEqual(again, {
      status: "fulfilled",
      value: { message: first.message, created: false },
    });
    assert.equal(other.status, "rejected");
    assert.ok(other.reason instanceof ParleyError);
    assert.equal(other.reason.status, 409);
    assert.equal(other.reason.code, "id_taken");
    assert.deepEqual(await log.readAfter("lobby", 0, 10), [first.message]);
  });
});

Deno.test("MessageLog.append - the same name and text under a taken id from a new session is a repeat", async () => {
  await withLog(async (log) => {
    await log.createRoom("lobby", "Lobby");
    const first = await log.append("lobby", {
      id: "m-1",
      author: "bot",
      authorId: "old",
      text: "hi",
    });
    // The bot restarted without its token: a new session, the same send.
    const again = await log.append("lobby", {
      id: "m-1",
      author: "bot",
      authorId: "new",
      text: "hi",
    });
    assert.deepEqual(again, { message: first.message, created: false });
    // Another name, or another text, is someone else's.
    for (const input of [{ author: "bott", text: "hi" }, { author: "bot", text: "hi!" }]) {
      await assert.rejects(
        log.append("lobby", { id: "m-1", authorId: "new", ...input }),
        (error: ParleyError) => error.code === "id_taken",
      );
    }
  });
});

Deno.test("MessageLog.append - two authors sending one new id in one commit: one is stored, one refused", async () => {
  await withLog(async (log) => {
    await log.createRoom("lobby", "Lobby");
    const outcomes = await Promise.allSettled([
      log.append("lobby", { id: "race", author: "ann", authorId: "ann-id", text: "ann's" }),
      log.append("lobby", { id: "race", author: "bob", authorId: "bob-id", text: "bob's" }),
    ]);
    const stored = outcomes.flatMap((o) => o.status === "fulfilled" ? [o.value] : []);
    const refused = outcomes.flatMap((o) => o.status === "rejected" ? [o.reason] : []);
    assert.equal(stored.length, 1);
    assert.equal(stored[0].created, true);
    assert.deepEqual(refused.map((error: ParleyError) => error.code), ["id_taken"]);
    assert.deepEqual(await log.readAfter("lobby", 0, 10), [stored[0].message]);
  });
});

Deno.test("MessageLog.append - a client id repeated within one concurrent batch stores once", async () => {
  await withLog(async (log) => {
    await log.createRoom("lobby", "Lobby");
    // The first append commits alone; the other four queue behind it and share one batch.
    const [filler, one, two, other, three] = await Promise.all([
      log.append("lobby", { author: "ada", text: "filler" }),
      log.append("lobby", { id: "dup", author: "ada", text: "one" }),
      log.append("lobby", { id: "dup", author: "ada", text: "two" }),
      log.append("lobby", { id: "other", author: "ada", text: "other" }),
      log.append("lobby", { id: "dup", author: "ada", text: "three" }),
    ]);

    assert.equal(filler.created, true);
    assert.equal(one.created, true);
    assert.equal(two.created, false);
    assert.equal(three.created, false);
    assert.equal(other.created, true);
    assert.deepEqual(two.message, one.message);
    assert.deepEqual(three.message, one.message);
    assert.equal(one.message.text, "one");

    const stored = await log.readAfter("lobby", 0, 10);
    assert.deepEqual(seqs(stored), [1, 2, 3]);
    assert.deepEqual(stored.map((message) => message.text), ["filler", "one", "other"]);
    assert.equal(log.stats.appended, 3);
    assert.equal(log.stats.commits, 2);
  });
});

Deno.test("MessageLog.append - a client id sent again while its first commit writes stores once", async () => {
  await withLog(async (log) => {
    await log.createRoom("lobby", "Lobby");
    for (let round = 0; round < 5; round++) {
      const id = `again-${round}`;
      // The first commit takes the first send alone; the next 70 queue while it writes and go
      // into the next commit, which must know the first one's id from its result.
      const [first, second] = await Promise.all([
        log.append("lobby", { id, author: "ada", text: "once" }),
        log.append("lobby", { id, author: "ada", text: "twice" }),
        ...range(1, 69).map((i) => log.append("lobby", note(i, `${id}-${i}`))),
      ]);
      assert.equal(first.created, true);
      assert.equal(second.created, false);
      assert.deepEqual(second.message, first.message);
    }
    const stored = await log.readAfter("lobby", 0, 500);
    assert.deepEqual(seqs(stored), range(1, 5 * 70));
    assert.equal(stored.filter(({ text }) => text === "twice").length, 0);
  });
});

Deno.test("MessageLog.append - a busy room keeps the order its messages arrived in", async () => {
  await withLog(async (log) => {
    await log.createRoom("lobby", "Lobby");
    const results: AppendResult[] = [];
    // Waves of appends, so the room's messages queue while earlier commits write.
    for (let wave = 0; wave < 10; wave++) {
      const calls = range(1, 30).map((i) => log.append("lobby", note(wave * 30 + i)));
      if (wave % 3 === 2) results.push(...await Promise.all(calls));
      else calls.forEach((call) => call.then((result) => results.push(result)));
      await sleep(0);
    }
    while (results.length < 300) await sleep(5);
    const stored = await log.readAfter("lobby", 0, 500);
    assert.deepEqual(seqs(stored), range(1, 300));
    assert.deepEqual(stored.map(({ text }) => text), range(1, 300).map((i) => `note ${i}`));
  });
});

Deno.test("MessageLog.append - the same client id from two workers at once stores once", async () => {
  await withLog(async (first, kv) => {
    const second = new MessageLog(kv);
    await first.createRoom("lobby", "Lobby");
    const results = await Promise.all([
      first.append("lobby", { id: "same", author: "ada", text: "from first" }),
      second.append("lobby", { id: "same", author: "ada", text: "from second" }),
      first.append("lobby", { id: "x1", author: "ada", text: "x1" }),
      second.append("lobby", { id: "same", author: "ada", text: "again" }),
      second.append("lobby", { id: "x2", author: "ada", text: "x2" }),
    ]);
    const same = [results[0], results[1], results[3]];
    assert.equal(same.filter((result) => result.created).length, 1);
    for (const result of same) assert.deepEqual(result.message, same[0].message);

    const stored = await first.readAfter("lobby", 0, 10);
    assert.deepEqual(seqs(stored), [1, 2, 3]);
    assert.equal(stored.filter((message) => message.id === "same").length, 1);
    assert.deepEqual(stored.map((message) => message.id).sort(), ["same", "x1", "x2"]);
  });
});

Deno.test("MessageLog.append - the same client id in two rooms stores two messages", async () => {
  await withLog(async (log) => {
    await log.createRoom("a", "A");
    await log.createRoom("b", "B");
    const [inA, inB] = await Promise.all([
      log.append("a", { id: "shared", author: "ada", text: "in a" }),
      log.append("b", { id: "shared", author: "ada", text: "in b" }),
    ]);
    assert.equal(inA.created, true);
    assert.equal(inB.created, true);
    assert.equal(inA.message.seq, 1);
    assert.equal(inB.message.seq, 1);
    assert.equal(inA.message.room, "a");
    assert.equal(inB.message.room, "b");

    const againInB = await log.append("b", { id: "shared", author: "ada", text: "b again" });
    assert.equal(againInB.created, false);
    assert.deepEqual(againInB.message, inB.message);

    assert.deepEqual((await log.readAfter("a", 0, 10)).map((m) => m.text), ["in a"]);
    assert.deepEqual((await log.readAfter("b", 0, 10)).map((m) => m.text), ["in b"]);
  });
});

Deno.test("MessageLog.readAfter - rooms are isolated", async () => {
  await withLog(async (log) => {
    await log.createRoom("a", "A");
    await log.createRoom("b", "B");
    // "a-1" sorts right after "a" and shares its first letter: a prefix bug would leak it.
    await log.createRoom("a-1", "A-1");
    await Promise.all([
      ...range(1, 30).map((i) => log.append("a", { author: "ada", text: `a${i}` })),
      ...range(1, 20).map((i) => log.append("b", { author: "bob", text: `b${i}` })),
      ...range(1, 10).map((i) => log.append("a-1", { author: "cy", text: `a-1 ${i}` })),
    ]);

    const inA = await log.readAfter("a", 0, 500);
    const inB = await log.readAfter("b", 0, 500);
    const inA1 = await log.readAfter("a-1", 0, 500);
    assert.deepEqual(seqs(inA), range(1, 30));
    assert.deepEqual(seqs(inB), range(1, 20));
    assert.deepEqual(seqs(inA1), range(1, 10));
    assert.ok(inA.every((m) => m.room === "a" && /^a\d+$/.test(m.text)));
    assert.ok(inB.every((m) => m.room === "b" && m.text.startsWith("b")));
    assert.ok(inA1.every((m) => m.room === "a-1" && m.text.startsWith("a-1 ")));

    assert.deepEqual(seqs(await log.readLatest("b", { limit: 100 })), range(1, 20));
    assert.deepEqual(seqs(await log.readLatest("a", { limit: 100, before: 31 })), range(1, 30));
    assert.equal((await log.getRoom("a"))?.head, 30);
    assert.equal((await log.getRoom("b"))?.head, 20);
    assert.deepEqual(await log.readAfter("c", 0, 500), []);
  });
});

Deno.test("MessageLog.append - a missing room rejects with room_not_found 404", async () => {
  await withLog(async (log) => {
    await assert.rejects(
      log.append("ghost", { author: "ada", text: "anyone?" }),
      isParleyError("room_not_found", 404),
    );
    // Every append of a batch is rejected, and nothing is created on the way.
    const batch = await Promise.allSettled(
      range(1, 5).map((i) => log.append("ghost", note(i, `g${i}`))),
    );
    for (const outcome of batch) {
      assert.equal(outcome.status, "rejected");
      if (outcome.status === "rejected") isParleyError("room_not_found", 404)(outcome.reason);
    }
    assert.equal(await log.getRoom("ghost"), null);
    assert.deepEqual(await log.readAfter("ghost", 0, 10), []);
    assert.equal(log.stats.appended, 0);

    // Once the room exists, appends work and start from seq 1.
    await log.createRoom("ghost", "Ghost");
    const result = await log.append("ghost", note(1, "g1"));
    assert.equal(result.created, true);
    assert.equal(result.message.seq, 1);
  });
});

Deno.test("MessageLog.createRoom - is idempotent and keeps the first room", async () => {
  await withLog(async (log) => {
    const first = await log.createRoom("lobby", "Lobby");
    assert.equal(first.created, true);
    assert.equal(first.room.id, "lobby");
    assert.equal(first.room.title, "Lobby");
    assert.equal(first.room.head, 0);
    assert.equal(first.room.lastAt, null);

    await sleep(2);
    const second = await log.createRoom("lobby", "Another title");
    assert.equal(second.created, false);
    assert.deepEqual(second.room, first.room);
    assert.deepEqual(await log.getRoom("lobby"), first.room);

    // It does not reset a room that has messages.
    await log.append("lobby", note(1));
    const third = await log.createRoom("lobby", "Lobby");
    assert.equal(third.created, false);
    assert.equal(third.room.head, 1);
    assert.equal((await log.listRooms()).length, 1);
  });
});

Deno.test("MessageLog.createRoom - concurrent creates of one room create it once", async () => {
  await withLog(async (log) => {
    const results = await Promise.all(range(1, 5).map((i) => log.createRoom("lobby", `T${i}`)));
    assert.equal(results.filter((result) => result.created).length, 1);
    const winner = results.find((result) => result.created);
    for (const result of results) assert.deepEqual(result.room, winner?.room);
  });
});

Deno.test("MessageLog.listRooms - sorts by newest activity first", async () => {
  await withLog(async (log) => {
    assert.deepEqual(await log.listRooms(), []);
    await log.createRoom("old", "Old");
    await sleep(5);
    await log.createRoom("middle", "Middle");
    await sleep(5);
    await log.createRoom("new", "New");
    const ids = async () => (await log.listRooms()).map((room) => room.id);
    assert.deepEqual(await ids(), ["new", "middle", "old"]);

    await sleep(5);
    await log.append("old", note(1));
    assert.deepEqual(await ids(), ["old", "new", "middle"]);

    await sleep(5);
    await log.append("middle", note(2));
    assert.deepEqual(await ids(), ["middle", "old", "new"]);

    const rooms = await log.listRooms();
    assert.deepEqual(rooms.map((room) => room.head), [1, 1, 0]);
    assert.deepEqual(rooms.map((room) => room.title), ["Middle", "Old", "New"]);
  });
});

Deno.test("MessageLog.readLatest - pages back with limit and before, oldest first", async () => {
  await withLog(async (log) => {
    await log.createRoom("lobby", "Lobby");
    assert.deepEqual(await log.readLatest("lobby", { limit: 10 }), []);
    await Promise.all(range(1, 25).map((i) => log.append("lobby", note(i))));

    const latest = await log.readLatest("lobby", { limit: 10 });
    assert.deepEqual(seqs(latest), range(16, 25));
    assert.deepEqual(latest.map((m) => m.text), range(16, 25).map((i) => `note ${i}`));

    const page2 = await log.readLatest("lobby", { limit: 10, before: latest[0].seq });
    assert.deepEqual(seqs(page2), range(6, 15));
    const page3 = await log.readLatest("lobby", { limit: 10, before: page2[0].seq });
    assert.deepEqual(seqs(page3), range(1, 5));
    assert.deepEqual(await log.readLatest("lobby", { limit: 10, before: 1 }), []);

    assert.deepEqual(seqs(await log.readLatest("lobby", { limit: 100 })), range(1, 25));
    assert.deepEqual(seqs(await log.readLatest("lobby", { limit: 3, before: 100 })), [23, 24, 25]);
    assert.deepEqual(seqs(await log.readLatest("lobby", { limit: 1, before: 25 })), [24]);
  });
});

Deno.test("MessageLog.readAfter - reads from a cursor up to a limit, oldest first", async () => {
  await withLog(async (log) => {
    await log.createRoom("lobby", "Lobby");
    await Promise.all(range(1, 25).map((i) => log.append("lobby", note(i))));
    assert.deepEqual(seqs(await log.readAfter("lobby", 10, 5)), range(11, 15));
    assert.deepEqual(seqs(await log.readAfter("lobby", 20, 500)), range(21, 25));
    assert.deepEqual(await log.readAfter("lobby", 25, 500), []);
    assert.deepEqual(await log.readAfter("lobby", 999, 500), []);
  });
});

Deno.test("MessageLog - reopening the KV file keeps rooms, messages and client ids", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley_log_test_" });
  const path = `${dir}/parley.kv`;
  try {
    let kv = await openKv(path);
    let log = new MessageLog(kv);
    await log.createRoom("a", "Room A");
    await sleep(3);
    await log.createRoom("b", "Room B");
    const written = await Promise.all(range(1, 30).map((i) => log.append("a", note(i, `id${i}`))));
    await log.append("b", { author: "bob", text: "hello b" });
    const roomsBefore = await log.listRooms();
    kv.close();

    kv = await openKv(path);
    log = new MessageLog(kv);
    try {
      assert.deepEqual(await log.listRooms(), roomsBefore);
      assert.equal((await log.getRoom("a"))?.head, 30);
      assert.equal((await log.getRoom("a"))?.title, "Room A");
      assert.deepEqual(await log.readAfter("a", 0, 500), written.map((r) => r.message));
      assert.deepEqual((await log.readAfter("b", 0, 500)).map((m) => m.text), ["hello b"]);

      // Client ids are recognised from the stored messages, and new appends continue the sequence.
      const repeat = await log.append("a", note(7, "id7"));
      assert.equal(repeat.created, false);
      assert.deepEqual(repeat.message, written[6].message);
      const next = await log.append("a", note(31, "id31"));
      assert.equal(next.created, true);
      assert.equal(next.message.seq, 31);
    } finally {
      kv.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openKv - creates a missing parent folder for a file path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley_open_kv_test_" });
  const folder = `${dir}/nested/deeper`;
  const path = `${folder}/parley.kv`;
  try {
    await assert.rejects(Deno.stat(folder), Deno.errors.NotFound);
    const kv = await openKv(path);
    try {
      assert.equal((await Deno.stat(folder)).isDirectory, true);
      await kv.set(["probe"], 42);
      assert.equal((await kv.get<number>(["probe"])).value, 42);
    } finally {
      kv.close();
    }
    assert.equal((await Deno.stat(path)).isFile, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openKv - opens :memory: without touching the file system", async () => {
  const kv = await openKv(":memory:");
  try {
    await kv.set(["probe"], "ok");
    assert.equal((await kv.get<string>(["probe"])).value, "ok");
  } finally {
    kv.close();
  }
  await assert.rejects(Deno.stat(":memory:"), Deno.errors.NotFound);
});

Deno.test("MessageLog.append - retention keeps the newest messages and deletes the rest in the same commits", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const log = new MessageLog(kv, { historyLimit: 5 });
    await log.createRoom("lobby", "Lobby");
    for (let i = 1; i <= 7; i++) {
      await log.append("lobby", note(i));
      const kept = await log.readLatest("lobby", { limit: 100 });
      assert.deepEqual(seqs(kept), range(Math.max(1, i - 4), i));
    }
    await Promise.all(range(8, 40).map((i) => log.append("lobby", note(i))));
    assert.deepEqual(seqs(await log.readLatest("lobby", { limit: 100 })), range(36, 40));
    const room = await log.getRoom("lobby");
    assert.equal(room?.head, 40);
    assert.equal(room?.trimmed, 35);
  } finally {
    kv.close();
  }
});

for (const sharedLog of [true, false]) {
  Deno.test(`MessageLog.readAfter - a cursor retention passed is history_trimmed, never a gap (shared log ${sharedLog ? "on" : "off"})`, async () => {
    const kv = await Deno.openKv(":memory:");
    try {
      const log = new MessageLog(kv, { historyLimit: 5, sharedLog });
      await log.createRoom("lobby", "Lobby");
      for (let i = 1; i <= 12; i++) await log.append("lobby", note(i));
      // Seqs 1-7 are gone: a cursor at 7 or later still reads on, one before it does not.
      assert.deepEqual(seqs(await log.readAfter("lobby", 7, 100)), range(8, 12));
      assert.deepEqual(seqs(await log.readAfter("lobby", 12, 100)), []);
      for (const after of [0, 3, 6]) {
        await assert.rejects(log.readAfter("lobby", after, 100), (error: unknown) => {
          assert.ok(error instanceof ParleyError);
          assert.equal(error.code, "history_trimmed");
          assert.equal(
            error.message,
            `Room "lobby" no longer keeps the messages after seq ${after}`,
          );
          return true;
        });
      }
      // What is kept reads from the newest end.
      assert.deepEqual(seqs(await log.readLatest("lobby", { limit: 100 })), range(8, 12));
    } finally {
      kv.close();
    }
  });
}

Deno.test("MessageLog.createRoom - gives every room its own epoch", async () => {
  await withLog(async (log) => {
    const a = (await log.createRoom("a", "A")).room;
    const b = (await log.createRoom("b", "B")).room;
    assert.match(a.epoch, /^[0-9a-f]{8}$/);
    assert.notEqual(a.epoch, b.epoch);
    assert.equal((await log.createRoom("a", "Again")).room.epoch, a.epoch);
  });
});

Deno.test("MessageLog.append - two handles on one KV file retry a locked database instead of failing", async () => {
  const dir = await Deno.makeTempDir();
  const first = await Deno.openKv(`${dir}/parley.kv`);
  const second = await Deno.openKv(`${dir}/parley.kv`);
  try {
    const logs = [new MessageLog(first), new MessageLog(second)];
    await logs[0].createRoom("lobby", "Lobby");
    const results = await Promise.all(
      range(1, 2000).map((i) => logs[i % 2].append("lobby", note(i))),
    );
    assert.ok(results.every((result) => result.created));
    assert.deepEqual(seqs(await logs[0].readAfter("lobby", 0, 5000)), range(1, 2000));
  } finally {
    first.close();
    second.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MessageLog.append - one commit carries the queued messages of several rooms", async () => {
  await withLog(async (log) => {
    const rooms = range(1, 10).map((i) => `room-${i}`);
    for (const room of rooms) await log.createRoom(room, room);
    const before = log.stats.commits;
    await Promise.all(
      range(1, 200).map((i) => log.append(rooms[i % 10], note(i, `id-${i}`))),
    );
    assert.ok(log.stats.commits - before <= 4, `${log.stats.commits - before} commits`);
    for (const room of rooms) {
      assert.deepEqual(seqs(await log.readAfter(room, 0, 100)), range(1, 20));
    }
  });
});

Deno.test("MessageLog.findStoredSince - finds ids among messages stored since a time, and no older", async () => {
  await withLog(async (log) => {
    await log.createRoom("lobby", "Lobby");
    await log.append("lobby", note(1, "early"));
    await sleep(20);
    const since = Date.now();
    const late = await log.append("lobby", note(2, "late"));
    await log.append("lobby", note(3, "other"));
    const found = await log.findStoredSince("lobby", new Set(["early", "late", "absent"]), since);
    assert.deepEqual([...found], [["late", late.message]]);
  });
});

Deno.test("MessageLog.readAfter - a room recorded before trimmed existed honours the cursor", async () => {
  await withLog(async (log, kv) => {
    await log.createRoom("old", "Old");
    for (let i = 1; i <= 3; i++) await log.append("old", note(i));
    // The record as a version before epochs and retention wrote it: no epoch, no trimmed.
    const { value } = await kv.get<Record<string, unknown>>(roomKey("old"));
    const { epoch: _epoch, trimmed: _trimmed, ...legacy } = value!;
    await kv.set(roomKey("old"), legacy);
    assert.deepEqual(seqs(await log.readAfter("old", 2, 10)), [3]);
    assert.deepEqual(seqs(await log.readAfter("old", 3, 10)), []);
    assert.deepEqual(seqs(await log.readLatest("old", { limit: 10 })), [1, 2, 3]);
    // Listed as holding its three messages (the directory counts head − trimmed).
    assert.equal((await log.getRoom("old"))?.trimmed, 0);
    assert.equal((await log.listRooms())[0].trimmed, 0);
  });
});

for (const [shape, trimmed] of [["no trimmed", undefined], ["trimmed stored as null", null]]) {
  Deno.test(`MessageLog.append - a room recorded with ${shape} takes sends with ids, beside other rooms`, async () => {
    await withLog(async (log, kv) => {
      await log.createRoom("old", "Old");
      await log.createRoom("lobby", "Lobby");
      for (let i = 1; i <= 3; i++) await log.append("old", note(i, `old-${i}`));
      // The record as a version before epochs and retention wrote it.
      const { value } = await kv.get<Record<string, unknown>>(roomKey("old"));
      const { epoch: _epoch, trimmed: _trimmed, ...legacy } = value!;
      await kv.set(roomKey("old"), trimmed === undefined ? legacy : { ...legacy, trimmed });
      // A new committer, which reads the record from the store: the two rooms commit together.
      const fresh = new MessageLog(kv);
      const [old, again, lobby] = await Promise.all([
        fresh.append("old", note(4, "old-4")),
        fresh.append("old", note(2, "old-2")),
        fresh.append("lobby", note(1, "lobby-1")),
      ]);
      assert.deepEqual([old.message.seq, old.created], [4, true]);
      assert.deepEqual([again.message.seq, again.created], [2, false]);
      assert.deepEqual([lobby.message.seq, lobby.created], [1, true]);
      assert.equal((await fresh.getRoom("old"))?.trimmed, 0);
    });
  });
}
