/**
 * Runs the server with `deno serve` on `PARLEY_HOST` (default `0.0.0.0`: every IPv4 interface) and
 * `PORT` (default 8000): with `--parallel` on `DENO_JOBS` workers (default: one per core but one,
 * see `worker_count.ts`; one for a store in memory), or with `--watch` (one worker, restart on
 * change) when given `--dev`. See `launch_settings.ts`.
 * SIGINT and SIGTERM are passed on, and SIGHUP (a terminal closing) as SIGTERM; the script exits
 * with the server's exit code: 0 after a graceful shutdown, in development too (where the watcher
 * stays up after it until the signal comes again). A second signal, a second or more after the
 * first, kills the server at once.
 *
 * @module
 */
import { readConfig, SettingError } from "../lib/config.ts";
import {
  combinationWarnings,
  kvPathWarnings,
  settingsSummary,
  unknownSettingWarnings,
  unreadLimitWarnings,
} from "./launch_notes.ts";
import { type LaunchSettings, readLaunchSettings, serveArgs } from "./launch_settings.ts";
import { listenProblem } from "./listen_problem.ts";

const dev = Deno.args.includes("--dev");
const env = Deno.env.toObject();
let settings: LaunchSettings;
try {
  settings = readLaunchSettings((name) => env[name], navigator.hardwareConcurrency);
  const config = readConfig((name) => env[name]);
  const problem = listenProblem(settings);
  if (problem) throw new SettingError(problem);
  // On standard error: standard output is the server's JSON log lines.
  for (const warning of unknownSettingWarnings(Object.keys(env))) console.error(warning);
  for (const warning of combinationWarnings(settings, config)) console.error(warning);
  for (const warning of unreadLimitWarnings((name) => env[name], config)) console.error(warning);
  for (const warning of kvPathWarnings(config)) console.error(warning);
  console.error(settingsSummary(settings, config));
} catch (error) {
  if (!(error instanceof SettingError)) throw error;
  console.error(`Cannot start Parley: ${error.message}`);
  Deno.exit(1);
}
const root = new URL("..", import.meta.url);
const server = new Deno.Command(Deno.execPath(), {
  args: serveArgs(settings, dev),
  cwd: root,
  // `--watch` runs one worker, and the server counts its workers from DENO_JOBS.
  env: { DENO_JOBS: dev ? "1" : String(settings.jobs) },
}).spawn();
const bundler = dev
  ? new Deno.Command(Deno.execPath(), { args: ["task", "build", "--watch"], cwd: root }).spawn()
  : undefined;

/** Sends a signal to a child that may have exited already. */
function signal(child: Deno.ChildProcess | undefined, name: Deno.Signal): void {
  try {
    child?.kill(name);
  } catch {
    // It has exited already.
  }
}

// How often the first signal is passed on again while the server runs: a `--parallel` worker
// that was still starting when it came never saw it (deno 2.9), and would serve on forever.
// Workers already stopping ignore the repeats.
const RESEND_MS = 1_000;
// One Ctrl+C (or `systemctl stop`) signals the whole process group: this script gets it from
// the terminal and again from `deno task` passing it on, moments apart. Only a signal this long
// after the first is a second one.
const REPEAT_AFTER_MS = 1_000;
// The signal the server gets for each one this script stops on: a terminal that closes sends
// SIGHUP, and the server stops on SIGTERM.
const PASSED_ON: ReadonlyArray<[Deno.Signal, Deno.Signal]> = [
  ["SIGINT", "SIGINT"],
  ["SIGTERM", "SIGTERM"],
  ["SIGHUP", "SIGTERM"],
];
let firstSignalAt: number | undefined;
/** The signal passed on to the server, once one has been. */
let passedOn: Deno.Signal | undefined;
let resend: ReturnType<typeof setInterval> | undefined;
for (const [received, name] of PASSED_ON) {
  Deno.addSignalListener(received, () => {
    // The first signal asks for a graceful shutdown (the server may also have had it from the
    // terminal, which is harmless); a second one, like a second Ctrl+C, kills it at once.
    if (firstSignalAt !== undefined) {
      if (performance.now() - firstSignalAt < REPEAT_AFTER_MS) return;
      signal(server, "SIGKILL");
      signal(bundler, "SIGKILL");
      return;
    }
    firstSignalAt = performance.now();
    passedOn = name;
    signal(server, name);
    signal(bundler, name);
    resend = setInterval(() => signal(server, name), RESEND_MS);
  });
}
const status = await server.status;
clearInterval(resend);
signal(bundler, "SIGTERM");
// `deno serve --watch` does not exit after its server's graceful shutdown: it waits for a file to
// change, until the signal passed on again ends it. In development that is how a stop ends.
Deno.exit(dev && status.signal !== null && status.signal === passedOn ? 0 : status.code);
