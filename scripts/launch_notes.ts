/**
 * What `deno task start` tells the operator before it starts the server: one line with the
 * settings it runs with, and a warning for each setting that looks like a mistake (a `PARLEY_*`
 * name Parley does not know, which is otherwise ignored without a word, proxy headers trusted
 * from every address of the machine, a host name for the KV file).
 *
 * @module
 */
import { type Config, LIMIT_SETTINGS } from "../lib/config.ts";
import type { LaunchSettings } from "./launch_settings.ts";

/** Every `PARLEY_*` variable the server reads (see the settings table in docs/DEPLOY.md). */
export const SERVER_SETTINGS: readonly string[] = [
  "PARLEY_HOST",
  "PARLEY_KV_PATH",
  "PARLEY_SECRET",
  "PARLEY_HISTORY_LIMIT",
  "PARLEY_ALLOWED_ORIGINS",
  "PARLEY_HOSTS",
  "PARLEY_TRUST_PROXY",
  "PARLEY_LIMITS",
  "PARLEY_MESSAGE_RATE",
  "PARLEY_MESSAGE_BURST",
  "PARLEY_CONNECTIONS_PER_IP",
  "PARLEY_ROOMS_PER_MINUTE",
  "PARLEY_WS_IDLE_TIMEOUT",
  "PARLEY_BODY_TIMEOUT",
  "PARLEY_DELIVERY_INTERVAL_MS",
  "PARLEY_LOG",
];

/** `PARLEY_*` variables of the tests and the benchmark, which the server leaves alone. */
const TOOL_SETTINGS = ["PARLEY_CHROMIUM", "PARLEY_UPDATE_SCREENSHOTS", "PARLEY_CEILING_LAYOUT"];

/** How many single-character edits turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

/** The known setting `name` is most likely a misspelling of, if any is close. */
function closestSetting(name: string): string | undefined {
  let best: { setting: string; distance: number } | undefined;
  for (const setting of SERVER_SETTINGS) {
    const distance = editDistance(name, setting);
    if (distance <= 3 && (best === undefined || distance < best.distance)) {
      best = { setting, distance };
    }
  }
  return best?.setting;
}

/** A warning for each `PARLEY_*` name in `names` that no part of Parley reads. */
export function unknownSettingWarnings(names: Iterable<string>): string[] {
  const warnings: string[] = [];
  for (const name of [...names].sort()) {
    if (!name.startsWith("PARLEY_") || SERVER_SETTINGS.includes(name)) continue;
    if (TOOL_SETTINGS.includes(name)) continue;
    const closest = closestSetting(name);
    warnings.push(
      `Warning: ${name} is not a Parley setting and is ignored` +
        (closest ? ` (did you mean ${closest}?)` : "") + "; see docs/DEPLOY.md#settings",
    );
  }
  return warnings;
}

/** The address and port as a URL's host: `0.0.0.0:8000`, `[::1]:8000`. */
function listenOn(settings: LaunchSettings): string {
  return `${settings.host}:${settings.port === 0 ? "(a free port)" : settings.port}`;
}

/**
 * One line with the settings the server runs with. It says when any `Host` is answered rather
 * than warning: that is the default, and DNS rebinding reaches a server on loopback as well as on
 * a LAN, so no listening address makes it safe or unsafe by itself.
 */
export function settingsSummary(settings: LaunchSettings, config: Config): string {
  const { limits: caps } = config;
  const limits = caps === null
    ? "limits off"
    : `limits on (${caps.messagesPerSecond} messages/s, ` +
      `burst ${caps.messageBurst}, ${caps.connectionsPerIp} connections per address, ` +
      `${caps.roomsPerMinute} new rooms/min)`;
  const workers = `${settings.jobs} worker${settings.jobs === 1 ? "" : "s"}`;
  const store = config.kvPath ?? "Deno Deploy's KV";
  const hosts = config.hosts.length === 0
    ? "any Host answered (PARLEY_HOSTS unset)"
    : `Host ${config.hosts.join(" or ")} only`;
  return `Parley: ${workers} on ${listenOn(settings)}, messages in ${store}, ` +
    `${config.historyLimit} kept per room, ${limits}, ` +
    `X-Forwarded-For ${config.trustProxy ? "trusted" : "not trusted"}, ${hosts}`;
}

/**
 * What listening on an address that stands for many says, by address: `::` takes IPv4 too where
 * the system allows it (Linux by default, unless `net.ipv6.bindv6only` is 1).
 */
const EVERY_INTERFACE: Record<string, string> = {
  "0.0.0.0": "every IPv4 interface",
  "[::]": "every interface",
};

/** Warnings for settings that work together badly. */
export function combinationWarnings(settings: LaunchSettings, config: Config): string[] {
  const everyInterface = EVERY_INTERFACE[settings.host];
  if (!config.trustProxy || everyInterface === undefined) return [];
  return [
    `Warning: PARLEY_TRUST_PROXY=on while listening on ${everyInterface} (${settings.host}): ` +
    `anyone who reaches port ${settings.port} directly can set X-Forwarded-For and pass for any ` +
    `address, past every per-address limit. Behind a proxy on this machine, set ` +
    `PARLEY_HOST=127.0.0.1`,
  ];
}

/**
 * A warning for each limit setting given a value (`env` looks variables up) while
 * `PARLEY_LIMITS=off` turns every limit off: the server reads none of them, so the value is
 * neither checked nor used.
 */
export function unreadLimitWarnings(
  env: (name: string) => string | undefined,
  config: Config,
): string[] {
  if (config.limits !== null) return [];
  return Object.values(LIMIT_SETTINGS).filter((name) => env(name)).map((name) =>
    `Warning: ${name} is ignored: PARLEY_LIMITS=off turns every rate limit and connection cap off`
  );
}

/** A host name, with a port or not, and no file extension a store would have. */
const HOST_LIKE = /^(?:localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})(?::\d+)?$/i;
const STORE_EXTENSION = /\.(?:kv|db|sqlite3?)$/i;

/**
 * A warning for a `PARLEY_KV_PATH` that names a host rather than a file (`kv.example.com`): Deno
 * would open a new, empty file of that name in the working folder, and the server run on it.
 */
export function kvPathWarnings(config: Config): string[] {
  const path = config.kvPath;
  if (path === undefined || !HOST_LIKE.test(path) || STORE_EXTENSION.test(path)) return [];
  return [
    `Warning: PARLEY_KV_PATH "${path}" looks like a host name, and is taken for a file of that ` +
    `name in the working folder; a KV Connect URL starts with https://`,
  ];
}
