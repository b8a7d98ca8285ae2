import type { LatencySummary } from "./latency.ts";
import type { Measurement } from "./measure.ts";
import type { ServerKind } from "./server_process.ts";

/** One line of the results table. */
export interface ResultRow {
  /** The scenario and its shape, e.g. `fanout 10×50 ws`. */
  scenario: string;
  server: ServerKind;
  /** Open client connections during the measurement. */
  connections: number;
  /** Messages sent (or, for `append`, persisted) in the counted part. */
  sent?: number;
  /** Deliveries owed (sends × receivers in the room) and made. */
  expected?: number;
  delivered?: number;
  /** Delivered messages/s (fan-out scenarios) or persisted messages/s (`append`). */
  throughput?: number;
  /** End-to-end delivery latency, or the send-to-ack latency for `append`. */
  latency?: LatencySummary;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  /** Resident memory each connection added, in KiB. */
  rssPerConnectionKiB?: number;
  /** Server CPU use in cores over the measurement. */
  serverCpu?: number;
  /** Load generator CPU use in cores over the measurement. */
  generatorCpu?: number;
  /** Anything else worth knowing (acks, duplicates, density check). */
  notes: string[];
  /** For an `append` run, which of the append targets it measures. */
  appendTarget?: AppendTarget;
}

/** The two append targets: one hot room with many senders, or many rooms with one each. */
export type AppendTarget = "hot room" | "many rooms";

/**
 * One server's rate sweep: each step, and the highest offered rate that held. When a server is
 * swept several times, this is the sweep with the median held rate.
 */
export interface SweepResult {
  server: ServerKind;
  shape: string;
  steps: Measurement[];
  /** The highest offered rate (messages/s) with p99 within the limit and no loss; 0 if none. */
  heldRate: number;
  /** The held rate of every sweep of this server in the run, in the order they ran. */
  heldRates: number[];
  /** Why the sweep stopped. */
  stopReason: string;
  /**
   * Whether every rate it tried held (it stopped at `--sweep-max`, or ran out of steps): the
   * server then holds at least `heldRate`, maybe more.
   */
  heldEveryRate: boolean;
}

/** Everything one benchmark run measured. */
export interface BenchReport {
  /** The command line, as a user would type it. */
  command: string;
  startedAt: Date;
  /** Total wall time of the run, in seconds. */
  seconds: number;
  rows: ResultRow[];
  sweeps: SweepResult[];
  /** The machine's 1-minute load average when the run started and ended (`/proc/loadavg`). */
  loadAverage: { start: string; end: string };
  /** Things that went wrong on the server's side and were worked around, e.g. a failed start. */
  incidents: string[];
  /** The p99 limit the sweep held the server to, in ms. */
  p99LimitMs: number;
}

/** Turns a fan-out measurement into a table row. */
export function measurementRow(
  base: Pick<ResultRow, "scenario" | "server" | "connections" | "rssBeforeKiB" | "rssAfterKiB">,
  m: Measurement,
  rssConnectedKiB: number,
): ResultRow {
  const notes = [
    `offered ${fmtRate(m.offeredRate)} msg/s, sent ${fmtRate(m.sentRate)}/s`,
    `acks ${m.acked}/${m.sent}`,
    `ack p99 ${m.ackLatency.p99.toFixed(1)} ms`,
  ];
  if (m.rejected > 0) notes.push(`${m.rejected} refused, first: ${m.firstRejection}`);
  if (m.duplicates > 0) notes.push(`${m.duplicates} repeats`);
  notes.push(
    `gen CPU ${m.generatorCpu.toFixed(2)}`,
    `other CPU ${m.otherCpu.toFixed(2)}`,
    `server threads: ${m.serverThreads}`,
  );
  return {
    ...base,
    sent: m.sent,
    expected: m.expected,
    delivered: m.delivered,
    throughput: m.deliveredRate,
    latency: m.latency,
    rssPerConnectionKiB: base.connections > 0
      ? (rssConnectedKiB - base.rssBeforeKiB) / base.connections
      : undefined,
    serverCpu: m.serverCpu,
    generatorCpu: m.generatorCpu,
    notes,
  };
}

/** A rate for people: no decimals from 100 up. */
export function fmtRate(rate: number): string {
  return rate >= 100 ? Math.round(rate).toString() : rate.toFixed(1);
}
