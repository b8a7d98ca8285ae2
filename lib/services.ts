import type { BodyOptions } from "./body.ts";
import type { Config } from "./config.ts";
import { ConnectionRegistry } from "./connections.ts";
import { Directory } from "./directory.ts";
import { EventLog } from "./event_log.ts";
import { Hub } from "./hub.ts";
import { Limits } from "./limits.ts";
import { MessageLog } from "./message_log.ts";
import { Metrics } from "./metrics.ts";
import { MetricsGatherer } from "./metrics_gather.ts";
import { isLocalFile, isLocalStore } from "./open_kv.ts";
import { Presence } from "./presence.ts";
import { loadSecret, type Session, Sessions } from "./session.ts";
import { ThrottledErrors } from "./throttled_errors.ts";
import { WorkerLink } from "./worker_link.ts";

/** What request handlers need: the store, the log on it, this worker's hub and the settings. */
export interface Services {
  kv: Deno.Kv;
  log: MessageLog;
  hub: Hub;
  /** This worker's open WebSockets and event streams. */
  connections: ConnectionRegistry;
  /** This worker's rate limits and connection caps. */
  limits: Limits;
  /** This worker's counters and histograms, for `GET /metrics`. */
  metrics: Metrics;
  /** Gathers the other workers' metrics for `GET /metrics`, when linked with them. */
  metricsGatherer: MetricsGatherer | undefined;
  /** Structured log lines for connections and rejections. */
  events: EventLog;
  /** Signs and checks who is speaking. */
  sessions: Sessions;
  /** Who is online and typing, across workers. */
  presence: Presence;
  /** The rooms as the directory lists them. */
  directory: Directory;
  /** The link to the other workers of this process on the same KV file, if any. */
  link: WorkerLink | undefined;
  /** Failed health checks for standard error: anyone may ask `/healthz` while KV fails. */
  healthFailures: ThrottledErrors;
  /** Failed commits of this worker's appends for standard error (while the disk is full). */
  storeFailures: ThrottledErrors;
  /** Aborted as the shutdown starts: a request body still arriving is then given up. */
  stopping: AbortController;
  config: Config;
}

/**
 * The channel `--parallel` workers on one local KV file share, or undefined when workers cannot
 * share the store (`:memory:`) or have nothing to gain (KV Connect, Deno Deploy).
 */
export function workerChannelName(kvPath: string | undefined): string | undefined {
  if (kvPath === undefined || !isLocalFile(kvPath)) return undefined;
  return `parley:${new URL(kvPath, `file://${Deno.cwd()}/`).pathname}`;
}

// Long-poll clients leave and come back every cycle; keep their room's watch meanwhile.
const HUB_LINGER_MS = 5_000;
// Separate processes on one KV file do not wake each other's watches, and presence expires
// without a wake-up: check heads and presence marks (and expiries) this often.
const HUB_HEAD_CHECK_MS = 1_000;

/** Wires the log, hub and sessions onto an open KV store. */
export async function createServices(kv: Deno.Kv, config: Config): Promise<Services> {
  const metrics = new Metrics();
  const storeFailures = new ThrottledErrors();
  const log = new MessageLog(kv, {
    failures: storeFailures,
    historyLimit: config.historyLimit,
    // The shared log saves pages of a SQLite file; on a remote store (KV Connect, Deno Deploy),
    // where several isolates or machines write, every conflict would read all its values again.
    sharedLog: config.kvPath !== undefined && isLocalStore(config.kvPath),
    onCommit: (seconds, messages) => {
      metrics.commitSeconds.observe(seconds);
      metrics.batchSize.observe(messages);
    },
  });
  const sessions = new Sessions(await loadSecret(kv, config.secret));
  const presence = new Presence(kv, {
    authorIdOf: (sid, room) => sessions.authorId({ sid }, room),
  });
  const channel = workerChannelName(config.kvPath);
  const link = channel === undefined ? undefined : new WorkerLink(log, channel);
  const hub = new Hub(kv, log, {
    lingerMs: HUB_LINGER_MS,
    headCheckMs: HUB_HEAD_CHECK_MS,
    presence,
    // Linked, every commit of this process reaches the hub through the log: no watches needed.
    watch: link === undefined,
    deliveryIntervalMs: config.deliveryIntervalMs,
  });
  const connections = new ConnectionRegistry();
  metrics.gauge("parley_open_connections", "Open connections of this worker, by transport", () => [
    [{ transport: "ws" }, connections.count("ws")],
    [{ transport: "sse" }, connections.count("sse")],
    [{ transport: "poll" }, hub.waitingPolls],
  ]);
  metrics.gauge(
    "parley_long_poll_waiters",
    "Long-poll requests waiting for a message",
    () => [[{}, hub.waitingPolls]],
  );
  metrics.gauge(
    "parley_watched_rooms",
    "Rooms this worker watches in KV",
    () => [[{}, hub.watchedRooms]],
  );
  metrics.counter(
    "parley_messages_appended_total",
    "Messages stored by this worker",
    () => [[{}, log.stats.appended]],
  );
  metrics.gauge(
    "parley_shared_log_values",
    "Shared log values that still hold messages, as this worker's writer knows them",
    () => [[{}, log.liveLogValues]],
  );
  metrics.gauge(
    "parley_store_writes_failing",
    "1 while this worker's appends fail in the store (as on a full disk), else 0",
    () => [[{}, log.writes.failingSince() === undefined ? 0 : 1]],
  );
  metrics.gauge(
    "parley_worker_peers",
    "Other workers of this process this worker is linked with",
    () => [[{}, link?.peers ?? 0]],
  );
  metrics.counter(
    "parley_appends_forwarded_total",
    "Appends this worker forwarded to the writing worker",
    () => [[{}, link?.stats.forwarded ?? 0]],
  );
  metrics.counter(
    "parley_forward_timeouts_total",
    "Forwarded appends this worker committed itself after the writer did not answer within 1 s",
    () => [[{}, link?.stats.timedOut ?? 0]],
  );
  metrics.gauge(
    "parley_memory_bytes",
    "Resident memory of the process (all workers), and this worker's V8 heap and external memory",
    () => {
      const memory = Deno.memoryUsage();
      return [
        [{ kind: "rss" }, memory.rss],
        [{ kind: "heap_total" }, memory.heapTotal],
        [{ kind: "heap_used" }, memory.heapUsed],
        [{ kind: "external" }, memory.external],
      ];
    },
  );
  const metricsGatherer = link === undefined ? undefined : new MetricsGatherer(
    `${channel}:metrics`,
    link.id.slice(0, 8),
    metrics,
    () => link.peers,
    (config.workers ?? 1) > 1,
  );
  return {
    kv,
    log,
    hub,
    connections,
    limits: new Limits(config.limits),
    metrics,
    metricsGatherer,
    events: new EventLog(config.log),
    sessions,
    presence,
    directory: new Directory(log, presence),
    link,
    healthFailures: new ThrottledErrors(),
    storeFailures,
    stopping: new AbortController(),
    config,
  };
}

/**
 * Ends a session's spell of typing in a room as it sends a message (see
 * `Presence.stoppedTyping`), and tells the room's readers if one ended. Never rejects.
 */
export async function endTypingSpell(
  services: Pick<Services, "presence" | "hub">,
  room: string,
  session: Session,
): Promise<void> {
  try {
    if (await services.presence.stoppedTyping(room, session)) {
      await services.hub.refreshPresence(room);
    }
  } catch {
    // Presence is best effort: the entry runs out by itself within seconds.
  }
}

/** WebSocket close code for a server going away. */
const GOING_AWAY = 1001;

/**
 * Ends this worker's live traffic for a shutdown: sockets close with 1001, event streams end,
 * waiting polls answer. The KV store stays open for its owner to close.
 */
export function closeServices(services: Services): void {
  services.connections.closeAll(GOING_AWAY, "server shutting down");
  services.hub.close();
  services.presence.close();
  services.link?.leave();
}

/**
 * How a route reads a request body on this worker: within `PARLEY_BODY_TIMEOUT`, and given up as
 * a shutdown starts (see `lib/body.ts`).
 */
export function bodyOptions(services: Services): BodyOptions {
  return { timeout: services.config.bodyTimeout, signal: services.stopping.signal };
}

/** The Hono environment every route shares: services are set on each request. */
export interface AppEnv {
  Variables: { services: Services };
}

/**
 * Closes the KV store and leaves the worker link for good: the last step of a shutdown, after
 * {@link closeServices} and once the appends in flight have settled. Failures counted but not yet
 * written are written now: the process may end before their line's timer.
 */
export function closeStore(services: Services): void {
  services.healthFailures.flush();
  services.storeFailures.flush();
  services.metricsGatherer?.close();
  services.link?.close();
  services.kv.close();
}
