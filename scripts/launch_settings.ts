/**
 * What `deno task start` reads from the environment before it starts `deno serve`: the port, the
 * address to listen on and the worker count, checked so that a bad value stops the launch with
 * one line naming the variable.
 *
 * @module
 */
import { workerJobs } from "./worker_count.ts";

/** How `deno serve` is started. */
export interface LaunchSettings {
  port: number;
  /** The address to listen on: every interface by default. */
  host: string;
  /** How many `--parallel` workers (`DENO_JOBS`). */
  jobs: number;
}

const MAX_JOBS = 256;

/** A setting that cannot be used, with a message that names it. */
export class LaunchSettingError extends Error {
  /** @param message what is wrong, naming the variable */
  constructor(message: string) {
    super(message);
    this.name = "LaunchSettingError";
  }
}

function wholeNumber(name: string, value: string, min: number, max: number): number {
  const number = /^\d{1,9}$/.test(value) ? Number(value) : NaN;
  if (!(number >= min && number <= max)) {
    throw new LaunchSettingError(
      `${name} must be a whole number from ${min} to ${max}, got "${value}"`,
    );
  }
  return number;
}

/**
 * Reads the launch settings from `env` (a lookup of environment variables) on a machine with
 * `cores` cores; throws {@link LaunchSettingError} for a value that cannot be used.
 */
export function readLaunchSettings(
  env: (name: string) => string | undefined,
  cores: number,
): LaunchSettings {
  const port = wholeNumber("PORT", env("PORT") || "8000", 0, 65_535);
  const host = env("PARLEY_HOST") || "0.0.0.0";
  if (!/^(?:[A-Za-z0-9.-]+|\[?[0-9A-Fa-f:.]+\]?)$/.test(host)) {
    throw new LaunchSettingError(
      `PARLEY_HOST must be an address or host name to listen on, got "${host}"`,
    );
  }
  const jobsSet = env("DENO_JOBS");
  const jobs = wholeNumber("DENO_JOBS", workerJobs(jobsSet, cores), 1, MAX_JOBS);
  if (env("PARLEY_KV_PATH") === ":memory:" && jobs > 1) {
    if (jobsSet) {
      throw new LaunchSettingError(
        `PARLEY_KV_PATH=:memory: gives every worker a store of its own; run one worker ` +
          `(DENO_JOBS=1), got DENO_JOBS=${jobsSet}`,
      );
    }
    return { port, host, jobs: 1 };
  }
  return { port, host, jobs };
}

/** The `deno serve` arguments for these settings: `--parallel`, or `--watch` in development. */
export function serveArgs(settings: LaunchSettings, dev: boolean): string[] {
  const permissions = ["--allow-net", "--allow-env", "--allow-read", "--allow-write"];
  const mode = dev ? ["--watch"] : ["--parallel"];
  const address = ["--host", settings.host, "--port", String(settings.port)];
  return ["serve", ...mode, ...permissions, ...address, "main.ts"];
}
