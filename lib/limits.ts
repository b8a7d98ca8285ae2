/**
 * Rate limits and connection caps: token buckets per connection and per client IP, a cap on
 * open connections per IP, and a room-creation limit. `PARLEY_LIMITS=off` turns all of them off.
 * Limits are per worker: with `--parallel`, each worker counts on its own. An IPv6 client counts
 * as its /64 (see `addressBlock`).
 *
 * @module
 */
import { addressBlock } from "./client_ip.ts";
import { ParleyError } from "./errors.ts";

/** The limits in force; see `readConfig` for the settings behind them. */
export interface LimitSettings {
  /** Messages a connection, and separately a client IP, may send per second on average. */
  messagesPerSecond: number;
  /** How many messages may be sent at once before the rate applies. */
  messageBurst: number;
  /** Open WebSockets, event streams and waiting polls per client IP. */
  connectionsPerIp: number;
  /** Rooms a client IP may create per minute (burst of the same size). */
  roomsPerMinute: number;
}

/** The defaults: room for a person typing fast, not for a script flooding a room. */
export const DEFAULT_LIMITS: LimitSettings = {
  messagesPerSecond: 10,
  messageBurst: 20,
  connectionsPerIp: 50,
  roomsPerMinute: 10,
};

/** A token bucket: `burst` tokens, refilled at `ratePerSecond`. */
export class TokenBucket {
  #tokens: number;
  #updated: number;

  /**
   * @param ratePerSecond tokens added per second
   * @param burst the most tokens the bucket holds (and starts with)
   * @param now the current time in ms (from `performance.now()`)
   */
  constructor(readonly ratePerSecond: number, readonly burst: number, now = performance.now()) {
    this.#tokens = burst;
    this.#updated = now;
  }

  /** Takes one token: 0 when allowed, else how many ms until one is available. */
  take(now = performance.now()): number {
    this.#refill(now);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) / this.ratePerSecond) * 1000);
  }

  /** Whether the bucket is full again, so forgetting it changes nothing. */
  full(now = performance.now()): boolean {
    this.#refill(now);
    return this.#tokens >= this.burst;
  }

  #refill(now: number): void {
    this.#tokens = Math.min(
      this.burst,
      this.#tokens + ((now - this.#updated) / 1000) * this.ratePerSecond,
    );
    this.#updated = now;
  }
}

const SWEEP_EVERY = 1024;

/** Token buckets by key (a client IP), forgetting full ones so memory stays bounded. */
class KeyedBuckets {
  #buckets = new Map<string, TokenBucket>();
  #takes = 0;

  constructor(readonly ratePerSecond: number, readonly burst: number) {}

  take(key: string): number {
    if (++this.#takes % SWEEP_EVERY === 0) this.#sweep();
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.ratePerSecond, this.burst);
      this.#buckets.set(key, bucket);
    }
    return bucket.take();
  }

  #sweep(): void {
    const now = performance.now();
    for (const [key, bucket] of this.#buckets) if (bucket.full(now)) this.#buckets.delete(key);
  }
}

/** The 429 error for a client over a rate limit; `what` names what was limited. */
export function rateLimited(what: string, retryAfterMs: number): ParleyError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new ParleyError(429, "rate_limited", `Too many ${what}: try again in ${seconds} s`, {
    retryAfterMs,
  });
}

/** The 429 error for a client IP with too many open connections. */
export function tooManyConnections(): ParleyError {
  return new ParleyError(
    429,
    "too_many_connections",
    "Too many open connections from this address: close some and try again",
  );
}

/**
 * WebSocket upgrades refused with a close frame whose close the client has not finished, per
 * IP: Deno holds such a socket until the client answers the close, which one that never does
 * would do for good. Past this many, refusals go out as plain HTTP answers.
 */
export const MAX_REFUSING_PER_IP = 5;

/**
 * How long a session counts towards its address's sessions shown present without a connection
 * (see {@link Limits.showsPresent}): as long as a long-poll client's presence lasts.
 */
export const PRESENCE_WINDOW_MS = 40_000;

/** Drops the sessions whose time counting towards their address has run out by `now`. */
function forgetExpired(sessions: Map<string, number>, now: number): void {
  for (const [id, until] of sessions) if (until <= now) sessions.delete(id);
}

/** The limits of one worker; every check passes when constructed with `null` (limits off). */
export class Limits {
  #settings: LimitSettings | null;
  /** Per IP, the sessions it has shown present by request, and until when they count. */
  #presentByIp = new Map<string, Map<string, number>>();
  #messagesByIp: KeyedBuckets | undefined;
  #roomsByIp: KeyedBuckets | undefined;
  #connectionsByIp = new Map<string, number>();
  #refusingByIp = new Map<string, number>();

  /** @param settings the limits, or null to turn them all off */
  constructor(settings: LimitSettings | null) {
    this.#settings = settings;
    if (settings) {
      this.#messagesByIp = new KeyedBuckets(settings.messagesPerSecond, settings.messageBurst);
      this.#roomsByIp = new KeyedBuckets(settings.roomsPerMinute / 60, settings.roomsPerMinute);
    }
  }

  /** A bucket for one connection's sends, or undefined when limits are off. */
  connectionBucket(): TokenBucket | undefined {
    const settings = this.#settings;
    return settings
      ? new TokenBucket(settings.messagesPerSecond, settings.messageBurst)
      : undefined;
  }

  /** Counts a message from an IP: 0 when allowed, else the ms to wait. */
  message(ip: string): number {
    return this.#messagesByIp?.take(addressBlock(ip)) ?? 0;
  }

  /** Counts a room creation from an IP: 0 when allowed, else the ms to wait. */
  roomCreation(ip: string): number {
    return this.#roomsByIp?.take(addressBlock(ip)) ?? 0;
  }

  /**
   * Whether a request from `ip` may show session `sid` online or typing without holding a
   * connection (a poll that does not wait, a typing POST): at most as many sessions per address
   * as it may hold connections, in any {@link PRESENCE_WINDOW_MS}. So one address cannot fill a
   * room's online list with sessions it made for the purpose.
   */
  showsPresent(ip: string, sid: string, now = Date.now()): boolean {
    const settings = this.#settings;
    if (!settings) return true;
    const block = addressBlock(ip);
    const sessions = this.#presentByIp.get(block) ?? new Map<string, number>();
    forgetExpired(sessions, now);
    if (!sessions.has(sid) && sessions.size >= settings.connectionsPerIp) return false;
    sessions.set(sid, now + PRESENCE_WINDOW_MS);
    this.#presentByIp.set(block, sessions);
    if (this.#presentByIp.size > 10_000) this.#forgetPresence(now);
    return true;
  }

  #forgetPresence(now: number): void {
    for (const [ip, sessions] of this.#presentByIp) {
      forgetExpired(sessions, now);
      if (sessions.size === 0) this.#presentByIp.delete(ip);
    }
  }

  /** Opens a connection for an IP: the function that closes it again, or null over the cap. */
  openConnection(ip: string): (() => void) | null {
    const settings = this.#settings;
    return settings ? this.#take(this.#connectionsByIp, ip, settings.connectionsPerIp) : () => {};
  }

  /**
   * Counts a WebSocket refused with a close frame from an IP (see {@link MAX_REFUSING_PER_IP}):
   * the function to call once it has closed, or null when the refusal should be plain HTTP.
   */
  openRefusal(ip: string): (() => void) | null {
    return this.#settings ? this.#take(this.#refusingByIp, ip, MAX_REFUSING_PER_IP) : () => {};
  }

  /** Takes one of `cap` places for `ip` in `counts`: the function that gives it back, or null. */
  #take(counts: Map<string, number>, ip: string, cap: number): (() => void) | null {
    const block = addressBlock(ip);
    const open = counts.get(block) ?? 0;
    if (open >= cap) return null;
    counts.set(block, open + 1);
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      const left = (counts.get(block) ?? 1) - 1;
      if (left === 0) counts.delete(block);
      else counts.set(block, left);
    };
  }
}
