import assert from "node:assert/strict";
import { type CeilingMessage, CeilingStore } from "./ceiling_store.ts";

function message(seq: number, text = `hello ${seq}`): CeilingMessage {
  return { seq, id: `c${seq}`, room: "r", author: "ada", text, at: 1_700_000_000_000 };
}

Deno.test("CeilingStore - stores a burst under one key each, at most 250 messages a commit", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new CeilingStore(kv);
  const seqs = Array.from({ length: 300 }, (_, index) => index + 1);
  const settled: number[] = [];
  await Promise.all(seqs.map((seq) => store.persist(message(seq)).then(() => settled.push(seq))));
  assert.deepEqual(settled, seqs);
  const entries = await Array.fromAsync(kv.list<CeilingMessage>({ prefix: ["m", "r"] }));
  assert.deepEqual(entries.map(({ value }) => value), seqs.map((seq) => message(seq)));
  // The first message commits at once; the 299 queued behind it go in two commits.
  const commits = Map.groupBy(entries, ({ versionstamp }) => versionstamp);
  assert.deepEqual([...commits.values()].map((each) => each.length), [1, 250, 49]);
});

Deno.test("CeilingStore - rejects the messages of a failed commit and stores the next", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new CeilingStore(kv);
  // KV takes values of at most 64 KiB.
  const tooBig = store.persist(message(1, "x".repeat(70_000)));
  const next = store.persist(message(2));
  await assert.rejects(tooBig);
  await next;
  assert.equal((await kv.get(["m", "r", 1])).value, null);
  assert.deepEqual((await kv.get(["m", "r", 2])).value, message(2));
});

Deno.test("CeilingStore - in the log layout, stores each commit's messages as one value", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new CeilingStore(kv, "log");
  const seqs = Array.from({ length: 300 }, (_, index) => index + 1);
  await Promise.all(seqs.map((seq) => store.persist(message(seq))));
  const commits = await Array.fromAsync(kv.list<CeilingMessage[]>({ prefix: ["c"] }));
  assert.deepEqual(commits.map(({ key }) => key), [["c", 0], ["c", 1], ["c", 2]]);
  assert.deepEqual(commits.map(({ value }) => value.length), [1, 250, 49]);
  assert.deepEqual(commits.flatMap(({ value }) => value), seqs.map((seq) => message(seq)));
  assert.equal((await Array.fromAsync(kv.list({ prefix: ["m"] }))).length, 0);
});

Deno.test("CeilingStore - commits again once it has gone idle", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new CeilingStore(kv);
  await store.persist(message(1));
  // A turn of the event loop lets the commit loop find its queue empty and stop.
  await new Promise((resolve) => setTimeout(resolve, 0));
  await store.persist(message(2));
  assert.deepEqual((await kv.get(["m", "r", 2])).value, message(2));
});

Deno.test("CeilingStore - rejects a batch whose operation cannot be built, and carries on", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new CeilingStore(kv);
  // A symbol cannot be serialised: `set` throws before anything is committed.
  const unstorable = { ...message(1), text: Symbol("no") as unknown as string };
  await assert.rejects(store.persist(unstorable));
  await store.persist(message(2));
  assert.deepEqual((await kv.get(["m", "r", 2])).value, message(2));
});

Deno.test("CeilingStore - in the log layout, keeps each commit's value within KV's 64 KiB", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new CeilingStore(kv, "log");
  const seqs = Array.from({ length: 30 }, (_, index) => index + 1);
  await Promise.all(seqs.map((seq) => store.persist(message(seq, "x".repeat(2_000)))));
  const commits = await Array.fromAsync(kv.list<CeilingMessage[]>({ prefix: ["c"] }));
  assert.ok(commits.length > 2, `${commits.length} commits`);
  assert.deepEqual(commits.flatMap(({ value }) => value).map(({ seq }) => seq), seqs);
});
