/**
 * Where messages are stored (see `lib/keys.ts`): a room's few messages wait in shared log values,
 * move to the room's own keys once there are several or they are old, and read back the same
 * wherever they are.
 *
 * @module
 */
import assert from "node:assert/strict";
import { FLUSH_AGE, FLUSH_AT, MAX_LIVE_LOGS } from "./commit_plan.ts";
import { LOG_PREFIX, messagesPrefix, roomKey } from "./keys.ts";
import { MessageLog } from "./message_log.ts";
import { emptyRoom } from "../tests/empty_room.ts";
import { withConsoleErrors } from "../tests/console_errors.ts";
import { replacing } from "../tests/replacing_kv.ts";
import type { Message, StoredRoom } from "./types.ts";

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

function seqs(messages: Message[]): number[] {
  return messages.map((message) => message.seq);
}

/** The seqs of `room` stored under its own keys. */
async function keyed(kv: Deno.Kv, room: string): Promise<number[]> {
  const found: number[] = [];
  for await (const { value } of kv.list<Message>({ prefix: messagesPrefix(room) })) {
    found.push(value.seq);
  }
  return found;
}

/** The live log values: their numbers, and the seqs each holds by room. */
async function logValues(kv: Deno.Kv): Promise<Map<number, Record<string, number[]>>> {
  const values = new Map<number, Record<string, number[]>>();
  for await (const { key, value } of kv.list<Message[]>({ prefix: LOG_PREFIX })) {
    const rooms: Record<string, number[]> = {};
    for (const message of value) (rooms[message.room] ??= []).push(message.seq);
    values.set(key[1] as number, rooms);
  }
  return values;
}

async function logged(kv: Deno.Kv, room: string): Promise<number[] | undefined> {
  return (await kv.get<StoredRoom>(roomKey(room))).value?.logged;
}

async function appendOneByOne(log: MessageLog, room: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await log.append(room, { author: "ada", text: `${room} ${i}` });
}

async function withKv(fn: (kv: Deno.Kv) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(kv);
  } finally {
    kv.close();
  }
}

Deno.test("MessageLog storage - a room's first few messages wait in log values and read back in order", async () => {
  await withKv(async (kv) => {
    const log = new MessageLog(kv);
    await log.createRoom("quiet", "Quiet");
    await appendOneByOne(log, "quiet", 3);
    assert.deepEqual(await keyed(kv, "quiet"), []);
    assert.deepEqual(await logged(kv, "quiet"), [1, 2, 3]);
    assert.deepEqual(seqs(await log.readAfter("quiet", 0, 100)), [1, 2, 3]);
    assert.deepEqual(seqs(await log.readAfter("quiet", 1, 1)), [2]);
    assert.deepEqual(seqs(await log.readLatest("quiet", { limit: 2 })), [2, 3]);
    assert.deepEqual(seqs(await log.readLatest("quiet", { limit: 5, before: 3 })), [1, 2]);
    assert.deepEqual((await log.getRoom("quiet"))?.head, 3);
    assert.equal("logged" in (await log.getRoom("quiet"))!, false, "storage stays internal");
  });
});

Deno.test(`MessageLog storage - at ${FLUSH_AT} held messages a room moves them to its keys and the log values go`, async () => {
  await withKv(async (kv) => {
    const log = new MessageLog(kv);
    await log.createRoom("quiet", "Quiet");
    await appendOneByOne(log, "quiet", FLUSH_AT - 1);
    assert.equal((await logValues(kv)).size, FLUSH_AT - 1);
    await log.append("quiet", { author: "ada", text: "one more" });
    assert.deepEqual(await keyed(kv, "quiet"), range(1, FLUSH_AT));
    assert.equal(await logged(kv, "quiet"), undefined);
    assert.deepEqual(await logValues(kv), new Map());
    assert.deepEqual(seqs(await log.readAfter("quiet", 0, 100)), range(1, FLUSH_AT));
  });
});

Deno.test("MessageLog storage - many rooms' messages in one commit share one log value", async () => {
  await withKv(async (kv) => {
    const log = new MessageLog(kv);
    const rooms = range(1, 40).map((i) => `room-${i}`);
    for (const room of rooms) await log.createRoom(room, room);
    const commits = log.stats.commits;
    await Promise.all(rooms.map((room) => log.append(room, { author: "ada", text: room })));
    const values = await logValues(kv);
    assert.equal(values.size, log.stats.commits - commits);
    assert.ok(values.size < 10, `${values.size} log values for one burst`);
    for (const room of rooms) {
      assert.deepEqual(await keyed(kv, room), []);
      assert.deepEqual(seqs(await log.readAfter(room, 0, 10)), [1], room);
    }
  });
});

Deno.test("MessageLog storage - a busy room's burst goes under its keys at once, after what it held", async () => {
  await withKv(async (kv) => {
    const log = new MessageLog(kv);
    await log.createRoom("busy", "Busy");
    await appendOneByOne(log, "busy", 2);
    await Promise.all(range(3, 30).map((i) => log.append("busy", { author: "ada", text: `${i}` })));
    assert.deepEqual(await keyed(kv, "busy"), range(1, 30));
    assert.deepEqual(await logValues(kv), new Map());
    assert.deepEqual(seqs(await log.readAfter("busy", 0, 100)), range(1, 30));
  });
});

Deno.test(`MessageLog storage - a room quiet for ${FLUSH_AGE} commits has its held messages moved`, async () => {
  await withKv(async (kv) => {
    const log = new MessageLog(kv);
    await log.createRoom("quiet", "Quiet");
    await log.createRoom("chatty", "Chatty");
    await appendOneByOne(log, "quiet", 2);
    // Chatty's messages go one per commit, and it moves its own every FLUSH_AT of them.
    await appendOneByOne(log, "chatty", FLUSH_AGE);
    assert.deepEqual(await keyed(kv, "quiet"), [1, 2]);
    assert.equal(await logged(kv, "quiet"), undefined);
    const values = await logValues(kv);
    assert.ok(
      [...values.values()].every((rooms) => !("quiet" in rooms)),
      "no log value holds quiet's messages",
    );
    assert.ok(values.size < FLUSH_AT, `${values.size} log values live`);
    assert.deepEqual(seqs(await log.readAfter("chatty", 0, 100)), range(1, FLUSH_AGE));
  });
});

Deno.test("MessageLog storage - a room with new messages and old held ones is one room in its commit", async () => {
  await withKv(async (kv) => {
    const log = new MessageLog(kv);
    await log.createRoom("quiet", "Quiet");
    await log.createRoom("chatty", "Chatty");
    for (const id of ["q-1", "q-2"]) await log.append("quiet", { id, author: "ada", text: id });
    // Quiet's held messages (commits 1 and 2) are FLUSH_AGE commits old at the next commit, which
    // takes quiet from the queue as well: a retry of its first message and a new one.
    await appendOneByOne(log, "chatty", FLUSH_AGE - 2);
    const [retry, fresh] = await Promise.all([
      log.append("quiet", { id: "q-1", author: "ada", text: "q-1" }),
      log.append("quiet", { id: "q-3", author: "ada", text: "q-3" }),
    ]);
    assert.deepEqual([retry.message.seq, retry.created], [1, false]);
    assert.deepEqual([fresh.message.seq, fresh.created], [3, true]);
    assert.deepEqual(await keyed(kv, "quiet"), [1, 2, 3]);
    assert.equal((await kv.get<StoredRoom>(roomKey("quiet"))).value?.head, 3);
    const read = await log.readAfter("quiet", 0, 10);
    assert.deepEqual(read.map(({ seq, id }) => [seq, id]), [[1, "q-1"], [2, "q-2"], [3, "q-3"]]);
  });
});

Deno.test("MessageLog storage - a new writer on the store takes over held messages and their ids", async () => {
  const path = await Deno.makeTempFile({ suffix: ".kv" });
  try {
    let kv = await Deno.openKv(path);
    let log = new MessageLog(kv);
    await log.createRoom("quiet", "Quiet");
    await log.createRoom("other", "Other");
    await log.append("quiet", { id: "first", author: "ada", text: "first" });
    await appendOneByOne(log, "quiet", 2);
    await appendOneByOne(log, "other", 1);
    kv.close();
    kv = await Deno.openKv(path);
    log = new MessageLog(kv);
    try {
      const again = await log.append("quiet", { id: "first", author: "ada", text: "again" });
      assert.equal(again.created, false);
      assert.equal(again.message.seq, 1);
      // Its three held messages and five more make FLUSH_AT.
      await appendOneByOne(log, "quiet", FLUSH_AT - 3);
      assert.deepEqual(await keyed(kv, "quiet"), range(1, FLUSH_AT));
      const values = await logValues(kv);
      assert.deepEqual([...values.values()], [{ other: [1] }], "only other's message is held");
      assert.deepEqual(seqs(await log.readAfter("quiet", 0, 100)), range(1, FLUSH_AT));
      assert.deepEqual(seqs(await log.readAfter("other", 0, 100)), [1]);
    } finally {
      kv.close();
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("MessageLog storage - retention drops held messages from reads and never moves them", async () => {
  await withKv(async (kv) => {
    const log = new MessageLog(kv, { historyLimit: 2 });
    await log.createRoom("short", "Short");
    await appendOneByOne(log, "short", FLUSH_AT - 1);
    const kept = [FLUSH_AT - 2, FLUSH_AT - 1];
    assert.deepEqual(seqs(await log.readLatest("short", { limit: 100 })), kept);
    assert.deepEqual(seqs(await log.readLatest("short", { limit: 10 })), kept);
    await appendOneByOne(log, "short", 1);
    assert.deepEqual(await keyed(kv, "short"), [FLUSH_AT - 1, FLUSH_AT]);
    assert.deepEqual(await logValues(kv), new Map());
  });
});

Deno.test("MessageLog storage - two writers on one store keep every room's history whole", async () => {
  await withKv(async (kv) => {
    const first = new MessageLog(kv);
    const second = new MessageLog(kv);
    const rooms = range(1, 6).map((i) => `room-${i}`);
    for (const room of rooms) await first.createRoom(room, room);
    await Promise.all(
      range(1, 120).map((i) => {
        const log = i % 2 === 0 ? first : second;
        return log.append(rooms[i % rooms.length], { author: "ada", text: `${i}` });
      }),
    );
    for (const room of rooms) {
      assert.deepEqual(seqs(await first.readAfter(room, 0, 100)), range(1, 20), room);
    }
  });
});

Deno.test("MessageLog storage - without the shared log messages go under their room's keys, read in one list", async () => {
  await withKv(async (kv) => {
    let recordReads = 0;
    const counted = replacing(kv, {
      get(key: Deno.KvKey) {
        if (key[0] === "rooms") recordReads++;
        return kv.get(key);
      },
    });
    const log = new MessageLog(counted, { sharedLog: false });
    await log.createRoom("quiet", "Quiet");
    await appendOneByOne(log, "quiet", 3);
    assert.deepEqual(await keyed(kv, "quiet"), [1, 2, 3]);
    assert.deepEqual(await logValues(kv), new Map());
    assert.equal(await logged(kv, "quiet"), undefined);
    recordReads = 0;
    assert.deepEqual(seqs(await log.readAfter("quiet", 1, 10)), [2, 3]);
    assert.deepEqual(seqs(await log.readLatest("quiet", { limit: 2 })), [2, 3]);
    assert.deepEqual(seqs(await log.readLatest("quiet", { limit: 5, before: 3 })), [1, 2]);
    assert.equal(recordReads, 0, "a remote store pays one round trip per read, not two");
  });
});

Deno.test("MessageLog storage - more moves than one commit may hold are spread over commits", async () => {
  await withKv(async (kv) => {
    const log = new MessageLog(kv);
    const rooms = range(1, 150).map((i) => `room-${i}`);
    for (const room of rooms) await log.createRoom(room, room);
    const round = () =>
      Promise.all(rooms.map((room) => log.append(room, { author: "ada", text: room })));
    for (let i = 1; i < FLUSH_AT; i++) await round();
    // Every room now holds FLUSH_AT - 1 messages, and each wants them moved with its next one:
    // more keys than KV's 1,000 mutations allow in one commit.
    await round();
    for (let i = 0; i < 3; i++) await round();
    for (const room of rooms) {
      assert.deepEqual(seqs(await log.readAfter(room, 0, 100)), range(1, FLUSH_AT + 3), room);
    }
    const keyedRooms = await Promise.all(rooms.map((room) => keyed(kv, room)));
    assert.ok(
      keyedRooms.every((seqs) => seqs.length >= FLUSH_AT - 1),
      "every room has moved its first messages",
    );
  });
});

Deno.test("MessageLog storage - a failed read of the log at start is tried again by the next append", async () => {
  await withKv(async (kv) => {
    let failures = 1;
    const flaky = replacing(kv, {
      list(selector: Deno.KvListSelector, options?: Deno.KvListOptions) {
        if ("prefix" in selector && selector.prefix[0] === "log" && failures-- > 0) {
          throw new Error("The disk hiccuped");
        }
        return kv.list(selector, options);
      },
    });
    const log = new MessageLog(flaky);
    await log.createRoom("quiet", "Quiet");
    await withConsoleErrors(async (logged) => {
      await assert.rejects(log.append("quiet", { author: "ada", text: "lost" }), {
        code: "storage_unavailable",
      });
      assert.match(String(logged[0]), /hiccuped/);
    });
    assert.notEqual(log.writes.failingSince(), undefined);
    await appendOneByOne(log, "quiet", 2);
    assert.deepEqual(seqs(await log.readAfter("quiet", 0, 10)), [1, 2]);
  });
});

Deno.test("MessageLog storage - a queue always full of new rooms neither starves old held messages nor grows the log without bound", async () => {
  await withKv(async (kv) => {
    const log = new MessageLog(kv);
    await log.createRoom("quiet", "Quiet");
    await log.append("quiet", { author: "ada", text: "before the rush" });
    // Rooms that post once each, 200 to a commit: every batch is full, and every log value
    // holds 200 rooms that will never post again.
    const rooms = range(1, 200 * (MAX_LIVE_LOGS + 20)).map((i) => `once-${i}`);
    for (let i = 0; i < rooms.length; i += 500) {
      const op = kv.atomic();
      for (const id of rooms.slice(i, i + 500)) op.set(roomKey(id), emptyRoom(id));
      await op.commit();
    }
    // Looked at while the rush still fills every batch.
    const quietDuringRush = new Promise<number[]>((resolve) => {
      const stop = log.onCommitted(() => {
        if (log.stats.commits < FLUSH_AGE + 30) return;
        stop();
        resolve(keyed(kv, "quiet"));
      });
    });
    await Promise.all(rooms.map((room) => log.append(room, { author: "ada", text: room })));
    assert.ok(log.stats.commits > MAX_LIVE_LOGS, `only ${log.stats.commits} commits`);
    assert.deepEqual(await quietDuringRush, [1], "the quiet room's message was moved");
    const live = (await logValues(kv)).size;
    assert.ok(live <= MAX_LIVE_LOGS, `${live} live log values`);
    for (const room of [rooms[0], rooms.at(-1)!]) {
      assert.deepEqual(seqs(await log.readAfter(room, 0, 10)), [1], room);
    }
  });
});
