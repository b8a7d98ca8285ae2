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
  const a = new MetricsGatherer(channel, "a", appendedBy(new Metrics(), 5), () => 2, true);
  const b = new MetricsGatherer(channel, "b", appendedBy(new Metrics(), 7), () => 1, true);
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

Deno.test("MetricsGatherer - alone, a worker of several still labels its metrics; the only worker does not", async () => {
  for (const labelled of [true, false]) {
    const metrics = new Metrics();
    const alone = new MetricsGatherer(
      `parley-test-${crypto.randomUUID()}`,
      "a",
      metrics,
      () => 0,
      labelled,
    );
    try {
      const workers = await alone.gather();
      assert.deepEqual(workers.map(({ worker }) => worker), [labelled ? "a" : undefined]);
    } finally {
      alone.close();
    }
  }
});
