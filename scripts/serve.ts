/**
 * Runs the server with `deno serve` on the port named by `PORT` (default 8000): with `--parallel`
 * on `DENO_JOBS` workers (default: one per core but one, see `worker_count.ts`), or with
 * `--watch` (one worker, restart on change) when given `--dev`.
 * SIGINT and SIGTERM are passed on, and the script exits with the server's exit code: 0 after a
 * graceful shutdown. A second signal kills the server at once.
 *
 * @module
 */
import { workerJobsHere } from "./worker_count.ts";

const dev = Deno.args.includes("--dev");
const port = Deno.env.get("PORT") ?? "8000";
if (!/^\d{1,5}$/.test(port)) {
  console.error(`Cannot start Parley: PORT must be a port number, got "${port}"`);
  Deno.exit(1);
}
const permissions = ["--allow-net", "--allow-env", "--allow-read", "--allow-write"];
const mode = dev ? ["--watch"] : ["--parallel"];
const root = new URL("..", import.meta.url);
const server = new Deno.Command(Deno.execPath(), {
  args: ["serve", ...mode, ...permissions, "--port", port, "main.ts"],
  cwd: root,
  // `--watch` runs one worker, and the server counts its workers from DENO_JOBS.
  env: { DENO_JOBS: dev ? "1" : workerJobsHere() },
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
let signals = 0;
let resend: ReturnType<typeof setInterval> | undefined;
for (const name of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(name, () => {
    // The first signal asks for a graceful shutdown (the server may also have had it from the
    // terminal, which is harmless); a second one, like a second Ctrl+C, kills it at once.
    if (++signals > 1) {
      signal(server, "SIGKILL");
      signal(bundler, "SIGKILL");
      return;
    }
    signal(server, name);
    signal(bundler, name);
    resend = setInterval(() => signal(server, name), RESEND_MS);
  });
}
const { code } = await server.status;
clearInterval(resend);
signal(bundler, "SIGTERM");
Deno.exit(code);
