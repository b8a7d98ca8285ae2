import assert from "node:assert/strict";
import { ParleyError } from "./errors.ts";
import { parseResume, type Resume } from "./resume.ts";
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
