import { createRooms, roomIds } from "../clients/rooms.ts";
import { fmtMiB } from "../format.ts";
import type { IdleWorkerConfig, IdleWorkerReport } from "../idle_worker.ts";
import { threadCpuSummary } from "../proc.ts";
import type { ServerHandle } from "../server_process.ts";
import { type ScenarioContext, settle, withServer } from "./context.ts";

/** Connections per client process: well under the 20,000 open files one process may have here. */
const PER_WORKER = 8_000;
/** Connections per destination address, under the ~28,000 ephemeral ports of one address pair. */
const PER_ADDRESS = 25_000;
const WORKER_MAX_SECONDS = 600;
const REPORT_TIMEOUT_MS = 180_000;

interface RunningWorker {
  report: Promise<IdleWorkerReport>;
  stop(): Promise<void>;
}

function spawnWorker(config: IdleWorkerConfig): RunningWorker {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      new URL("../idle_worker.ts", import.meta.url).pathname,
      JSON.stringify(config),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const report = (async () => {
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of child.stdout) {
      text += decoder.decode(chunk, { stream: true });
      const newline = text.indexOf("\n");
      if (newline >= 0) return JSON.parse(text.slice(0, newline)) as IdleWorkerReport;
    }
    throw new Error("an idle worker exited without a report");
  })();
  return {
    report,
    stop: async () => {
      await stdin.close().catch(() => {});
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await child.status;
      clearTimeout(timer);
    },
  };
}

async function idleRun(
  context: ScenarioContext,
  server: ServerHandle,
  hosts: string[],
): Promise<void> {
  const { options } = context;
  const total = options.idleConnections;
  const prefix = "idle";
  await createRooms(server.origin, roomIds(prefix, options.idleRooms));
  await settle();
  const rssBeforeKiB = server.rssKiB();
  const workers: RunningWorker[] = [];
  for (let from = 0; from < total; from += PER_WORKER) {
    workers.push(spawnWorker({
      port: server.port,
      hosts,
      roomPrefix: prefix,
      rooms: options.idleRooms,
      from,
      count: Math.min(PER_WORKER, total - from),
      concurrency: 100,
      maxSeconds: WORKER_MAX_SECONDS,
    }));
  }
  try {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reports = await Promise.race([
      Promise.all(workers.map((worker) => worker.report)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error("idle workers did not report in time")),
          REPORT_TIMEOUT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    const opened = reports.reduce((sum, each) => sum + each.opened, 0);
    const failed = reports.reduce((sum, each) => sum + each.failed, 0);
    const seconds = Math.max(...reports.map((each) => each.seconds));
    // Just after the burst the heap still holds its garbage and growth; V8 gives much of it back
    // once the server has been idle a while, which is what a server holding idle sockets costs.
    await settle(2000);
    const rssOpenedKiB = server.rssKiB();
    // What holding them costs: the server's CPU over the rest of the hold, past the opening.
    const cpu0 = server.cpuSeconds();
    const threads0 = server.threadCpu();
    const start = performance.now();
    await settle(Math.max(0, options.idleHold * 1000 - 2000));
    const held = (performance.now() - start) / 1000;
    const serverCpu = (server.cpuSeconds() - cpu0) / held;
    const threads = threadCpuSummary(threads0, server.threadCpu(), held);
    const rssAfterKiB = server.rssKiB();
    const perConnection = (rss: number) => opened > 0 ? (rss - rssBeforeKiB) / opened : undefined;
    const notes = [
      `${opened} open in ${seconds.toFixed(1)} s over ${hosts.length} address(es)`,
      `RSS ${fmtMiB(rssOpenedKiB)} MiB (${
        perConnection(rssOpenedKiB)?.toFixed(1)
      } KiB each) 2 s after opening, the columns after ${options.idleHold} s`,
      `server CPU from then on: ${threads || "none"}`,
    ];
    const exitCode = server.exitCode();
    if (exitCode !== undefined) {
      const last = server.log().trim().split("\n").filter((line) => !line.includes('"connection_'));
      const error = last.find((line) => /error/i.test(line)) ?? last.at(-1) ?? "";
      notes.push(`SERVER EXITED with code ${exitCode}: ${error.slice(0, 200)}`);
    }
    if (failed > 0) {
      notes.push(`${failed} failed: ${reports.find((each) => each.firstError)?.firstError}`);
    }
    context.report.rows.push({
      scenario: `idle ${total} ws`,
      server: server.kind,
      connections: opened,
      rssBeforeKiB,
      rssAfterKiB,
      rssPerConnectionKiB: perConnection(rssAfterKiB),
      serverCpu,
      notes,
    });
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
  }
}

/**
 * `idle`: N idle WebSockets spread over rooms, opened by child processes; reports the server's
 * resident memory per connection. Past 25,000 connections the server listens on every address
 * and clients spread over 127.0.0.1, 127.0.0.2, … to get past the ephemeral-port limit.
 */
export async function idle(context: ScenarioContext): Promise<void> {
  const addresses = Math.ceil(context.options.idleConnections / PER_ADDRESS);
  const hosts = Array.from({ length: addresses }, (_, i) => `127.0.0.${i + 1}`);
  for (const kind of context.options.servers) {
    context.log(`idle ${context.options.idleConnections} on ${kind}…`);
    await withServer(context, kind, (server) => idleRun(context, server, hosts), {
      allAddresses: addresses > 1,
    });
  }
}
