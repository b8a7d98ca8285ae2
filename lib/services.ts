import type { Config } from "./config.ts";
import { Hub } from "./hub.ts";
import { MessageLog } from "./message_log.ts";

/** What request handlers need: the store, the log on it, this worker's hub and the settings. */
export interface Services {
  kv: Deno.Kv;
  log: MessageLog;
  hub: Hub;
  config: Config;
}

// Long-poll clients leave and come back every cycle; keep their room's watch meanwhile.
const HUB_LINGER_MS = 5_000;

/** Wires the log and hub onto an open KV store. */
export function createServices(kv: Deno.Kv, config: Config): Services {
  const log = new MessageLog(kv);
  return { kv, log, hub: new Hub(kv, log, { lingerMs: HUB_LINGER_MS }), config };
}

/** The Hono environment every route shares: services are set on each request. */
export interface AppEnv {
  Variables: { services: Services };
}
