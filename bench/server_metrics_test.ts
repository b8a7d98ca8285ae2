import assert from "node:assert/strict";
import { Metrics } from "../lib/metrics.ts";
import { storeNote, storeTotals } from "./server_metrics.ts";

/** A worker's `/metrics` page after commits of these durations (s), each of 10 messages. */
function page(commits: number[]): string {
  const metrics = new Metrics();
  for (const seconds of commits) {
    metrics.commitSeconds.observe(seconds);
    metrics.batchSize.observe(10);
  }
  return metrics.render();
}

Deno.test("storeTotals - adds up the workers' commits, messages and commits over 50 ms", () => {
  const totals = storeTotals([page([0.002, 0.03, 0.07]), page([0.05, 0.3])]);
  assert.equal(totals.workers, 2);
  assert.equal(totals.commits, 5);
  assert.equal(totals.messages, 50);
  // 0.05 s falls in the 50 ms bucket: only the 70 ms and 300 ms commits stalled.
  assert.equal(totals.slowCommits, 2);
  assert.ok(Math.abs(totals.commitSeconds - 0.452) < 1e-9);
});

Deno.test("storeNote - names the commits over 50 ms in a run, and only when there were some", () => {
  const before = storeTotals([page([0.002])]);
  assert.equal(
    storeNote(before, storeTotals([page([0.002, 0.004, 0.2])])),
    "KV (1 worker seen): 2 group commits, 10.0 msgs/commit, 102.00 ms/commit, 1 over 50 ms",
  );
  assert.equal(
    storeNote(before, storeTotals([page([0.002, 0.004])])),
    "KV (1 worker seen): 1 group commits, 10.0 msgs/commit, 4.00 ms/commit",
  );
});
