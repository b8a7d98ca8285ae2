/**
 * Starts the server under test as a child process — Parley with `deno serve` (as deployed, with
 * `--parallel` on the workers `deno task start` picks; on one worker; or on two), or a ceiling
 * server (in memory, or durable) — on a free port, waits until it answers, and stops it again.
 *
 * @module
 */
import { workerJobsHere } from "../scripts/worker_count.ts";
import { threadCpuSeconds, treeCpuSeconds, treeRssKiB, treeStorageBytesWritten } from "./proc.ts";

/**
 * Which server runs: Parley as `deno task start` runs it (`DENO_JOBS`, else one worker per core
 * but one), Parley on one worker or on two, the in-memory ceiling, or the durable ceiling (the
 * ceiling with the least store that persists every message before delivering it) with a key per
 * message or, as `ceiling-kv-log`, one value per commit.
 */
export type ServerKind =
  | "parley"
  | "parley-1w"
  | "parley-2w"
  | "ceiling"
  | "ceiling-kv"
  | "ceiling-kv-log";

/** All server kinds, in the order the benchmark reports them. */
export const SERVER_KINDS: readonly ServerKind[] = [
  "parley",
  "parley-1w",
  "parley-2w",
  "ceiling",
  "ceiling-kv",
  "ceiling-kv-log",
];

/** Whether a server kind is Parley itself (the ceilings speak WebSocket alone, keep no history). */
export function isParley(kind: ServerKind): boolean {
  return kind.startsWith("parley");
}

/** The `DENO_JOBS` a Parley server kind runs with `--parallel`; undefined: no `--parallel`. */
function parallelJobs(kind: ServerKind): string | undefined {
  if (kind === "parley") return workerJobsHere();
  return kind === "parley-2w" ? "2" : undefined;
}

/** How to start a server. */
export interface StartOptions {
  /** The Parley checkout to run (its `main.ts` and `deno.json`). */
  root: URL;
  /** Listen on every address (`0.0.0.0`), so clients can spread over 127.0.0.x; default 127.0.0.1. */
  allAddresses?: boolean;
  /** Write V8 CPU profiles of the server into this folder when it stops. */
  cpuProfDir?: string;
  /** Settings over the defaults (`PARLEY_LIMITS=off` and a new temporary `PARLEY_KV_PATH`). */
  env?: Record<string, string>;
}

/** A running server child process. */
export interface ServerHandle {
  kind: ServerKind;
  pid: number;
  port: number;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** The origin on another loopback address, e.g. `ws://127.0.0.3:PORT` (needs `allAddresses`). */
  originAt(host: string, scheme?: "http" | "ws"): string;
  /** The server's resident memory now, in KiB. */
  rssKiB(): number;
  /** CPU seconds the server has used so far. */
  cpuSeconds(): number;
  /** CPU seconds each server thread has used so far (see `threadCpuSummary`). */
  threadCpu(): Map<string, number>;
  /** Bytes the server has sent to storage so far (its KV file, mostly); undefined if unknown. */
  storageBytesWritten(): number | undefined;
  /** The last lines the server wrote to stdout and stderr. */
  log(): string;
  /** The exit code once the server has exited on its own (or been stopped), else undefined. */
  exitCode(): number | undefined;
  /** Stops the server (SIGINT, then SIGKILL after a grace period) and removes its KV files. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const LOG_KEEP_CHARS = 4_000;

/** A TCP port that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function serverArgs(
  kind: ServerKind,
  jobs: string | undefined,
  host: string,
  port: number,
  options: StartOptions,
): string[] {
  const profile = options.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`] : [];
  const common = ["--host", host, "--port", String(port), ...profile];
  if (kind === "ceiling") {
    const ceiling = new URL("./ceiling_server.ts", import.meta.url).pathname;
    return ["serve", "--allow-env=PARLEY_DELIVERY_INTERVAL_MS", ...common, ceiling];
  }
  if (kind === "ceiling-kv" || kind === "ceiling-kv-log") {
    const durable = new URL("./durable_ceiling_server.ts", import.meta.url).pathname;
    const permissions = [
      "--allow-env=PARLEY_DELIVERY_INTERVAL_MS,PARLEY_KV_PATH,PARLEY_CEILING_LAYOUT",
      "--allow-read",
      "--allow-write",
    ];
    return ["serve", ...permissions, ...common, durable];
  }
  const permissions = ["--allow-net", "--allow-env", "--allow-read", "--allow-write"];
  const parallel = jobs === undefined ? [] : ["--parallel"];
  return ["serve", ...parallel, ...permissions, ...common, "main.ts"];
}

async function waitUntilAnswering(origin: string, child: Deno.ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  child.status.then(() => exited = true);
  let answered = 0;
  // With --parallel, each worker starts on its own: ask a few times in a row.
  while (answered < 5) {
    if (exited) throw new Error("the server exited while starting");
    if (Date.now() > deadline) {
      throw new Error(`the server did not answer within ${READY_TIMEOUT_MS} ms`);
    }
    try {
      const response = await fetch(`${origin}/api/rooms`);
      await response.body?.cancel();
      answered = response.ok ? answered + 1 : 0;
    } catch {
      answered = 0;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function drainLog(stream: ReadableStream<Uint8Array>, keep: { text: string }): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    keep.text = (keep.text + decoder.decode(chunk, { stream: true })).slice(-LOG_KEEP_CHARS);
  }
}

/** Starts a server of the given kind on a free port and resolves once it answers HTTP. */
export async function startServer(kind: ServerKind, options: StartOptions): Promise<ServerHandle> {
  const port = freePort();
  const host = options.allAddresses ? "0.0.0.0" : "127.0.0.1";
  const kvDir = await Deno.makeTempDir({ prefix: "parley-bench-" });
  const jobs = parallelJobs(kind);
  const child = new Deno.Command(Deno.execPath(), {
    args: serverArgs(kind, jobs, host, port, options),
    cwd: options.root,
    env: {
      PARLEY_LIMITS: "off",
      PARLEY_KV_PATH: `${kvDir}/parley.kv`,
      NO_COLOR: "1",
      ...(jobs === undefined ? {} : { DENO_JOBS: jobs }),
      ...(kind === "ceiling-kv-log" ? { PARLEY_CEILING_LAYOUT: "log" } : {}),
      ...options.env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const log = { text: "" };
  drainLog(child.stdout, log).catch(() => {});
  drainLog(child.stderr, log).catch(() => {});
  const origin = `http://127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  let exitCode: number | undefined;
  child.status.then((status) => exitCode = status.code);
  const handle: ServerHandle = {
    kind,
    pid: child.pid,
    port,
    origin,
    originAt: (address, scheme = "http") => `${scheme}://${address}:${port}`,
    rssKiB: () => treeRssKiB(child.pid),
    cpuSeconds: () => treeCpuSeconds(child.pid),
    threadCpu: () => threadCpuSeconds(child.pid),
    storageBytesWritten: () => treeStorageBytesWritten(child.pid),
    log: () => log.text,
    exitCode: () => exitCode,
    stop: () =>
      stopped ??= (async () => {
        try {
          child.kill("SIGINT");
        } catch {
          // Already gone.
        }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // Already gone.
          }
        }, STOP_GRACE_MS);
        await child.status;
        clearTimeout(timer);
        await Deno.remove(kvDir, { recursive: true }).catch(() => {});
      })(),
  };
  try {
    await waitUntilAnswering(origin, child);
  } catch (error) {
    await handle.stop();
    throw new Error(`Cannot start ${kind}: ${(error as Error).message}\n${log.text}`);
  }
  return handle;
}
