/**
 * How many workers `deno task start` asks `deno serve --parallel` for.
 *
 * @module
 */

/**
 * The worker count when `DENO_JOBS` is not set: one per core but one, and at least one. The
 * spare core is for the threads every worker leans on (the KV store's SQLite writer, V8's
 * garbage collector, the kernel's network stack): on two cores one worker measured level with two
 * or ahead in every benchmark scenario, and several times ahead in the fan-out sweep
 * (docs/PERFORMANCE.md).
 */
export function defaultWorkerCount(cores: number): number {
  return Math.max(1, Math.floor(cores) - 1);
}

/** The `DENO_JOBS` to start with: the one set in `env` when it is set, else the default. */
export function workerJobs(env: string | undefined, cores: number): string {
  return env || String(defaultWorkerCount(cores));
}

/** The `DENO_JOBS` `deno task start` starts with on this machine, in this environment. */
export function workerJobsHere(): string {
  return workerJobs(Deno.env.get("DENO_JOBS"), navigator.hardwareConcurrency);
}
