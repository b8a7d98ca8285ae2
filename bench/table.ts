import { fmtCount, fmtMiB, fmtMs, markdownTable } from "./format.ts";
import type { LatencySummary } from "./latency.ts";
import {
  type AppendTarget,
  type BenchReport,
  fmtRate,
  type ResultRow,
  type SweepResult,
} from "./results.ts";
import { stepHeld } from "./scenarios/sweep.ts";
import { openFileLimit } from "./proc.ts";
import { IDLE_TARGET } from "./args.ts";

function loss(row: ResultRow): string {
  if (row.expected === undefined || row.delivered === undefined) return "–";
  const lost = row.expected - row.delivered;
  return lost === 0 ? "0" : `${fmtCount(lost)} (${((100 * lost) / row.expected).toFixed(2)}%)`;
}

/** The main results table: one row per scenario run and server. */
export function resultsTable(rows: ResultRow[]): string {
  return markdownTable(
    [
      "Scenario",
      "Server",
      "Conns",
      "Sent",
      "Deliveries expected",
      "Delivered",
      "Loss",
      "Msgs/s",
      "p50 ms",
      "p95 ms",
      "p99 ms",
      "max ms",
      "RSS before → after MiB",
      "RSS/conn KiB",
      "Server CPU",
      "Notes",
    ],
    rows.map((row) => [
      row.scenario,
      row.server,
      fmtCount(row.connections),
      fmtCount(row.sent),
      fmtCount(row.expected),
      fmtCount(row.delivered),
      loss(row),
      row.throughput === undefined ? "–" : fmtCount(row.throughput),
      fmtMs(row.latency?.p50),
      fmtMs(row.latency?.p95),
      fmtMs(row.latency?.p99),
      fmtMs(row.latency?.max),
      `${fmtMiB(row.rssBeforeKiB)} → ${fmtMiB(row.rssAfterKiB)}`,
      row.rssPerConnectionKiB === undefined ? "–" : row.rssPerConnectionKiB.toFixed(1),
      row.serverCpu === undefined ? "–" : row.serverCpu.toFixed(2),
      row.notes.join("; "),
    ]),
  );
}

/** Every step of every sweep. */
export function sweepStepsTable(sweeps: SweepResult[], p99LimitMs: number): string {
  return markdownTable(
    [
      "Server",
      "Offered msg/s",
      "Sent msg/s",
      "Deliveries/s",
      "p50 ms",
      "p99 ms",
      "max ms",
      "Lost",
      "Server CPU",
      "Gen CPU",
      "Other CPU",
      "Held",
    ],
    sweeps.flatMap((sweep) =>
      sweep.steps.map((step) => [
        sweep.server,
        fmtRate(step.offeredRate),
        fmtRate(step.sentRate),
        fmtCount(step.deliveredRate),
        fmtMs(step.latency.p50),
        fmtMs(step.latency.p99),
        fmtMs(step.latency.max),
        fmtCount(step.expected - step.delivered),
        step.serverCpu.toFixed(2),
        step.generatorCpu.toFixed(2),
        step.otherCpu.toFixed(2),
        stepHeld(step, p99LimitMs) === undefined ? "yes" : "no",
      ])
    ),
  );
}

/** The median CPU, in cores, that other processes used during a sweep's steps. */
export function medianOtherCpu(sweep: SweepResult): number {
  const sorted = sweep.steps.map((step) => step.otherCpu).sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.floor(sorted.length / 2)];
}

/**
 * How the ratio of two sweeps' held rates stands to the servers' real one. A sweep that held
 * every rate it tried shows at least what its server holds, so when only the ceiling's did the
 * real ratio is at most the shown one (`≤`), when only the other's did at least (`≥`), and when
 * both did it is unknown (`?`); otherwise it is the shown one (`=`).
 */
function ratioBound(sweep: SweepResult, ceiling: SweepResult): "=" | "≤" | "≥" | "?" {
  if (sweep === ceiling || sweep.heldEveryRate === ceiling.heldEveryRate) {
    return sweep === ceiling || !sweep.heldEveryRate ? "=" : "?";
  }
  return ceiling.heldEveryRate ? "≤" : "≥";
}

/** A sweep's share of the ceiling's held rate, marked as a bound where it is one. */
function ratioText(sweep: SweepResult, ceiling: SweepResult): string {
  const bound = ratioBound(sweep, ceiling);
  const ratio = `${(sweep.heldRate / ceiling.heldRate).toFixed(2)}×`;
  return bound === "=" ? ratio : bound === "?" ? `${ratio}, not known` : `${bound} ${ratio}`;
}

/** The rate a sweep held, as "≥ N" when it held every rate it tried. */
function heldText(sweep: SweepResult): string {
  return `${sweep.heldEveryRate ? "≥ " : ""}${fmtRate(sweep.heldRate)}`;
}

/** A sweep's share of another's held rate, or "–" without the other or a rate it held. */
function shareOf(sweep: SweepResult, of: SweepResult | undefined): string {
  return of && of.heldRate > 0 ? ratioText(sweep, of) : "–";
}

/**
 * The highest rate each server held, and its share of the ceiling's; when the durable ceiling
 * (`ceiling-kv`) was swept too, also its share of that one's.
 */
export function sweepSummaryTable(sweeps: SweepResult[]): string {
  const ceiling = sweeps.find((sweep) => sweep.server === "ceiling");
  const durable = sweeps.find((sweep) => sweep.server === "ceiling-kv");
  return markdownTable(
    [
      "Server",
      "Shape",
      "Highest rate held (msg/s)",
      "Each sweep",
      "Deliveries/s there",
      "vs ceiling",
      ...(durable ? ["vs durable ceiling"] : []),
      "Stopped because",
      "Other CPU (median)",
    ],
    sweeps.map((sweep) => {
      const held = sweep.steps.findLast((step) => step.offeredRate === sweep.heldRate);
      return [
        sweep.server,
        sweep.shape,
        heldText(sweep),
        sweep.heldRates.map(fmtRate).join(", "),
        held ? fmtCount(held.deliveredRate) : "–",
        shareOf(sweep, ceiling),
        ...(durable ? [shareOf(sweep, durable)] : []),
        sweep.stopReason,
        medianOtherCpu(sweep).toFixed(2),
      ];
    }),
  );
}

/** A target's verdict, bold when missed so a reader's eye finds it. */
function verdict(met: boolean): string {
  return met ? "met" : "**missed**";
}

/**
 * The sweep target's measured figures and verdict. Where a sweep held every rate it tried, the
 * ratio is a bound (see {@link ratioBound}), and the verdict says only what the bound decides.
 * The durable ceiling, when swept, is set beside it: what persisting alone leaves of the ceiling.
 */
function sweepTarget(
  parley: SweepResult,
  ceiling: SweepResult,
  durable: SweepResult | undefined,
): [string, string] {
  const bound = ratioBound(parley, ceiling);
  const met = parley.heldRate / ceiling.heldRate >= 0.8;
  const beside = durable && durable.heldRate > 0
    ? `; the durable ceiling held ${heldText(durable)} = ${ratioText(durable, ceiling)}, ` +
      `and Parley ${ratioText(parley, durable)} of that`
    : "";
  const measured = `${heldText(parley)} vs ${heldText(ceiling)} msg/s = ${
    ratioText(parley, ceiling)
  }${beside}`;
  const decided = bound === "=" || (bound === "≤" ? !met : bound === "≥" && met);
  if (!decided) return [measured, "not conclusive: a sweep held every rate it tried"];
  const contended = Math.max(medianOtherCpu(parley), medianOtherCpu(ceiling));
  return [
    measured,
    verdict(met) +
    (contended > 0.5
      ? ` (other processes used ${contended.toFixed(2)} cores: not conclusive)`
      : ""),
  ];
}

/**
 * The idle target's verdict. Fewer than 20,000 sockets cannot meet it, but when this machine's
 * open-file limit is why, the verdict says so and whether the memory part held.
 */
function idleVerdict(connections: number, kibPerConnection: number): string {
  const small = kibPerConnection * 1.024 <= 20;
  if (connections >= IDLE_TARGET) return verdict(small);
  const limit = openFileLimit();
  if (limit === undefined || limit > IDLE_TARGET) return "**missed** (fewer than 20,000 opened)";
  return `not measurable here: the open-file limit is ${fmtCount(limit)}; ` +
    `memory ${verdict(small)} at ${fmtCount(connections)}`;
}

/**
 * What Parley persisted per second in the append runs that `shape` picks (one per way of
 * sending), each as a share of the ceiling's run of the same shape, and the verdict on the best
 * of them, naming it; undefined when there were no such runs.
 */
function appendTarget(
  all: ResultRow[],
  kind: AppendTarget,
  target: number,
): [string, string] | undefined {
  const runs = all.flatMap((row) =>
    row.appendTarget === kind && row.throughput !== undefined
      ? [{ ...row, rate: row.throughput }]
      : []
  );
  const parley = runs.filter((run) => run.server === "parley");
  if (parley.length === 0) return undefined;
  const measured = parley.map((run) => {
    const ceiling = runs.find((each) =>
      each.server === "ceiling" && each.scenario === run.scenario
    );
    const share = ceiling ? ` = ${(run.rate / ceiling.rate).toFixed(2)}× ceiling` : "";
    return `${fmtCount(run.rate)} msg/s${share} (${run.scenario})`;
  });
  const best = parley.reduce((best, run) => run.rate > best.rate ? run : best);
  return [measured.join("; "), `${verdict(best.rate >= target)} (best: ${best.scenario})`];
}

/**
 * The poll target's row: latency, and delivered messages/s against the WebSocket clients' in the
 * same run and shape (`fanout`), which the verdict needs as well.
 */
function pollTarget(
  poll: ResultRow,
  { p50, p99 }: LatencySummary,
  ws: ResultRow | undefined,
): string[] {
  const fast = p50 <= 10 && p99 <= 50;
  const latency = `p50 ${fmtMs(p50)} ms, p99 ${fmtMs(p99)} ms`;
  const target = "poll: p50 ≤ 10 ms, p99 ≤ 50 ms, msgs/s ≥ 0.5× WebSocket's";
  if (!ws?.throughput || poll.throughput === undefined) {
    return [
      target,
      `${latency}; no fanout run to compare msgs/s with`,
      `${verdict(fast)} (latency only)`,
    ];
  }
  const share = poll.throughput / ws.throughput;
  return [
    target,
    `${latency}; ${fmtCount(poll.throughput)} msg/s = ${share.toFixed(2)}× WebSocket's ` +
    `${fmtCount(ws.throughput)} (${ws.scenario})`,
    verdict(fast && share >= 0.5),
  ];
}

/** The targets next to what this run measured. */
export function targetsTable(report: BenchReport): string {
  const find = (prefix: string, server = "parley") =>
    report.rows.find((row) => row.scenario.startsWith(prefix) && row.server === server);
  const sweepOf = (server: string) => report.sweeps.find((sweep) => sweep.server === server);
  const rows: string[][] = [];
  const parleySweep = sweepOf("parley");
  const ceilingSweep = sweepOf("ceiling");
  if (parleySweep && ceilingSweep && ceilingSweep.heldRate > 0) {
    rows.push([
      "sweep: Parley ≥ 0.8× ceiling at p99 ≤ 50 ms, zero loss",
      ...sweepTarget(parleySweep, ceilingSweep, sweepOf("ceiling-kv")),
    ]);
  }
  const poll = find("poll");
  if (poll?.latency) rows.push(pollTarget(poll, poll.latency, find("fanout")));
  const idle = find("idle");
  if (idle?.rssPerConnectionKiB !== undefined) {
    rows.push([
      "idle: 20,000 WebSockets at ≤ 20 KB RSS each",
      `${fmtCount(idle.connections)} open, ${idle.rssPerConnectionKiB.toFixed(1)} KiB each`,
      idleVerdict(idle.connections, idle.rssPerConnectionKiB),
    ]);
  }
  const many = appendTarget(report.rows, "many rooms", 20_000);
  if (many) rows.push(["append: ≥ 20,000 msg/s across many rooms", ...many]);
  const oneRoom = appendTarget(report.rows, "hot room", 10_000);
  if (oneRoom) rows.push(["append: ≥ 10,000 msg/s on one hot room", ...oneRoom]);
  return markdownTable(["Target (from the issue)", "Measured", "Verdict"], rows);
}
