import type { Fleet } from "./fleet.ts";
import type { LatencySummary } from "./latency.ts";
import { now } from "./message_text.ts";
import { pace } from "./pacer.ts";
import { cpuSeconds, machineBusySeconds, threadCpuSummary } from "./proc.ts";
import type { ServerHandle } from "./server_process.ts";
import type { Tally } from "./tally.ts";

/** One measured phase of load on a fleet. */
export interface Measurement {
  /** The send rate asked for, messages/s over all clients. */
  offeredRate: number;
  /** Messages sent in the counted part, and the rate that achieved. */
  sent: number;
  sentRate: number;
  acked: number;
  rejected: number;
  /** Why the first refused send was refused. */
  firstRejection?: string;
  expected: number;
  delivered: number;
  duplicates: number;
  /** Deliveries per second, from the first counted send to the last counted delivery. */
  deliveredRate: number;
  latency: LatencySummary;
  ackLatency: LatencySummary;
  /** Server CPU use over the phase, in cores (1.0 = one core busy). */
  serverCpu: number;
  /** The load generator's CPU use over the phase, in cores. */
  generatorCpu: number;
  /**
   * CPU the rest of the machine used meanwhile, in cores: other people's processes on a shared
   * machine. High values mean the step competed for the two cores.
   */
  otherCpu: number;
  /** The server's busiest threads and the cores each used, e.g. `sw-0 0.41, deno 0.30`. */
  serverThreads: string;
}

/** How long and how hard to load a fleet. */
export interface MeasureOptions {
  server: ServerHandle;
  fleet: Fleet;
  tally: Tally;
  /** Messages/s over all clients. */
  rate: number;
  durationS: number;
  warmupS: number;
  /** How long to wait after the last send for deliveries still on their way. */
  drainS: number;
}

/**
 * Runs one phase: paced sends for `durationS` (the first `warmupS` not counted), then waits up
 * to `drainS` for every owed delivery and ack. Everything is bounded in time.
 */
export async function measure(options: MeasureOptions): Promise<Measurement> {
  const { server, fleet, tally } = options;
  const serverCpu0 = server.cpuSeconds();
  const threads0 = server.threadCpu();
  const machine0 = machineBusySeconds();
  const generatorCpu0 = cpuSeconds("self");
  const wall0 = performance.now();
  const firstSend = now() + options.warmupS * 1000;
  const paced = await pace({
    senders: fleet.senders,
    rate: options.rate,
    durationMs: options.durationS * 1000,
    warmupMs: options.warmupS * 1000,
    tally,
  });
  const drainUntil = performance.now() + options.drainS * 1000;
  while (performance.now() < drainUntil) {
    if (tally.delivered >= tally.expected && fleet.pending() === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const wall = (performance.now() - wall0) / 1000;
  const serverCpu = (server.cpuSeconds() - serverCpu0) / wall;
  const generatorCpu = (cpuSeconds("self") - generatorCpu0) / wall;
  const machineCpu = (machineBusySeconds() - machine0) / wall;
  const deliverySeconds = Math.max(paced.seconds, (tally.lastDeliveryAt - firstSend) / 1000);
  return {
    offeredRate: options.rate,
    sent: paced.sent,
    sentRate: paced.sent / paced.seconds,
    acked: tally.acked,
    rejected: tally.rejected,
    firstRejection: tally.firstRejection,
    expected: tally.expected,
    delivered: tally.delivered,
    duplicates: tally.duplicates,
    deliveredRate: tally.delivered / deliverySeconds,
    latency: tally.latency.summary(),
    ackLatency: tally.ackLatency.summary(),
    serverCpu,
    generatorCpu,
    otherCpu: Math.max(0, machineCpu - serverCpu - generatorCpu),
    serverThreads: threadCpuSummary(threads0, server.threadCpu(), wall),
  };
}
