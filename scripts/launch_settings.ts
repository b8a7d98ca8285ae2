/**
 * What `deno task start` reads from the environment before it starts `deno serve`: the port, the
 * address to listen on and the worker count, checked so that a bad value stops the launch with
 * one line naming the variable.
 *
 * @module
 */
import { parseIntegerInRange, SettingError } from "../lib/config.ts";
import { workerJobs } from "./worker_count.ts";

/** How `deno serve` is started. */
export interface LaunchSettings {
  port: number;
  /** The address to listen on: every IPv4 interface (`0.0.0.0`) by default. */
  host: string;
  /** How many `--parallel` workers (`DENO_JOBS`). */
  jobs: number;
}

const MAX_JOBS = 256;
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const IPV6 = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$/;

/**
 * `PARLEY_HOST` as `deno serve --host` takes it: a host name, an IPv4 address, or an IPv6
 * address (bracketed here if it was not).
 */
function listenAddress(host: string): string {
  if (HOST_NAME.test(host)) return host;
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (IPV6.test(bare)) return `[${bare}]`;
  throw new SettingError(
    `Invalid PARLEY_HOST "${host}": expected a host name or an IPv4 or IPv6 address to listen on`,
  );
}

/**
 * Reads the launch settings from `env` (a lookup of environment variables) on a machine with
 * `cores` cores; throws `SettingError` for a value that cannot be used.
 */
export function readLaunchSettings(
  env: (name: string) => string | undefined,
  cores: number,
): LaunchSettings {
  const port = parseIntegerInRange(env("PORT"), "PORT", { min: 0, max: 65_535 }) ?? 8000;
  const host = listenAddress(env("PARLEY_HOST") || "0.0.0.0");
  const jobsSet = env("DENO_JOBS");
  const jobs = parseIntegerInRange(workerJobs(jobsSet, cores), "DENO_JOBS", {
    min: 1,
    max: MAX_JOBS,
  }) ?? 1;
  if (env("PARLEY_KV_PATH") === ":memory:" && jobs > 1) {
    if (jobsSet) {
      throw new SettingError(
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
