import assert from "node:assert/strict";
import { Metrics } from "./metrics.ts";
import { MetricsGatherer } from "./metrics_gather.ts";

function appendedBy(metrics: Metrics, count: number): Metrics {
  metrics.counter("parley_messages_appended_total", "Messages stored", () => [[{}, count]]);
  return metrics;
}

Deno.test("MetricsGatherer - a worker that does not answer in time is left out, and the rest are shown", async () => {
  const channel = `parley-test-${crypto.randomUUID()}`;
  // "a" believes in two peers; only "b" is there.
  const a = new MetricsGatherer(channel, "a", appendedBy(new Metrics(), 5), () => 2);
  const b = new MetricsGatherer(channel, "b", appendedBy(new Metrics(), 7), () => 1);
  try {
    const started = performance.now();
    const workers = await a.gather(200);
    assert.ok(performance.now() - started >= 190, "it did not wait for the third");
    const appended = workers.map(({ worker, families }) => [
      worker,
      families.find(({ name }) => name === "parley_messages_appended_total")?.samples[0].value,
    ]);
    assert.deepEqual(appended, [["a", 5], ["b", 7]]);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("MetricsGatherer - alone, a worker's metrics carry no worker label", async () => {
  const alone = new MetricsGatherer(
    `parley-test-${crypto.randomUUID()}`,
    "a",
    new Metrics(),
    () => 0,
  );
  try {
    const workers = await alone.gather();
    assert.equal(workers.length, 1);
    assert.equal(workers[0].worker, undefined);
  } finally {
    alone.close();
  }
});
