/**
 * The command line of `deno task bench`: which scenarios to run and how big and long each is.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { SERVER_KINDS, type ServerKind } from "./server_process.ts";
import { openFileLimit } from "./proc.ts";

/** The scenarios, in the order the default run goes through them. */
export const SCENARIOS = ["fanout", "poll", "mixed", "append", "idle", "sweep"] as const;

/** A scenario name. */
export type Scenario = typeof SCENARIOS[number];

/** The ways the append scenario can send: WebSocket frames or `POST` requests. */
export const APPEND_VIA = ["ws", "post"] as const;

/** One way of sending appends. */
export type AppendVia = typeof APPEND_VIA[number];

/** Everything the command line sets. */
export interface BenchOptions {
  scenarios: Scenario[];
  /** Update docs/PERFORMANCE.md and docs/perf-sweep.svg. */
  write: boolean;
  /** Servers the WebSocket-only scenarios (fanout, idle, sweep) run against. */
  servers: ServerKind[];
  /** The Parley checkout to benchmark. */
  root: URL;
  /** Folder for V8 CPU profiles of the servers, when profiling. */
  cpuProfDir?: string;
  rooms: number;
  clients: number;
  /** Messages/s each client sends in fanout, poll and mixed. */
  rate: number;
  duration: number;
  warmup: number;
  drain: number;
  appendSenders: number;
  appendRooms: number;
  appendDuration: number;
  /** Messages each WebSocket sender keeps unacknowledged in the many-rooms run at capacity. */
  appendWindow: number;
  /** How appends are sent, each way in a run of its own. */
  appendVia: AppendVia[];
  idleConnections: number;
  idleRooms: number;
  /** Seconds the idle sockets are held before the server's memory is read. */
  idleHold: number;
  sweepStart: number;
  sweepFactor: number;
  /** Geometric bisection steps after the first rate that failed; each halves the gap's ratio. */
  sweepRefine: number;
  sweepStep: number;
  sweepMax: number;
  /** How many times each server is swept; the median stands for it. */
  sweepRuns: number;
  p99Limit: number;
}

/** The idle target: this many idle WebSockets. */
export const IDLE_TARGET = 20_000;
/** Descriptors a server needs besides its sockets: its KV file, listener, pipes, and some spare. */
const SPARE_FILES = 500;

/** As many idle sockets as the target asks for, or as the server's open-file limit allows. */
function defaultIdleConnections(): number {
  const limit = openFileLimit();
  return limit === undefined ? IDLE_TARGET : Math.min(IDLE_TARGET, limit - SPARE_FILES);
}

/** The usage text. */
export const USAGE = `Usage: deno task bench [SCENARIO...] [--write] [flags]

Scenarios: ${SCENARIOS.join(", ")} (default: all of them, quick sizes)

  --write                 update docs/PERFORMANCE.md and docs/perf-sweep.svg
  --servers LIST          servers: parley, parley-1w, parley-2w, ceiling, ceiling-kv,
                          ceiling-kv-log (default parley,ceiling; parley runs the workers
                          \`deno task start\` picks, parley-1w and parley-2w one and two;
                          ceiling-kv is the ceiling storing every message in KV under a key
                          of its own before delivering it, ceiling-kv-log one value a commit)
  --rooms N --clients N   fan-out shape: rooms × clients per room (default 10 × 50)
  --rate R                messages/s each client sends in fanout/poll/mixed (default 0.2)
  --duration S            seconds of load in fanout/poll/mixed (default 6; --warmup 1, --drain 3)
  --append-senders N      concurrent senders on the one hot room (default 500)
  --append-rooms N        rooms, one sender each, for the many-rooms run (default 500)
  --append-duration S     seconds of each append run (default 5)
  --append-window N       unacknowledged messages each WebSocket sender keeps in the extra
                          many-rooms run at capacity (default 8; 1 leaves that run out)
  --append-via LIST       how appends are sent: ws, post or both (default ws,post)
  --idle-connections N    idle WebSockets (default 20,000, or the open-file limit less 500)
  --idle-rooms N          rooms they spread over (default 100)
  --idle-hold S           seconds they are held before memory is read (default 65: past
                          every socket's first ping and the garbage of opening them)
  --sweep-start R         first offered rate, messages/s over all clients (default 50)
  --sweep-factor F        rate multiplier per step (default 2), then the bisection steps
  --sweep-refine N        geometric bisection steps after the first rate that failed (default
                          2: held rates 2^(1/4) apart; 3: 2^(1/8), one step more per sweep)
  --sweep-step S          seconds per step (default 3)
  --sweep-max R           no rate above it is tried (default 200000), a bound on the run's
                          length: a sweep that stops there holds at least what it shows
  --sweep-runs N          sweeps per server, taking turns; the median counts (default 3)
  --p99-limit MS          p99 a sweep step must stay within (default 50)
  --cpu-prof DIR          write V8 CPU profiles of the servers into DIR
  --root DIR              the Parley checkout to benchmark (default: this one)`;

function number(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    throw new Error(`--${name} must be a positive number`);
  }
  return parsed;
}

function wholeNumber(value: string | undefined, name: string, fallback: number): number {
  const parsed = number(value, name, fallback);
  if (!Number.isInteger(parsed)) throw new Error(`--${name} must be a whole number`);
  return parsed;
}

/** Parses the command line; throws with a readable message on a bad one. */
export function parseBenchArgs(args: string[]): BenchOptions {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      write: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
      servers: { type: "string" },
      root: { type: "string" },
      "cpu-prof": { type: "string" },
      rooms: { type: "string" },
      clients: { type: "string" },
      rate: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      drain: { type: "string" },
      "append-senders": { type: "string" },
      "append-rooms": { type: "string" },
      "append-duration": { type: "string" },
      "append-window": { type: "string" },
      "append-via": { type: "string" },
      "idle-connections": { type: "string" },
      "idle-rooms": { type: "string" },
      "idle-hold": { type: "string" },
      "sweep-start": { type: "string" },
      "sweep-factor": { type: "string" },
      "sweep-refine": { type: "string" },
      "sweep-step": { type: "string" },
      "sweep-max": { type: "string" },
      "sweep-runs": { type: "string" },
      "p99-limit": { type: "string" },
    },
  });
  if (values.help) throw new Error(USAGE);
  const scenarios = positionals.length === 0 ? [...SCENARIOS] : positionals.map((name) => {
    const scenario = SCENARIOS.find((each) => each === name);
    if (!scenario) throw new Error(`Unknown scenario "${name}"\n\n${USAGE}`);
    return scenario;
  });
  const servers = (values.servers ?? "parley,ceiling").split(",").map((name) => {
    const kind = SERVER_KINDS.find((each) => each === name.trim());
    if (!kind) throw new Error(`Unknown server "${name}"; use ${SERVER_KINDS.join(", ")}`);
    return kind;
  });
  const sweepFactor = number(values["sweep-factor"], "sweep-factor", 2);
  if (sweepFactor <= 1) throw new Error("--sweep-factor must be greater than 1");
  const via = [
    ...new Set((values["append-via"] ?? "ws,post").split(",").map((name) => name.trim())),
  ].map((name) => {
    const each = APPEND_VIA.find((way) => way === name);
    if (!each) throw new Error(`Unknown --append-via "${name}"; use ${APPEND_VIA.join(", ")}`);
    return each;
  });
  const root = values.root
    ? new URL(`file://${Deno.realPathSync(values.root)}/`)
    : new URL("..", import.meta.url);
  return {
    scenarios,
    write: values.write,
    servers,
    root,
    cpuProfDir: values["cpu-prof"],
    rooms: Math.round(number(values.rooms, "rooms", 10)),
    clients: Math.round(number(values.clients, "clients", 50)),
    rate: number(values.rate, "rate", 0.2),
    duration: number(values.duration, "duration", 6),
    warmup: values.warmup === "0" ? 0 : number(values.warmup, "warmup", 1),
    drain: number(values.drain, "drain", 3),
    appendSenders: Math.round(number(values["append-senders"], "append-senders", 500)),
    appendRooms: Math.round(number(values["append-rooms"], "append-rooms", 500)),
    appendDuration: number(values["append-duration"], "append-duration", 5),
    appendWindow: wholeNumber(values["append-window"], "append-window", 8),
    appendVia: via,
    idleConnections: Math.round(
      number(values["idle-connections"], "idle-connections", defaultIdleConnections()),
    ),
    idleRooms: Math.round(number(values["idle-rooms"], "idle-rooms", 100)),
    idleHold: number(values["idle-hold"], "idle-hold", 65),
    sweepStart: number(values["sweep-start"], "sweep-start", 50),
    sweepFactor,
    sweepRefine: wholeNumber(values["sweep-refine"], "sweep-refine", 2),
    sweepStep: number(values["sweep-step"], "sweep-step", 3),
    sweepMax: number(values["sweep-max"], "sweep-max", 200_000),
    sweepRuns: Math.max(1, Math.round(number(values["sweep-runs"], "sweep-runs", 3))),
    p99Limit: number(values["p99-limit"], "p99-limit", 50),
  };
}
