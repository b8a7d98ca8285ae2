import assert from "node:assert/strict";
import { type Family, Metrics, renderFamilies } from "../lib/metrics.ts";
import { storeNote, storeTotals } from "./server_metrics.ts";

/** A worker's metrics after commits of these durations (s), each of 10 messages. */
function worker(commits: number[]): Family[] {
  const metrics = new Metrics();
  for (const seconds of commits) {
    metrics.commitSeconds.observe(seconds);
    metrics.batchSize.observe(10);
  }
  metrics.rejected.inc("rate_limited", commits.length);
  return metrics.families();
}

/** The `/metrics` page of one worker alone. */
function page(commits: number[]): string {
  return renderFamilies([{ families: worker(commits) }]);
}

Deno.test("storeTotals - adds up the workers' commits, messages, commits over 50 ms and refusals", () => {
  const totals = storeTotals(renderFamilies([
    { worker: "a", families: worker([0.002, 0.03, 0.07]) },
    { worker: "b", families: worker([0.05, 0.3]) },
  ]));
  assert.equal(totals.workers, 2);
  assert.deepEqual(totals.rejected, { rate_limited: 5 });
  assert.equal(totals.commits, 5);
  assert.equal(totals.messages, 50);
  // 0.05 s falls in the 50 ms bucket: only the 70 ms and 300 ms commits stalled.
  assert.equal(totals.slowCommits, 2);
  assert.ok(Math.abs(totals.commitSeconds - 0.452) < 1e-9);
});

Deno.test("storeNote - names the commits over 50 ms in a run, and only when there were some", () => {
  const before = storeTotals(page([0.002]));
  assert.equal(
    storeNote(before, storeTotals(page([0.002, 0.004, 0.2]))),
    "KV (1 worker seen): 2 group commits, 10.0 msgs/commit, 102.00 ms/commit, 1 over 50 ms",
  );
  assert.equal(
    storeNote(before, storeTotals(page([0.002, 0.004]))),
    "KV (1 worker seen): 1 group commits, 10.0 msgs/commit, 4.00 ms/commit",
  );
});
