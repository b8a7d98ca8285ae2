import { DEFAULT_LIMITS, type LimitSettings } from "./limits.ts";

/** Server settings, read from environment variables. */
export interface Config {
  /** Where the KV store lives: a file path, `:memory:`, a KV Connect URL, or undefined on Deno Deploy. */
  kvPath: string | undefined;
  /** Rate limits and connection caps, or null when `PARLEY_LIMITS=off` turns them all off. */
  limits: LimitSettings | null;
  /** Take the client IP from `X-Forwarded-For` (set `PARLEY_TRUST_PROXY=on` behind a proxy). */
  trustProxy: boolean;
  /**
   * Origins other than the server's own that may open live streams and change state, from
   * `PARLEY_ALLOWED_ORIGINS`, each normalised as `URL.origin` serialises it.
   */
  allowedOrigins: string[];
  /**
   * The `Host` values (`hostname[:port]`, lowercase) the server answers, from `PARLEY_HOSTS`; empty
   * to answer any. Naming them stops DNS rebinding: another site whose name resolves to this
   * server reaching it from a visitor's browser.
   */
  hosts: string[];
  /** How many messages each room keeps, from `PARLEY_HISTORY_LIMIT` (default 10,000). */
  historyLimit: number;
  /** Whether to write structured log lines (`PARLEY_LOG=off` silences them). */
  log: boolean;
  /**
   * Seconds a WebSocket may stay silent (`PARLEY_WS_IDLE_TIMEOUT`, default 60): it is pinged
   * half-way, and closed when the ping gets no answer.
   */
  wsIdleTimeout: number;
  /**
   * Seconds a request body may take to arrive in full (`PARLEY_BODY_TIMEOUT`, default 10): past
   * that the request is answered 408 `body_timeout`, and nothing of it is used.
   */
  bodyTimeout: number;
  /** The session signing secret from `PARLEY_SECRET`; undefined to generate one and keep it in KV. */
  secret: string | undefined;
  /**
   * The least time between two deliveries of a busy room to its sockets and streams, in ms
   * (`PARLEY_DELIVERY_INTERVAL_MS`, default 20; 0 sends each commit's messages as they come).
   */
  deliveryIntervalMs: number;
  /**
   * How many workers the process runs, from `DENO_JOBS` (which `deno serve --parallel` and
   * `deno task start` use); undefined when it is not set.
   */
  workers?: number;
}

/** A setting, or the store it names, that cannot be used: the server stops with its message. */
export class SettingError extends Error {
  /**
   * @param message what is wrong, naming the variable
   * @param options the underlying error, if any
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SettingError";
  }
}

/** How often a busy room's deliveries go out at most, unless `PARLEY_DELIVERY_INTERVAL_MS` says. */
export const DEFAULT_DELIVERY_INTERVAL_MS = 20;

/** The longest delivery interval `PARLEY_DELIVERY_INTERVAL_MS` may set, in ms. */
const MAX_DELIVERY_INTERVAL_MS = 1000;

/** The longest `PARLEY_WS_IDLE_TIMEOUT`, in seconds: a day (Deno's timers overflow past 49 days). */
const MAX_WS_IDLE_TIMEOUT = 86_400;

/** Seconds a request body may take to arrive, unless `PARLEY_BODY_TIMEOUT` says. */
export const DEFAULT_BODY_TIMEOUT = 10;

/** The longest `PARLEY_BODY_TIMEOUT`, in seconds: an hour. */
const MAX_BODY_TIMEOUT = 3_600;

/** The KV file used when `PARLEY_KV_PATH` is not set. */
export const DEFAULT_KV_PATH = "data/parley.kv";

/** Reads the configuration from the environment (or any getter shaped like `Deno.env.get`). */
export function readConfig(
  getEnv: (name: string) => string | undefined = (name) => Deno.env.get(name),
): Config {
  const onDeploy = getEnv("DENO_DEPLOYMENT_ID") !== undefined;
  const kvPath = parseKvPath(getEnv("PARLEY_KV_PATH")) || (onDeploy ? undefined : DEFAULT_KV_PATH);
  const limits = parseSwitch(getEnv("PARLEY_LIMITS"), "PARLEY_LIMITS", true)
    ? readLimits(getEnv)
    : null;
  const trustProxy = parseSwitch(getEnv("PARLEY_TRUST_PROXY"), "PARLEY_TRUST_PROXY", false);
  const allowedOrigins = parseAllowedOrigins(getEnv("PARLEY_ALLOWED_ORIGINS") ?? "");
  const hosts = parseHosts(getEnv("PARLEY_HOSTS") ?? "");
  const historyLimit =
    parsePositiveInteger(getEnv("PARLEY_HISTORY_LIMIT"), "PARLEY_HISTORY_LIMIT") ??
      DEFAULT_HISTORY_LIMIT;
  const log = parseSwitch(getEnv("PARLEY_LOG"), "PARLEY_LOG", true);
  const wsIdleTimeout = parseIntegerInRange(
    getEnv("PARLEY_WS_IDLE_TIMEOUT"),
    "PARLEY_WS_IDLE_TIMEOUT",
    { min: 1, max: MAX_WS_IDLE_TIMEOUT },
  ) ?? 60;
  const bodyTimeout = parseIntegerInRange(
    getEnv("PARLEY_BODY_TIMEOUT"),
    "PARLEY_BODY_TIMEOUT",
    { min: 1, max: MAX_BODY_TIMEOUT },
  ) ?? DEFAULT_BODY_TIMEOUT;
  const secret = parseSecret(getEnv("PARLEY_SECRET"));
  const deliveryIntervalMs = readDeliveryInterval(getEnv);
  const jobs = getEnv("DENO_JOBS");
  const workers = jobs !== undefined && /^[1-9]\d{0,3}$/.test(jobs) ? Number(jobs) : undefined;
  return {
    kvPath,
    limits,
    trustProxy,
    allowedOrigins,
    hosts,
    historyLimit,
    log,
    secret,
    wsIdleTimeout,
    bodyTimeout,
    deliveryIntervalMs,
    workers,
  };
}

/** The variable that sets each limit (none is read when `PARLEY_LIMITS=off`). */
export const LIMIT_SETTINGS: Readonly<Record<keyof LimitSettings, string>> = {
  messagesPerSecond: "PARLEY_MESSAGE_RATE",
  messageBurst: "PARLEY_MESSAGE_BURST",
  connectionsPerIp: "PARLEY_CONNECTIONS_PER_IP",
  roomsPerMinute: "PARLEY_ROOMS_PER_MINUTE",
};

function readLimits(getEnv: (name: string) => string | undefined): LimitSettings {
  const setting = (limit: keyof LimitSettings) =>
    parsePositiveInteger(getEnv(LIMIT_SETTINGS[limit]), LIMIT_SETTINGS[limit]) ??
      DEFAULT_LIMITS[limit];
  return {
    messagesPerSecond: setting("messagesPerSecond"),
    messageBurst: setting("messageBurst"),
    connectionsPerIp: setting("connectionsPerIp"),
    roomsPerMinute: setting("roomsPerMinute"),
  };
}

/**
 * Checks `PARLEY_KV_PATH`: a file path, `:memory:`, or a KV Connect URL. Deno opens only
 * `http://` and `https://` URLs, in lowercase, as KV Connect, and any other would be taken for a
 * file name (`HTTP://kv.example.com` a folder `HTTP:`), so those are refused.
 */
function parseKvPath(value: string | undefined): string | undefined {
  if (value && /^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !/^https?:\/\//.test(value)) {
    throw new SettingError(
      `Invalid PARLEY_KV_PATH "${value}": a KV Connect URL starts with http:// or https:// ` +
        `(in lowercase); a file path has no scheme`,
    );
  }
  return value;
}

/** The least length of `PARLEY_SECRET`, not counting spaces at its ends. */
const MIN_SECRET_LENGTH = 32;

/**
 * Checks `PARLEY_SECRET` here, with the other settings, so that `deno task start` refuses a short
 * one before it starts any worker (and before it prints what the server runs with).
 */
function parseSecret(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (value.trim().length < MIN_SECRET_LENGTH) {
    throw new SettingError(
      `Invalid PARLEY_SECRET: it must be at least ${MIN_SECRET_LENGTH} characters long, ` +
        `not counting spaces at its ends`,
    );
  }
  return value;
}

/** How many messages a room keeps unless `PARLEY_HISTORY_LIMIT` says otherwise. */
export const DEFAULT_HISTORY_LIMIT = 10_000;

/** Reads `PARLEY_DELIVERY_INTERVAL_MS` (see {@link Config.deliveryIntervalMs}); throws when invalid. */
export function readDeliveryInterval(getEnv: (name: string) => string | undefined): number {
  return parseIntegerInRange(
    getEnv("PARLEY_DELIVERY_INTERVAL_MS"),
    "PARLEY_DELIVERY_INTERVAL_MS",
    { min: 0, max: MAX_DELIVERY_INTERVAL_MS },
  ) ?? DEFAULT_DELIVERY_INTERVAL_MS;
}

/**
 * Parses an optional on/off setting (unset or empty: `fallback`); throws naming the variable for
 * anything else, so that `true` or `OFF` does not silently leave a setting as it was.
 */
export function parseSwitch(value: string | undefined, name: string, fallback: boolean): boolean {
  if (value === undefined || value === "") return fallback;
  if (value === "on") return true;
  if (value === "off") return false;
  throw new SettingError(`Invalid ${name} "${value}": expected on or off`);
}

/** The largest whole number a setting may hold: nine digits. */
const MAX_SETTING = 999_999_999;

/** Parses an optional positive integer setting; throws naming the variable when it is not one. */
export function parsePositiveInteger(value: string | undefined, name: string): number | undefined {
  return parseIntegerInRange(value, name, { min: 1, max: MAX_SETTING }, "a positive whole number");
}

/**
 * Parses an optional whole-number setting within `range` (inclusive); throws naming the variable
 * and what was `expected` (by default the range) when it is not one.
 */
export function parseIntegerInRange(
  value: string | undefined,
  name: string,
  range: { min: number; max: number },
  expected = `a whole number from ${range.min} to ${range.max}`,
): number | undefined {
  if (value === undefined || value === "") return undefined;
  const number = /^(0|[1-9]\d{0,8})$/.test(value) ? Number(value) : NaN;
  if (!(number >= range.min && number <= range.max)) {
    throw new SettingError(`Invalid ${name} "${value}": expected ${expected}`);
  }
  return number;
}

/**
 * Parses a comma-separated list of exact origins such as `https://chat.example.com`, normalised
 * with `URL` (lowercase host, no default port, no trailing slash). Throws on any entry that is
 * not a bare http(s) origin, so a typo stops the server instead of silently locking clients out.
 */
export function parseAllowedOrigins(value: string): string[] {
  const origins = new Set<string>();
  for (const entry of value.split(",").map((part) => part.trim())) {
    if (entry === "") continue;
    origins.add(parseOrigin(entry));
  }
  return [...origins];
}

/**
 * Parses `PARLEY_HOSTS`: comma-separated hosts as browsers send them in `Host`, a name or
 * address with its port unless it is the default one (`chat.example.com`, `192.168.1.5:8000`).
 */
export function parseHosts(value: string): string[] {
  const hosts = new Set<string>();
  for (const entry of value.split(",").map((part) => part.trim().toLowerCase())) {
    if (entry === "") continue;
    // URL accepts "*" in a hostname, so a wildcard would otherwise pass as a literal host.
    if (entry.includes("*")) {
      throw new SettingError(
        `Invalid PARLEY_HOSTS entry "${entry}": wildcards are not supported; list each host ` +
          `browsers use, such as chat.example.com, separated by commas`,
      );
    }
    let host: string | undefined;
    try {
      host = new URL(`http://${entry}`).host;
    } catch {
      host = undefined;
    }
    // Round-trips only as browsers send it: no scheme, path, credentials or a port of 80.
    if (host !== entry) {
      throw new SettingError(
        `Invalid PARLEY_HOSTS entry "${entry}": list hosts such as chat.example.com or ` +
          `192.168.1.5:8000, without a scheme or path, separated by commas`,
      );
    }
    hosts.add(entry);
  }
  return [...hosts];
}

function parseOrigin(entry: string): string {
  const invalid = (why: string) =>
    new SettingError(
      `Invalid PARLEY_ALLOWED_ORIGINS entry "${entry}": ${why}; ` +
        `list exact origins such as https://chat.example.com, separated by commas`,
    );
  // URL accepts "*" in a hostname, so a wildcard would otherwise pass as a literal host.
  if (entry.includes("*")) throw invalid("wildcards are not supported");
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    throw invalid("it is not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw invalid("the scheme must be http or https");
  }
  if (url.username !== "" || url.password !== "") throw invalid("it must not carry credentials");
  // The href of a bare origin is the origin plus "/"; anything more is a path, query or fragment.
  if (url.href !== `${url.origin}/`) throw invalid("an origin has no path, query or fragment");
  return url.origin;
}
