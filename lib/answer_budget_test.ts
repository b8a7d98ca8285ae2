import assert from "node:assert/strict";
import { MAX_ANSWER_BYTES, WHOLE_PAGE, withinAnswerBudget } from "./answer_budget.ts";
import type { Message } from "./types.ts";

/** `count` messages of `text`, seqs from 1. */
function messages(count: number, text: string): Message[] {
  return Array.from({ length: count }, (_, i) => ({
    seq: i + 1,
    id: `id-${i + 1}`,
    room: "lobby",
    author: "ada",
    text,
    at: 1_700_000_000_000,
    authorId: "q3Zk8w-a",
  }));
}

/** The bytes of the messages as JSON. */
function jsonBytes(list: Message[]): number {
  return new TextEncoder().encode(JSON.stringify(list)).length;
}

Deno.test("withinAnswerBudget - small messages all come, however many", () => {
  const small = messages(500, "hello");
  assert.equal(withinAnswerBudget(small, "oldest"), small);
  assert.equal(withinAnswerBudget(small, "newest"), small);
});

Deno.test("withinAnswerBudget - large ones stop near 1 MiB: the oldest going forwards, the newest back", () => {
  const large = messages(200, 'a\n"'.repeat(1_333)); // 3,999 characters, some escaped
  const oldest = withinAnswerBudget(large, "oldest");
  const newest = withinAnswerBudget(large, "newest");
  assert.ok(oldest.length > WHOLE_PAGE && oldest.length < 200, `${oldest.length} messages`);
  assert.deepEqual(oldest, large.slice(0, oldest.length));
  assert.deepEqual(newest, large.slice(200 - oldest.length));
  assert.ok(jsonBytes(oldest) <= MAX_ANSWER_BYTES, `${jsonBytes(oldest)} bytes`);
  assert.ok(jsonBytes(oldest) > MAX_ANSWER_BYTES / 2, "the bound is not far off");
});

Deno.test("withinAnswerBudget - a page of 50 comes whole even of the largest messages", () => {
  const largest = messages(120, "😀".repeat(4_000));
  assert.equal(withinAnswerBudget(largest.slice(0, WHOLE_PAGE), "newest").length, WHOLE_PAGE);
  assert.deepEqual(withinAnswerBudget(largest, "oldest"), largest.slice(0, WHOLE_PAGE));
  assert.deepEqual(withinAnswerBudget(largest, "newest"), largest.slice(120 - WHOLE_PAGE));
  assert.ok(jsonBytes(largest.slice(0, WHOLE_PAGE)) <= MAX_ANSWER_BYTES);
});
