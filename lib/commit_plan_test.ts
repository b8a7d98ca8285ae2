import assert from "node:assert/strict";
import { emptyRoom } from "../tests/empty_room.ts";
import { FLUSH_AGE, MAX_LIVE_LOGS, planCommit, storedKey } from "./commit_plan.ts";
import { LOG_CLOCK_KEY, logKey, messageKey, roomKey } from "./keys.ts";
import { LogLedger } from "./log_ledger.ts";
import type { Message, StoredRoom } from "./types.ts";

function held(room: string, seq: number): Message {
  return { seq, id: `${room}-${seq}`, room, author: "ada", text: `held ${seq}`, at: 0 };
}

const context = { stored: new Map(), sharedLog: true, historyLimit: 1000, at: 1 };

/** An operation as the committer starts one: the clock's check and its one mutation. */
function clockedOp(kv: Deno.Kv): Deno.AtomicOperation {
  return kv.atomic().check({ key: LOG_CLOCK_KEY, versionstamp: null }).sum(LOG_CLOCK_KEY, 1n);
}

Deno.test("planCommit - a client id sent twice in one batch, or stored before, is stored once", async () => {
  using kv = await Deno.openKv(":memory:");
  const room: StoredRoom = { ...emptyRoom("r"), head: 4 };
  const earlier = { ...held("r", 3), id: "b" };
  const op = clockedOp(kv);
  const plan = planCommit(op, [{
    room,
    inputs: [
      { id: "a", author: "ada", text: "one" },
      { id: "a", author: "ada", text: "again" },
      { id: "b", author: "ada", text: "retry" },
    ],
  }], {
    ...context,
    stored: new Map([[storedKey("r", "b"), earlier]]),
    n: 1,
    ledger: new LogLedger(),
  });
  assert.deepEqual(plan.results[0].map(({ message, created }) => [message.seq, created]), [
    [5, true],
    [5, false],
    [3, false],
  ]);
  assert.equal(plan.appended, 1);
  assert.equal((await op.commit()).ok, true);
  const stored = await kv.get<Message[]>(logKey(1));
  assert.deepEqual(stored.value?.map(({ seq, text }) => [seq, text]), [[5, "one"]]);
  assert.equal((await kv.get<StoredRoom>(roomKey("r"))).value?.head, 5);
});

Deno.test("planCommit - a full batch beside old held messages and overdue trims stays within KV's limits", async () => {
  using kv = await Deno.openKv(":memory:");
  // 200 rooms with 250 new messages between them, half of them past their history limit, and 100
  // more rooms whose held messages are overdue for a move: more than one commit may carry.
  const n = FLUSH_AGE + 10;
  const ledger = new LogLedger();
  for (let log = 1; log <= 4; log++) {
    ledger.add(
      log,
      new Map(Array.from({ length: 25 }, (_, i) => {
        const room = `old${(log - 1) * 25 + i}`;
        return [room, [held(room, 1), held(room, 2)]];
      })),
    );
  }
  const busy = Array.from({ length: 200 }, (_, i) => ({
    room: { ...emptyRoom(`busy${i}`), head: i < 100 ? 600 : 0 },
    inputs: Array.from({ length: i < 50 ? 2 : 1 }, (_, j) => ({ author: "ada", text: `${j}` })),
  }));
  const old = Array.from({ length: 100 }, (_, i) => ({
    room: { ...emptyRoom(`old${i}`), head: 2, logged: [Math.floor(i / 25) + 1] },
    inputs: [],
  }));
  for (let log = 1; log <= 4; log++) {
    await kv.set(
      logKey(log),
      old.slice((log - 1) * 25, log * 25).flatMap(({ room }) => [
        held(room.id, 1),
        held(room.id, 2),
      ]),
    );
  }
  const op = clockedOp(kv);
  const plan = planCommit(op, [...busy, ...old], { ...context, n, historyLimit: 595, ledger });
  assert.equal(plan.appended, 250);
  assert.ok(plan.flushed.size > 0 && plan.flushed.size < 100, "some moves wait for later commits");
  assert.equal((await op.commit()).ok, true, "KV took the commit");
  // What the plan says moved is under the rooms' keys; what it says waits is still listed.
  for (const { room } of old) {
    const record = (await kv.get<StoredRoom>(roomKey(room.id))).value;
    const moved = (await kv.get<Message>(messageKey(room.id, 2))).value;
    if (plan.flushed.has(room.id)) {
      assert.equal(moved?.text, "held 2");
      assert.equal(record?.logged, undefined);
    } else {
      assert.equal(moved, null);
      assert.equal(record, null, "a room that could not move is not rewritten");
    }
  }
  // A log value goes once every room in it has moved its messages, and not before.
  for (let log = 1; log <= 4; log++) {
    const holders = old.slice((log - 1) * 25, log * 25);
    const emptied = holders.every(({ room }) => plan.flushed.has(room.id));
    assert.equal((await kv.get(logKey(log))).value === null, emptied, `log value ${log}`);
  }
  assert.ok((await kv.get(logKey(1))).value === null, "at least one log value emptied");
  assert.ok((await kv.get(logKey(4))).value !== null, "at least one still held");
});

Deno.test("planCommit - past the live log cap new messages go under their rooms' keys", async () => {
  using kv = await Deno.openKv(":memory:");
  const ledger = new LogLedger();
  for (let log = 1; log <= MAX_LIVE_LOGS; log++) {
    ledger.add(log, new Map([[`r${log}`, [held(`r${log}`, 1)]]]));
  }
  const op = clockedOp(kv);
  const plan = planCommit(op, [{
    room: emptyRoom("fresh"),
    inputs: [{ author: "ada", text: "hi" }],
  }], { ...context, n: MAX_LIVE_LOGS + 1, ledger });
  assert.equal(plan.logged.size, 0);
  assert.equal((await op.commit()).ok, true);
  assert.equal((await kv.get<Message>(messageKey("fresh", 1))).value?.text, "hi");
  assert.equal((await kv.get(logKey(MAX_LIVE_LOGS + 1))).value, null);
});
