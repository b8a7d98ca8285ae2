import assert from "node:assert/strict";
import { collidingIds } from "../tests/colliding_ids.ts";
import { idHash, RecentIds } from "./recent_ids.ts";

Deno.test("RecentIds - names the seq each pushed id was stored at", () => {
  const ids = new RecentIds(10, 5);
  ids.push("a");
  ids.push("b");
  assert.deepEqual(ids.candidates("a"), [11]);
  assert.deepEqual(ids.candidates("b"), [12]);
  assert.deepEqual(ids.candidates("c"), []);
  assert.equal(ids.head, 12);
});

Deno.test("RecentIds - forgets ids once newer ones fill the window", () => {
  const ids = new RecentIds(0, 3);
  for (const id of ["a", "b", "c", "d"]) ids.push(id);
  assert.deepEqual(ids.candidates("a"), []);
  assert.deepEqual(ids.candidates("b"), [2]);
  assert.deepEqual(ids.candidates("d"), [4]);
  assert.equal(ids.from, 1);
});

Deno.test("RecentIds - ids whose hashes collide are both candidates, and forgotten in turn", () => {
  const [first, second] = collidingIds();
  assert.notEqual(first, second);
  const ids = new RecentIds(0, 2);
  ids.push(first);
  ids.push(second);
  assert.deepEqual(ids.candidates(first), [1, 2]);
  ids.push("other");
  assert.deepEqual(ids.candidates(second), [2]);
  ids.push("more");
  assert.deepEqual(ids.candidates(first), []);
});

Deno.test("idHash - is a small non-negative integer that differs between near ids", () => {
  const hashes = ["a", "b", "ab", "ba", ""].map(idHash);
  assert.ok(hashes.every((hash) => Number.isInteger(hash) && hash >= 0 && hash < 2 ** 30));
  assert.equal(new Set(hashes).size, hashes.length);
});

Deno.test("RecentIds - a full window of many ids finds each of its newest, and none older", () => {
  const ids = new RecentIds(100, 1000);
  for (let i = 1; i <= 5000; i++) ids.push(`id-${i}`);
  assert.equal(ids.from, 4100);
  for (let i = 1; i <= 5000; i += 7) {
    const found = ids.candidates(`id-${i}`).filter((seq) => seq === 100 + i);
    assert.deepEqual(found, i > 4000 ? [100 + i] : [], `id-${i}`);
  }
});
