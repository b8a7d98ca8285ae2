/**
 * Presence and typing across workers and processes, kept in KV under keys that expire:
 * `["presence", room, sid, connection]` while a connection is open (refreshed every 10 s) and
 * `["presence", room, sid, "typing"]` for a few seconds after a keystroke, so one `list` reads
 * both for a room. A person with two tabs is one session, so they count once.
 *
 * @module
 */
import { retryLocked } from "./kv_locks.ts";
import type { Session } from "./session.ts";

/** Who is in a room now: display names online, and those typing. */
export interface RoomPresence {
  online: string[];
  typing: string[];
}

interface Entry {
  name: string;
  expiresAt: number;
}

/** A short fingerprint of a presence, the same on every worker, for clients to say what they saw. */
export function presenceVersion(presence: RoomPresence): string {
  let hash = 0x811c9dc5;
  for (const char of JSON.stringify(presence)) {
    hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  }
  return hash.toString(36);
}

/** How long a connection's presence lasts without a refresh. */
export const PRESENCE_TTL_MS = 30_000;
/** How often open connections refresh their presence. */
export const PRESENCE_REFRESH_MS = 10_000;
/** How long a long-poll client counts as present after each poll. */
export const POLL_PRESENCE_TTL_MS = 40_000;
/** How long "is typing" lasts after a typing signal. */
export const TYPING_TTL_MS = 5_000;

const BATCH = 400;
const TYPING_REPEAT_MS = 1_000;
/** The last key part of a typing entry, where a connection's entry has its id or `"poll"`. */
const TYPING = "typing";

function isTyping(entry: Deno.KvEntry<Entry>): boolean {
  return entry.key[3] === TYPING;
}

function names(entries: Iterable<Deno.KvEntry<Entry>>, now: number): string[] {
  const bySession = new Map<string, string>();
  for (const { key, value } of entries) {
    // KV deletes expired keys lazily, so expiry is checked here too.
    if (value.expiresAt > now) bySession.set(String(key[2]), value.name);
  }
  return [...new Set(bySession.values())].sort((a, b) => a.localeCompare(b));
}

/** This worker's view of presence: it writes its own connections, and reads everyone's. */
export class Presence {
  #kv: Deno.Kv;
  #open = new Map<string, { key: Deno.KvKey; name: string }>();
  #touched = new Map<string, number>();
  #refresher: ReturnType<typeof setInterval> | undefined;

  /** @param kv the store shared by every worker */
  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /**
   * Marks a session present in a room while a connection is open; returns the function that
   * leaves again, resolving once the key is gone.
   */
  join(room: string, session: Session, connection: string): () => Promise<void> {
    const key: Deno.KvKey = ["presence", room, session.sid, connection];
    const id = JSON.stringify(key);
    this.#open.set(id, { key, name: session.name });
    this.#write(key, session.name, PRESENCE_TTL_MS);
    this.#refresher ??= setInterval(() => this.#refresh(), PRESENCE_REFRESH_MS);
    let left: Promise<void> | undefined;
    return () => {
      if (left) return left;
      this.#open.delete(id);
      if (this.#open.size === 0) this.#stopRefreshing();
      return left = retryLocked(() => this.#kv.delete(key)).catch(() => {});
    };
  }

  /** Marks a long-poll client present for a while; repeated polls write at most every 10 s. */
  touch(room: string, session: Session): void {
    const id = `${room}\u0000${session.sid}\u0000${session.name}`;
    const now = Date.now();
    if ((this.#touched.get(id) ?? 0) > now - PRESENCE_REFRESH_MS) return;
    this.#touched.set(id, now);
    if (this.#touched.size > 10_000) this.#forgetOldTouches(now);
    this.#write(["presence", room, session.sid, "poll"], session.name, POLL_PRESENCE_TTL_MS);
  }

  /** Records that a session is typing in a room; repeats within a second are ignored. */
  async typing(room: string, session: Session): Promise<void> {
    const id = `typing\u0000${room}\u0000${session.sid}`;
    const now = Date.now();
    if ((this.#touched.get(id) ?? 0) > now - TYPING_REPEAT_MS) return;
    this.#touched.set(id, now);
    await this.#write(["presence", room, session.sid, TYPING], session.name, TYPING_TTL_MS);
  }

  /** Reads who is online and who is typing in a room. */
  async snapshot(room: string): Promise<RoomPresence> {
    const entries = await Array.fromAsync(this.#kv.list<Entry>({ prefix: ["presence", room] }));
    const now = Date.now();
    return {
      online: names(entries.filter((entry) => !isTyping(entry)), now),
      typing: names(entries.filter(isTyping), now),
    };
  }

  /** How many people are online in each room that has anyone, counted as the room lists them. */
  async onlineCounts(): Promise<Map<string, number>> {
    const entries = new Map<string, Deno.KvEntry<Entry>[]>();
    for await (const entry of this.#kv.list<Entry>({ prefix: ["presence"] })) {
      if (isTyping(entry)) continue;
      const room = String(entry.key[1]);
      if (!entries.has(room)) entries.set(room, []);
      entries.get(room)!.push(entry);
    }
    const now = Date.now();
    const counts = [...entries].map(([room, list]) => [room, names(list, now).length] as const);
    return new Map(counts.filter(([, count]) => count > 0));
  }

  /** Stops refreshing; the keys of open connections expire by themselves. */
  close(): void {
    this.#stopRefreshing();
    this.#open.clear();
  }

  #write(key: Deno.KvKey, name: string, ttlMs: number): Promise<void> {
    const value: Entry = { name, expiresAt: Date.now() + ttlMs };
    return retryLocked(() => this.#kv.set(key, value, { expireIn: ttlMs })).then(
      () => {},
      () => {},
    );
  }

  async #refresh(): Promise<void> {
    const expiresAt = Date.now() + PRESENCE_TTL_MS;
    const entries = [...this.#open.values()];
    for (let i = 0; i < entries.length; i += BATCH) {
      const op = this.#kv.atomic();
      for (const { key, name } of entries.slice(i, i + BATCH)) {
        op.set(key, { name, expiresAt } satisfies Entry, { expireIn: PRESENCE_TTL_MS });
      }
      await retryLocked(() => op.commit()).catch(() => {});
    }
  }

  #stopRefreshing(): void {
    clearInterval(this.#refresher);
    this.#refresher = undefined;
  }

  #forgetOldTouches(now: number): void {
    for (const [id, at] of this.#touched) {
      if (at <= now - PRESENCE_REFRESH_MS) this.#touched.delete(id);
    }
  }
}
