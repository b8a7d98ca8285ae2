/**
 * Graceful shutdown of one `deno serve` worker.
 *
 * On SIGTERM or SIGINT, `deno serve` (2.9) already stops accepting connections, closes open
 * WebSockets with 1001 and waits for in-flight requests. That alone never finishes for Parley:
 * an event stream or a waiting long poll is a request that does not end by itself, a hub watch
 * or linger timer keeps the worker alive, and appends sent over a WebSocket belong to no request
 * at all. {@link GracefulShutdown} ends all of those (see `closeServices`), waits for every append
 * to be committed, closes KV, and then lets the worker's event loop run dry, so the process exits
 * with code 0. Deno 2.9.6 may keep a worker alive regardless (a WebSocket whose client dropped
 * the connection without a close frame), so once as many workers as `DENO_JOBS` says have said
 * they are done (`lib/roll_call.ts`), one still up {@link EXIT_GRACE_MS} later ends the
 * process with code 0. It never calls `Deno.exit` before that: under `--parallel` that would end
 * every worker, including one still committing. A shutdown that misses its deadline ends the
 * process with code 1.
 *
 * `deno serve` does nothing on SIGHUP (a terminal closing, some supervisors), which would then end
 * the process at once, however much was in flight; so a worker that gets SIGHUP sends the process
 * SIGTERM, and the shutdown goes as above.
 *
 * @module
 */
import { RollCall } from "./roll_call.ts";
import { shuttingDown } from "./errors.ts";
import type { MessageLog } from "./message_log.ts";
import { closeServices, closeStore, type Services } from "./services.ts";

/** How long a shutdown may take before the process is ended anyway, in ms. */
export const SHUTDOWN_DEADLINE_MS = 4_000;

/** The exit code of a shutdown that missed its deadline. */
export const SHUTDOWN_TIMEOUT_EXIT_CODE = 1;

/**
 * How long the process may stay up once every worker has finished its shutdown before one of them
 * ends it (see {@link RollCall}), in ms.
 */
export const EXIT_GRACE_MS = 1_000;

/** How often a shutdown that waits for in-flight work ends whatever opened meanwhile, in ms. */
const SWEEP_MS = 50;

/**
 * What a shutdown that missed its deadline logs: whether this worker's own work was done, and so
 * it waited for another worker, or for Deno (see {@link EXIT_GRACE_MS}).
 */
function deadlineMessage(deadlineMs: number, drained: boolean): string {
  const exiting = `exiting with code ${SHUTDOWN_TIMEOUT_EXIT_CODE}`;
  if (!drained) return `Shutdown did not finish within ${deadlineMs} ms: ${exiting}`;
  return `This worker's shutdown finished (every append committed, the store closed), but the ` +
    `process was still running after ${deadlineMs} ms: another worker had not finished, or Deno ` +
    `kept this one alive for a connection (a client that stopped reading, or a WebSocket dropped ` +
    `without a close frame, a Deno 2.9.6 bug): ${exiting}`;
}

/** The signals a server stops on; SIGTERM cannot be listened for on Windows. */
const STOP_SIGNALS: readonly Deno.Signal[] = ["SIGTERM", "SIGINT"];

/** The signal that stops the server by way of SIGTERM (see the module documentation). */
const HANG_UP: Deno.Signal = "SIGHUP";

/** A request handler as `deno serve` calls it. */
export type FetchHandler = (
  request: Request,
  info: Deno.ServeHandlerInfo,
) => Response | Promise<Response>;

/** Options of {@link GracefulShutdown}. */
export interface ShutdownOptions {
  /** How long the shutdown may take; default {@link SHUTDOWN_DEADLINE_MS}. */
  deadlineMs?: number;
  /**
   * Runs when the deadline passes, told whether this worker's own shutdown had finished (and it
   * waited for another worker, or for Deno); default: log which, and exit with
   * {@link SHUTDOWN_TIMEOUT_EXIT_CODE}.
   */
  onDeadline?: (drained: boolean) => void;
  /**
   * Runs when every worker has finished its shutdown and the process is still up
   * {@link EXIT_GRACE_MS} later; default: log and exit with code 0.
   */
  onStuck?: () => void;
}

/**
 * Tracks this worker's in-flight requests and appends, and shuts the worker down gracefully:
 * `listen()` starts {@link GracefulShutdown.shutdown} on SIGTERM and SIGINT, and on SIGHUP by
 * sending the process SIGTERM.
 */
export class GracefulShutdown {
  #services: Services;
  #pending = new Set<Promise<unknown>>();
  #done: Promise<void> | undefined;
  /** Whether this worker's shutdown has done all its work (appends committed, store closed). */
  #drained = false;
  #deadlineMs: number;
  #onDeadline: (drained: boolean) => void;
  #onStuck: () => void;
  /** The roll call of this process's workers, when `DENO_JOBS` says how many there are. */
  #roll: RollCall | undefined;

  /**
   * @param services this worker's services; their log's appends are tracked from now on
   * @param options see {@link ShutdownOptions}
   */
  constructor(services: Services, options: ShutdownOptions = {}) {
    this.#services = services;
    this.#deadlineMs = options.deadlineMs ?? SHUTDOWN_DEADLINE_MS;
    this.#onDeadline = options.onDeadline ?? ((drained) => {
      console.error(deadlineMessage(this.#deadlineMs, drained));
      Deno.exit(SHUTDOWN_TIMEOUT_EXIT_CODE);
    });
    this.#onStuck = options.onStuck ?? (() => {
      console.error(
        `Every worker finished its shutdown but the process was still running ${EXIT_GRACE_MS} ms ` +
          `later, held by Deno for a connection: one whose client stopped reading what was sent ` +
          `to it, or a WebSocket whose client dropped the connection without closing it (a Deno ` +
          `2.9.6 bug): exiting with code 0`,
      );
      Deno.exit(0);
    });
    const { workers } = services.config;
    if (workers !== undefined) this.#roll = new RollCall(workers);
    trackAppends(services.log, (pending) => this.#track(pending));
  }

  /** Whether a shutdown has started. */
  get stopping(): boolean {
    return this.#done !== undefined;
  }

  /**
   * Wraps the app's request handler: tracks each request until its response is ready, and once
   * the shutdown has started answers any request that still arrives (on a kept-alive
   * connection) with a retryable 503.
   */
  handler(fetch: FetchHandler): FetchHandler {
    return (request, info) => {
      if (this.stopping) return shuttingDown().toResponse();
      return this.#track(Promise.resolve().then(() => fetch(request, info)));
    };
  }

  /**
   * Starts the shutdown on SIGTERM and SIGINT, and on SIGHUP sends the process SIGTERM, so that
   * `deno serve` stops too; a repeated signal changes nothing.
   */
  listen(): void {
    const listen = (signal: Deno.Signal, listener: () => void) => {
      try {
        Deno.addSignalListener(signal, listener);
      } catch {
        // Not every signal can be listened for everywhere (SIGTERM and SIGHUP on Windows).
      }
    };
    for (const signal of STOP_SIGNALS) listen(signal, () => void this.shutdown());
    listen(HANG_UP, () => {
      try {
        // Deno 2.9 lets a process signal itself without --allow-run.
        Deno.kill(Deno.pid, "SIGTERM");
      } catch {
        // Then this worker stops alone; the roll call or the deadline ends the process.
        void this.shutdown();
      }
    });
  }

  /**
   * Shuts down once (later calls return the same promise): ends sockets with 1001, event
   * streams and waiting polls; waits for in-flight requests and appends, ending whatever they
   * open meanwhile; then closes KV. Arms the deadline, which does not keep the worker alive.
   */
  shutdown(): Promise<void> {
    this.#done ??= this.#run();
    return this.#done;
  }

  async #run(): Promise<void> {
    const started = performance.now();
    const { connections, events, hub, stopping } = this.#services;
    // First give up the bodies still arriving, with a retryable 503: Deno's own shutdown, in this
    // same signal, cuts them off next, and their reads would fail (400 `body_incomplete`).
    stopping.abort();
    events.writeOwn("shutdown_start", {
      ws: connections.count("ws"),
      sse: connections.count("sse"),
      poll: hub.waitingPolls,
      in_flight: this.#pending.size,
    });
    const deadline = setTimeout(() => this.#onDeadline(this.#drained), this.#deadlineMs);
    Deno.unrefTimer(deadline);
    // `deno serve` listens for the signal too, after this module ran: let it go first. It stops
    // accepting and closes the WebSockets itself; closing them from here in the same tick raced
    // with it, and about one shutdown in 25 left a socket closed uncleanly that its drain then
    // waited for until the deadline.
    await new Promise((resolve) => setTimeout(resolve, 0));
    this.#closeLiveTraffic();
    while (this.#pending.size > 0) {
      let tick: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...this.#pending]),
        new Promise((resolve) => tick = setTimeout(resolve, SWEEP_MS)),
      ]);
      clearTimeout(tick);
      // A request that was already running may have opened a stream or a poll since.
      this.#closeLiveTraffic();
    }
    try {
      closeStore(this.#services);
    } catch (error) {
      console.error("Cannot close the message store on shutdown:", error);
    }
    // A subscribe that was past its KV reads when the hub closed still opens its room's feed and
    // starts the hub's head-check timer, which would keep the worker alive. With KV closed,
    // every such subscribe settles at once: end what they opened.
    await new Promise((resolve) => setTimeout(resolve, SWEEP_MS));
    this.#closeLiveTraffic();
    this.#drained = true;
    // The count of log lines left out waits for a timer the process may not live to see.
    events.flush();
    events.writeOwn("shutdown_finished", { ms: Math.round(performance.now() - started) });
    if (this.#roll === undefined) return;
    // Once every worker is done, nothing is left to lose: end the process if Deno keeps it up.
    await this.#roll.done();
    this.#roll.close();
    Deno.unrefTimer(setTimeout(() => this.#onStuck(), EXIT_GRACE_MS));
  }

  #closeLiveTraffic(): void {
    try {
      closeServices(this.#services);
    } catch (error) {
      console.error("Cannot end every connection on shutdown:", error);
    }
  }

  #track<T>(pending: Promise<T>): Promise<T> {
    this.#pending.add(pending);
    const forget = () => this.#pending.delete(pending);
    pending.then(forget, forget);
    return pending;
  }
}

/**
 * Reports every append of a log to `track` as it starts, by wrapping the instance's `append`
 * and `appendHere` (which commits appends other workers forwarded here). Stands in for a
 * `MessageLog` method that waits until no append is in flight.
 */
function trackAppends(
  log: MessageLog,
  track: <T>(pending: Promise<T>) => Promise<T>,
): void {
  const append = log.append.bind(log);
  log.append = (room, input) => track(append(room, input));
  const appendHere = log.appendHere.bind(log);
  log.appendHere = (room, input) => track(appendHere(room, input));
}
