import { type Fleet, openFleet } from "../fleet.ts";
import { measure, type Measurement } from "../measure.ts";
import { fmtRate, type SweepResult } from "../results.ts";
import type { ServerHandle } from "../server_process.ts";
import { Tally } from "../tally.ts";
import { type ScenarioContext, settle, withServer } from "./context.ts";

const FIRST_WARMUP_S = 1;
const STEP_WARMUP_S = 0.5;
const STEP_DRAIN_S = 2;
const MAX_STEPS = 20;
/** Cores other processes may use during a failed attempt before it earns a third try. */
const CONTENDED_CPU = 0.5;
const MAX_ATTEMPTS = 3;

/** Why a step failed — a refused send, a lost delivery, or p99 past the limit — or undefined. */
export function stepHeld(step: Measurement, p99LimitMs: number): string | undefined {
  if (step.sent === 0) return "nothing was sent";
  if (step.rejected > 0) return `${step.rejected} sends refused (${step.firstRejection})`;
  if (step.delivered < step.expected) {
    return `lost ${step.expected - step.delivered} of ${step.expected} deliveries`;
  }
  if (step.acked < step.sent) return `${step.sent - step.acked} sends not acknowledged`;
  if (!(step.latency.p99 <= p99LimitMs)) {
    return `p99 ${step.latency.p99.toFixed(1)} ms > ${p99LimitMs} ms`;
  }
  return undefined;
}

/** Runs the sweep's steps on one fleet, recording each in `result`. */
class Stepper {
  #step = 0;

  constructor(
    readonly context: ScenarioContext,
    readonly server: ServerHandle,
    readonly fleet: Fleet,
    readonly tally: Tally,
    readonly result: SweepResult,
  ) {}

  /**
   * Loads the fleet at `rate`; undefined if it held, else why not. A failed rate gets one more
   * try, since on a shared machine one stall can spoil a step's p99 — and a third when other
   * processes were busy during a failed try.
   */
  async tryRate(rate: number): Promise<string | undefined> {
    let failed: string | undefined;
    let attempts = 2;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const step = await this.#once(rate);
      failed = stepHeld(step, this.context.options.p99Limit);
      if (failed === undefined) return undefined;
      // Other processes took a core's worth meanwhile: that attempt says little, try once more.
      if (step.otherCpu > CONTENDED_CPU) attempts = MAX_ATTEMPTS;
    }
    return `${failed} (${attempts} tries)`;
  }

  async #once(rate: number): Promise<Measurement> {
    const { context, server, fleet, tally, result } = this;
    const warmupS = this.#step === 0 ? FIRST_WARMUP_S : STEP_WARMUP_S;
    tally.restart(`s${this.#step++}`);
    const measured = await measure({
      server,
      fleet,
      tally,
      rate,
      durationS: context.options.sweepStep + warmupS,
      warmupS,
      drainS: STEP_DRAIN_S,
    });
    result.steps.push(measured);
    const failed = stepHeld(measured, context.options.p99Limit);
    context.log(
      `  ${server.kind} ${fmtRate(rate)} msg/s: p99 ${measured.latency.p99.toFixed(1)} ms, ` +
        `delivered ${measured.delivered}/${measured.expected}, ` +
        `acked ${measured.acked}/${measured.sent}, other CPU ${measured.otherCpu.toFixed(2)}` +
        (failed ? ` — failed: ${failed}` : ""),
    );
    // Let anything still queued from this step drain before the next one starts.
    await settle(300);
    return measured;
  }
}

async function sweepServer(context: ScenarioContext, server: ServerHandle): Promise<SweepResult> {
  const { options } = context;
  const shape = `${options.rooms}×${options.clients} ws`;
  const tally = new Tally("s0");
  const fleet = await openFleet({
    server,
    roomPrefix: "sweep",
    rooms: options.rooms,
    clientsPerRoom: options.clients,
    transports: ["ws"],
    tally,
  });
  const result: SweepResult = {
    server: server.kind,
    shape,
    steps: [],
    heldRate: 0,
    heldRates: [],
    stopReason: "",
    heldEveryRate: false,
  };
  const stepper = new Stepper(context, server, fleet, tally, result);
  try {
    await settle(500);
    // Coarse: multiply the rate until a rate fails twice.
    let failedRate = 0;
    for (let rate = options.sweepStart, step = 0; step < MAX_STEPS; step++) {
      if (rate > options.sweepMax) {
        result.stopReason = `reached --sweep-max ${options.sweepMax}`;
        result.heldEveryRate = true;
        break;
      }
      const failed = await stepper.tryRate(rate);
      if (failed) {
        result.stopReason = `at ${fmtRate(rate)} msg/s: ${failed}`;
        failedRate = rate;
        break;
      }
      result.heldRate = rate;
      rate = Math.round(rate * options.sweepFactor);
    }
    if (failedRate === 0 && !result.heldEveryRate) {
      result.stopReason = `held every rate in ${MAX_STEPS} steps`;
      result.heldEveryRate = true;
    }
    // Fine: bisect (geometrically) between the last rate that held and the one that failed.
    for (let i = 0; i < options.sweepRefine && failedRate > 0 && result.heldRate > 0; i++) {
      const rate = Math.round(Math.sqrt(result.heldRate * failedRate));
      if (rate <= result.heldRate || rate >= failedRate) break;
      const failed = await stepper.tryRate(rate);
      if (failed) {
        result.stopReason = `at ${fmtRate(rate)} msg/s: ${failed}`;
        failedRate = rate;
      } else {
        result.heldRate = rate;
      }
    }
  } finally {
    await fleet.close();
  }
  return result;
}

/** The sweep with the median held rate (the lower middle one of an even count), told all rates. */
export function medianSweep(runs: SweepResult[]): SweepResult {
  const sorted = [...runs].sort((a, b) => a.heldRate - b.heldRate);
  return {
    ...sorted[Math.floor((sorted.length - 1) / 2)],
    heldRates: runs.map((run) => run.heldRate),
  };
}

/**
 * `sweep`: on one fleet per server, multiplies the offered rate (× `--sweep-factor`) until a
 * rate fails — p99 past the limit, a refused send or a lost delivery, twice in a row — then
 * bisects between the last rate that held and the first that failed, and records the highest
 * rate that held. Near saturation one sweep's result is a matter of luck (the generator and the
 * server share the cores), so each server is swept `--sweep-runs` times, taking turns with the
 * others, and the sweep with the median held rate stands for it.
 */
export async function sweep(context: ScenarioContext): Promise<void> {
  const { servers, sweepRuns } = context.options;
  const runs: SweepResult[][] = servers.map(() => []);
  for (let run = 1; run <= sweepRuns; run++) {
    for (const [index, kind] of servers.entries()) {
      context.log(`sweep ${run} of ${sweepRuns} on ${kind}…`);
      runs[index].push(await withServer(context, kind, (server) => sweepServer(context, server)));
    }
  }
  context.report.sweeps.push(...runs.map(medianSweep));
}
