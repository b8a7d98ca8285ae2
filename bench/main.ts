/**
 * `deno task bench [SCENARIO...] [--write]`: Parley's benchmark suite. Starts the server under
 * test (and the ceiling server) as child processes, drives them from this process as the load
 * generator, prints a results table, and with `--write` updates docs/PERFORMANCE.md and
 * docs/perf-sweep.svg. See `--help` and docs/PERFORMANCE.md.
 *
 * @module
 */
import { type BenchOptions, parseBenchArgs, type Scenario } from "./args.ts";
import { machineInfo } from "./machine.ts";
import { loadAverage } from "./proc.ts";
import { writeReport } from "./report.ts";
import type { BenchReport } from "./results.ts";
import { append } from "./scenarios/append.ts";
import type { ScenarioContext } from "./scenarios/context.ts";
import { fanout } from "./scenarios/fanout.ts";
import { idle } from "./scenarios/idle.ts";
import { mixed } from "./scenarios/mixed.ts";
import { poll } from "./scenarios/poll.ts";
import { sweep } from "./scenarios/sweep.ts";
import { resultsTable, sweepStepsTable, sweepSummaryTable, targetsTable } from "./table.ts";

const RUNNERS: Record<Scenario, (context: ScenarioContext) => Promise<void>> = {
  fanout,
  poll,
  mixed,
  append,
  idle,
  sweep,
};

function quote(arg: string): string {
  return /^[\w./,=:-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** Runs the chosen scenarios in order and returns what they measured. */
export async function runBench(options: BenchOptions, args: string[]): Promise<BenchReport> {
  const report: BenchReport = {
    command: ["deno task bench", ...args.map(quote)].join(" "),
    startedAt: new Date(),
    seconds: 0,
    rows: [],
    sweeps: [],
    p99LimitMs: options.p99Limit,
    loadAverage: { start: loadAverage(), end: "" },
    incidents: [],
  };
  const start = performance.now();
  const context: ScenarioContext = {
    options,
    report,
    log: (message) =>
      console.error(`[${((performance.now() - start) / 1000).toFixed(0)}s] ${message}`),
  };
  for (const scenario of options.scenarios) {
    try {
      await RUNNERS[scenario](context);
    } catch (error) {
      // One broken scenario should not cost the others' results: record it and go on.
      context.log(`${scenario} failed: ${(error as Error).stack ?? error}`);
      report.rows.push({
        scenario,
        server: options.servers[0],
        connections: 0,
        rssBeforeKiB: 0,
        rssAfterKiB: 0,
        notes: [`FAILED: ${String((error as Error).message ?? error).split("\n")[0]}`],
      });
    }
  }
  report.seconds = (performance.now() - start) / 1000;
  report.loadAverage.end = loadAverage();
  return report;
}

if (import.meta.main) {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(Deno.args);
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(2);
  }
  const report = await runBench(options, Deno.args);
  if (report.rows.length > 0) console.log(`\n${resultsTable(report.rows)}\n`);
  if (report.rows.length > 0 || report.sweeps.length > 0) console.log(`${targetsTable(report)}\n`);
  if (report.sweeps.length > 0) {
    console.log(
      `${sweepSummaryTable(report.sweeps)}\n\n${
        sweepStepsTable(report.sweeps, report.p99LimitMs)
      }\n`,
    );
  }
  for (const incident of report.incidents) console.log(`Incident: ${incident}`);
  if (options.write) {
    const written = await writeReport(report, await machineInfo(options.root), options.root);
    console.error(`Wrote ${written.join(", ")}`);
  }
  // Pooled keep-alive connections would otherwise hold the process open.
  Deno.exit(0);
}
