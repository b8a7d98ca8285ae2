/**
 * A child process of the `idle` scenario: opens its share of idle WebSockets, reports once on
 * stdout as one JSON line, holds them until its stdin closes (or `maxSeconds` pass), then exits.
 * Each process stays well under the per-process open-file limit.
 *
 * Usage: `deno run --allow-net bench/idle_worker.ts '<IdleWorkerConfig as JSON>'`
 *
 * @module
 */

/** What one idle worker opens. */
export interface IdleWorkerConfig {
  port: number;
  /** Loopback addresses to connect to, used in turn (the server listens on all of them). */
  hosts: string[];
  /** Rooms `roomPrefix-0` … `roomPrefix-(rooms-1)`, used in turn. */
  roomPrefix: string;
  rooms: number;
  /** This worker's connections are numbered `from` … `from + count - 1`. */
  from: number;
  count: number;
  /** How many connections may be opening at once. */
  concurrency: number;
  /** Exit after this long even if stdin stays open. */
  maxSeconds: number;
}

/** What an idle worker reports once its sockets are open. */
export interface IdleWorkerReport {
  opened: number;
  failed: number;
  seconds: number;
  firstError?: string;
}

const OPEN_TIMEOUT_MS = 30_000;

function openOne(url: string, sockets: WebSocket[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error("timed out waiting for welcome"));
    }, OPEN_TIMEOUT_MS);
    socket.onmessage = () => {
      clearTimeout(timer);
      socket.onmessage = null;
      sockets.push(socket);
      resolve();
    };
    socket.onerror = () => {};
    socket.onclose = (event) => {
      clearTimeout(timer);
      reject(new Error(`closed before welcome: ${event.code} ${event.reason}`));
    };
  });
}

async function main(config: IdleWorkerConfig): Promise<void> {
  const sockets: WebSocket[] = [];
  const report: IdleWorkerReport = { opened: 0, failed: 0, seconds: 0 };
  const start = performance.now();
  let next = config.from;
  const end = config.from + config.count;
  const lane = async () => {
    for (let i = next++; i < end; i = next++) {
      const host = config.hosts[i % config.hosts.length];
      const room = `${config.roomPrefix}-${i % config.rooms}`;
      try {
        await openOne(`ws://${host}:${config.port}/api/rooms/${room}/ws`, sockets);
        report.opened++;
      } catch (error) {
        report.failed++;
        report.firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: config.concurrency }, lane));
  report.seconds = (performance.now() - start) / 1000;
  console.log(JSON.stringify(report));
  const timer = setTimeout(() => Deno.exit(0), config.maxSeconds * 1000);
  for await (const _ of Deno.stdin.readable) {
    // Hold the sockets until the parent closes our stdin.
  }
  clearTimeout(timer);
  for (const socket of sockets) socket.close(1000);
  Deno.exit(0);
}

if (import.meta.main) {
  await main(JSON.parse(Deno.args[0]) as IdleWorkerConfig);
}
