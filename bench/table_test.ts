import assert from "node:assert/strict";
import type { BenchReport, ResultRow, SweepResult } from "./results.ts";
import { sweepSummaryTable, targetsTable } from "./table.ts";

function row(scenario: string, fields: Partial<ResultRow>): ResultRow {
  return {
    scenario,
    server: "parley",
    connections: 500,
    rssBeforeKiB: 0,
    rssAfterKiB: 0,
    notes: [],
    ...fields,
  };
}

function reportOf(rows: ResultRow[]): BenchReport {
  return {
    command: "deno task bench",
    startedAt: new Date(0),
    seconds: 1,
    rows,
    sweeps: [],
    loadAverage: { start: "0", end: "0" },
    incidents: [],
    p99LimitMs: 50,
  };
}

/** The targets table's line for the target whose name starts with `name`. */
function targetLine(report: BenchReport, name: string): string {
  const line = targetsTable(report).split("\n").find((each) => each.startsWith(`| ${name}`));
  assert.ok(line, `no "${name}" row`);
  return line;
}

const latency = { count: 1, p50: 4, p95: 9, p99: 16, max: 30 };

Deno.test("targetsTable - the poll target needs at least half the WebSocket clients' msgs/s", () => {
  const ws = row("fanout 10×50 ws", { throughput: 5_000, latency });
  const slow = targetLine(
    reportOf([ws, row("poll 10×50 poll", { throughput: 2_000, latency })]),
    "poll",
  );
  assert.match(slow, /2,000 msg\/s = 0\.40× WebSocket's 5,000 \(fanout 10×50 ws\)/);
  assert.match(slow, /\*\*missed\*\*/);
  const even = targetLine(
    reportOf([ws, row("poll 10×50 poll", { throughput: 4_999, latency })]),
    "poll",
  );
  assert.match(even, /1\.00× WebSocket's/);
  assert.match(even, /\| met/);
});

Deno.test("targetsTable - without a fanout run the poll verdict says it judged latency only", () => {
  const line = targetLine(
    reportOf([row("poll 10×50 poll", { throughput: 5_000, latency })]),
    "poll",
  );
  assert.match(line, /no fanout run to compare msgs\/s with/);
  assert.match(line, /met \(latency only\)/);
});

Deno.test("targetsTable - an append run counts toward the target it measures, not its room count", () => {
  const report = reportOf([
    row("append 1 room × 1 sender ws", { appendTarget: "many rooms", throughput: 21_000 }),
  ]);
  assert.match(targetLine(report, "append: ≥ 20,000 msg/s across many rooms"), /\| met/);
  assert.ok(!targetsTable(report).includes("one hot room"));
});

function sweepOf(
  server: "parley" | "ceiling" | "ceiling-kv",
  heldRate: number,
  heldEveryRate: boolean,
): SweepResult {
  return {
    server,
    shape: "10×50 ws",
    steps: [],
    heldRate,
    heldRates: [heldRate],
    stopReason: heldEveryRate ? "reached --sweep-max 25600" : "at 51200 msg/s: p99 70 ms > 50 ms",
    heldEveryRate,
  };
}

function sweepLine(parley: SweepResult, ceiling: SweepResult, ...others: SweepResult[]): string {
  return targetLine({ ...reportOf([]), sweeps: [parley, ceiling, ...others] }, "sweep");
}

Deno.test("targetsTable - a sweep that held every rate it tried makes the ratio a bound", () => {
  const both = sweepLine(sweepOf("parley", 25_600, true), sweepOf("ceiling", 25_600, true));
  assert.match(both, /≥ 25600 vs ≥ 25600 msg\/s = 1\.00×, not known/);
  assert.match(both, /not conclusive/);
  assert.ok(!both.includes("| met"));
  const atMost = sweepLine(sweepOf("parley", 21_527, false), sweepOf("ceiling", 25_600, true));
  assert.match(atMost, /21527 vs ≥ 25600 msg\/s = ≤ 0\.84×/);
  assert.match(atMost, /not conclusive/);
  const atLeast = sweepLine(sweepOf("parley", 12_800, true), sweepOf("ceiling", 18_102, false));
  assert.match(atLeast, /≥ 12800 vs 18102 msg\/s = ≥ 0\.71×/);
  assert.match(atLeast, /not conclusive/);
});

Deno.test("targetsTable - a bound that decides the sweep target gives a verdict", () => {
  const below = sweepLine(sweepOf("parley", 15_222, false), sweepOf("ceiling", 25_600, true));
  assert.match(below, /= ≤ 0\.59×/);
  assert.match(below, /\*\*missed\*\*/);
  const above = sweepLine(sweepOf("parley", 25_600, true), sweepOf("ceiling", 30_444, false));
  assert.match(above, /= ≥ 0\.84×/);
  assert.match(above, /\| met/);
  const plain = sweepLine(sweepOf("parley", 15_222, false), sweepOf("ceiling", 30_444, false));
  assert.match(plain, /15222 vs 30444 msg\/s = 0\.50× \|/);
  assert.match(plain, /\*\*missed\*\*/);
  const even = sweepLine(sweepOf("parley", 20_000, false), sweepOf("ceiling", 25_000, false));
  assert.match(even, /= 0\.80× \| met/);
});

Deno.test("sweepSummaryTable - marks held rates and ratios that are bounds", () => {
  const table = sweepSummaryTable([
    sweepOf("parley", 21_527, false),
    sweepOf("ceiling", 25_600, true),
  ]);
  const [parley, ceiling] = table.split("\n").slice(2);
  assert.match(parley, /\| 21527 \|.*\| ≤ 0\.84× \|/);
  assert.match(ceiling, /\| ≥ 25600 \|.*\| 1\.00× \|/);
});

Deno.test("targetsTable - sets the durable ceiling beside the sweep target, which it leaves as is", () => {
  const line = sweepLine(
    sweepOf("parley", 15_222, false),
    sweepOf("ceiling", 30_444, false),
    sweepOf("ceiling-kv", 18_102, false),
  );
  assert.match(
    line,
    /15222 vs 30444 msg\/s = 0\.50×; the durable ceiling held 18102 = 0\.59×, and Parley 0\.84× of that \|/,
  );
  assert.match(line, /\*\*missed\*\*/);
  assert.ok(
    !sweepLine(sweepOf("parley", 15_222, false), sweepOf("ceiling", 30_444, false))
      .includes("durable"),
  );
});

Deno.test("sweepSummaryTable - adds each server's share of the durable ceiling when it was swept", () => {
  const table = sweepSummaryTable([
    sweepOf("parley", 15_222, false),
    sweepOf("ceiling-kv", 18_102, false),
    sweepOf("ceiling", 30_444, false),
  ]);
  const [header, , parley, durable, ceiling] = table.split("\n");
  assert.match(header, /\| vs ceiling \| vs durable ceiling \|/);
  assert.match(parley, /\| 0\.50× \| 0\.84× \|/);
  assert.match(durable, /\| 0\.59× \| 1\.00× \|/);
  assert.match(ceiling, /\| 1\.00× \| 1\.68× \|/);
  assert.ok(!sweepSummaryTable([sweepOf("parley", 15_222, false)]).includes("durable"));
});
