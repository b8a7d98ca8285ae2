import assert from "node:assert/strict";
import { ParleyError } from "./errors.ts";
import { MessageLog } from "./message_log.ts";
import { checkResume, parseResume, type Resume } from "./resume.ts";
import type { Room } from "./types.ts";

const room: Room = {
  id: "lobby",
  title: "Lobby",
  createdAt: 0,
  head: 20,
  lastAt: 1,
  epoch: "abc12345",
  trimmed: 10,
};

const cases: Array<{ name: string; after?: string; epoch?: string; expect: Resume | string }> = [
  { name: "no cursor follows from the head", expect: { resync: false } },
  {
    name: "a cursor inside the history resumes",
    after: "15",
    expect: { after: 15, resync: false },
  },
  { name: "the oldest kept cursor resumes", after: "10", expect: { after: 10, resync: false } },
  {
    name: "the head resumes",
    after: "20",
    epoch: "abc12345",
    expect: { after: 20, resync: false },
  },
  { name: "a trimmed cursor resyncs", after: "9", expect: { resync: true } },
  { name: "another epoch resyncs", after: "15", epoch: "other", expect: { resync: true } },
  {
    name: "another epoch beyond the head resyncs",
    after: "99",
    epoch: "other",
    expect: { resync: true },
  },
  {
    name: "beyond the head of this epoch (a restored backup) resyncs",
    after: "21",
    epoch: "abc12345",
    expect: { resync: true },
  },
  { name: "beyond the head without an epoch is refused", after: "21", expect: "invalid_cursor" },
  { name: "a negative cursor is refused", after: "-1", expect: "invalid_cursor" },
  { name: "a non-integer cursor is refused", after: "1.5", expect: "invalid_cursor" },
  { name: "a malformed epoch is refused", after: "15", epoch: "../x", expect: "invalid_epoch" },
];

for (const { name, after, epoch, expect } of cases) {
  Deno.test(`parseResume - ${name}`, () => {
    if (typeof expect === "string") {
      assert.throws(
        () => parseResume(room, { after, epoch }),
        (error) => error instanceof ParleyError && error.status === 400 && error.code === expect,
      );
    } else {
      assert.deepEqual(parseResume(room, { after, epoch }), expect);
    }
  });
}

/** A log whose room "lobby" has messages 1 to 5, ids m1 to m5, and keeps 3 of them (3 to 5). */
async function withKeptThree(test: (log: MessageLog, room: Room) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const log = new MessageLog(kv, { historyLimit: 3 });
  try {
    await log.createRoom("lobby", "Lobby");
    for (let i = 1; i <= 5; i++) {
      await log.append("lobby", { id: `m${i}`, author: "ann", text: "x" });
    }
    await test(log, (await log.getRoom("lobby"))!);
  } finally {
    kv.close();
  }
}

Deno.test("checkResume - the message the client names at its cursor lets it resume", async () => {
  await withKeptThree(async (log, lobby) => {
    const cursor = { after: "4", epoch: lobby.epoch, last: "m4" };
    assert.deepEqual(await checkResume(log, lobby, cursor), { after: 4, resync: false });
  });
});

Deno.test("checkResume - another message at the cursor (a backup restored since) resyncs", async () => {
  await withKeptThree(async (log, lobby) => {
    const cursor = { after: "4", epoch: lobby.epoch, last: "gone-since" };
    assert.deepEqual(await checkResume(log, lobby, cursor), { resync: true });
  });
});

Deno.test("checkResume - a cursor whose message retention deleted is taken as it is", async () => {
  await withKeptThree(async (log, lobby) => {
    const cursor = { after: "2", epoch: lobby.epoch, last: "unknowable" };
    assert.deepEqual(await checkResume(log, lobby, cursor), { after: 2, resync: false });
  });
});

Deno.test("checkResume - without a last id the cursor is only parsed", async () => {
  await withKeptThree(async (log, lobby) => {
    assert.deepEqual(await checkResume(log, lobby, { after: "4" }), { after: 4, resync: false });
  });
});

Deno.test("checkResume - a malformed last id is refused as invalid_cursor", async () => {
  await withKeptThree(async (log, lobby) => {
    await assert.rejects(
      checkResume(log, lobby, { after: "4", last: "no spaces" }),
      (error) => error instanceof ParleyError && error.code === "invalid_cursor",
    );
  });
});
