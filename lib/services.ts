import type { Config } from "./config.ts";
import { ConnectionRegistry } from "./connections.ts";
import { Hub } from "./hub.ts";
import { Limits } from "./limits.ts";
import { MessageLog } from "./message_log.ts";

/** What request handlers need: the store, the log on it, this worker's hub and the settings. */
export interface Services {
  kv: Deno.Kv;
  log: MessageLog;
  hub: Hub;
  /** This worker's open WebSockets and event streams. */
  connections: ConnectionRegistry;
  /** This worker's rate limits and connection caps. */
  limits: Limits;
  config: Config;
}

// Long-poll clients leave and come back every cycle; keep their room's watch meanwhile.
const HUB_LINGER_MS = 5_000;
// Separate processes on one KV file do not wake each other's watches: check heads this often.
const HUB_HEAD_CHECK_MS = 1_000;

/** Wires the log and hub onto an open KV store. */
export function createServices(kv: Deno.Kv, config: Config): Services {
  const log = new MessageLog(kv, { historyLimit: config.historyLimit });
  const hub = new Hub(kv, log, { lingerMs: HUB_LINGER_MS, headCheckMs: HUB_HEAD_CHECK_MS });
  return {
    kv,
    log,
    hub,
    connections: new ConnectionRegistry(),
    limits: new Limits(config.limits),
    config,
  };
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
}

/** The Hono environment every route shares: services are set on each request. */
export interface AppEnv {
  Variables: { services: Services };
}
