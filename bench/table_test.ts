import assert from "node:assert/strict";
import type { BenchReport, ResultRow, SweepResult } from "./results.ts";
import { targetsTable } from "./table.ts";

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

function sweepOf(server: "parley" | "ceiling", heldRate: number, reachedMax: boolean): SweepResult {
  return {
    server,
    shape: "10×50 ws",
    steps: [],
    heldRate,
    heldRates: [heldRate],
    stopReason: reachedMax ? "reached --sweep-max 20000" : "at 25600 msg/s: p99 70 ms > 50 ms",
    reachedMax,
  };
}

function sweepLine(parley: SweepResult, ceiling: SweepResult): string {
  return targetLine({ ...reportOf([]), sweeps: [parley, ceiling] }, "sweep");
}

Deno.test("targetsTable - a ceiling stopped by --sweep-max leaves a ratio at or above 0.8 undecided", () => {
  const line = sweepLine(sweepOf("parley", 12_800, true), sweepOf("ceiling", 12_800, true));
  assert.match(line, /1\.00× \(both reached --sweep-max\)/);
  assert.match(line, /not conclusive: raise --sweep-max/);
  assert.ok(!line.includes("| met"));
  const bounded = sweepLine(sweepOf("parley", 10_763, false), sweepOf("ceiling", 12_800, true));
  assert.match(bounded, /0\.84× \(at most: the ceiling reached --sweep-max\)/);
  assert.match(bounded, /not conclusive/);
});

Deno.test("targetsTable - a bound that decides the sweep target gives a verdict", () => {
  const below = sweepLine(sweepOf("parley", 7_611, false), sweepOf("ceiling", 12_800, true));
  assert.match(below, /0\.59× \(at most/);
  assert.match(below, /\*\*missed\*\*/);
  const above = sweepLine(sweepOf("parley", 20_000, true), sweepOf("ceiling", 21_527, false));
  assert.match(above, /0\.93× \(at least: Parley reached --sweep-max\)/);
  assert.match(above, /\| met/);
  const plain = sweepLine(sweepOf("parley", 15_222, false), sweepOf("ceiling", 25_600, false));
  assert.match(plain, /15222 vs 25600 msg\/s = 0\.59× \|/);
  assert.match(plain, /\*\*missed\*\*/);
});
