/**
 * Presence and typing across workers and processes, kept in KV under keys that expire:
 * `["presence", room, sid, connection]` while a connection is open (refreshed every 10 s) and
 * `["presence", room, sid, "typing"]` for a few seconds after a keystroke, so one `list` reads
 * both for a room. A person with two tabs is one session, so they count once.
 *
 * Every write that can change what a room shows (a join, a leave, the first keystroke of a spell
 * of typing, a long-poll client appearing, the refresh of an entry that may have run out) also
 * bumps the room's mark, `["presence_marks", room]`, in the same atomic operation; other
 * refreshes do not. So a reader that saw the mark unchanged and no entry run out since its last
 * `list` knows that `list` still holds, and need not repeat it.
 *
 * A read lists each session online, and each typing, with its author id in the room (from the
 * session id in the key), the id its messages carry, so clients can tell which "sam" is online
 * and which is typing; session ids never leave the server.
 *
 * @module
 */
import { retryLocked } from "./kv_locks.ts";
import { useRecent } from "./recently_used.ts";
import type { Session } from "./session.ts";

/**
 * Who is in a room now: the display names online, and of those typing, one per session (a
 * person's tabs share one), so a name two people use is listed twice.
 */
export interface RoomPresence {
  online: string[];
  /** The author id of each session of `online`, in its order: which of two "sam"s is which. */
  onlineAuthorIds: string[];
  typing: string[];
  /** The author id of each session of `typing`, in its order: which "sam" is typing. */
  typingAuthorIds: string[];
}

/** The public author id of a session in a room (`Sessions.authorId`), never the session id. */
export type AuthorIdOf = (sid: string, room: string) => string;

/** A room's presence with nobody online or typing. */
export function nobodyPresent(): RoomPresence {
  return { online: [], onlineAuthorIds: [], typing: [], typingAuthorIds: [] };
}

/** A room's presence as read, and when it stops holding without any write. */
export interface PresenceReading {
  presence: RoomPresence;
  /** When the first entry read runs out unless refreshed (ms since the epoch; Infinity: none). */
  expires: number;
}

/** A connection's place in a room's presence (see `Presence.join`). */
export interface PresenceJoin {
  /** Resolves once the connection's entry is stored, or its write failed; never rejects. */
  written: Promise<void>;
  /** Takes the entry away; resolves once it is gone (or could not be removed). */
  leave(): Promise<void>;
}

interface Entry {
  name: string;
  expiresAt: number;
}

/** An open connection's entry, and when its last write that landed was made. */
interface OpenEntry {
  key: Deno.KvKey;
  name: string;
  /** -Infinity until a write lands. */
  writtenAt: number;
}

/** The key every change to a room's presence bumps (see the module documentation). */
export function presenceMarkKey(room: string): Deno.KvKey {
  return ["presence_marks", room];
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
/** How many sessions' author ids a worker keeps, so a room's read does not hash everyone again. */
const MAX_AUTHOR_IDS = 10_000;
const TYPING_REPEAT_MS = 1_000;
/** The last key part of a typing entry, where a connection's entry has its id or `"poll"`. */
const TYPING = "typing";

/** The key of a session's typing entry in a room. */
function typingKey(room: string, session: Session): Deno.KvKey {
  return ["presence", room, session.sid, TYPING];
}

/** What {@link Presence} remembers a session's last typing write by. */
function typingTouch(room: string, session: Session): string {
  return `typing\u0000${room}\u0000${session.sid}`;
}

function isTyping(entry: Deno.KvEntry<Entry>): boolean {
  return entry.key[3] === TYPING;
}

/**
 * The name of each session of live entries, by session id: two people of one name are there
 * twice (KV deletes expired keys lazily: callers drop them first).
 */
function bySession(entries: Iterable<Deno.KvEntry<Entry>>): Map<string, string> {
  const names = new Map<string, string>();
  for (const { key, value } of entries) names.set(String(key[2]), value.name);
  return names;
}

/**
 * Orders names for people, alike on every worker whatever its locale (`localeCompare` follows the
 * process's `LANG`: Swedish puts "öda" after "zoe", English before).
 */
const byText = new Intl.Collator("en").compare;

/**
 * Orders sessions online or typing by name, then (for one name) by author id: the same order on
 * every worker, so that every worker's presence has the same version.
 */
function byName(a: { name: string; authorId: string }, b: { name: string; authorId: string }) {
  return byText(a.name, b.name) || compare(a.authorId, b.authorId);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Commits `op`, retrying while the store is locked; resolves to its versionstamp, or to
 * undefined when it failed or a check did not hold.
 */
function commitVersion(op: Deno.AtomicOperation): Promise<string | undefined> {
  return retryLocked(() => op.commit()).then(
    (result) => result.ok ? result.versionstamp : undefined,
    () => undefined,
  );
}

/** Commits `op`, retrying while the store is locked; resolves to whether it landed. */
async function landed(op: Deno.AtomicOperation): Promise<boolean> {
  return await commitVersion(op) !== undefined;
}

/** This worker's view of presence: it writes its own connections, and reads everyone's. */
export class Presence {
  #kv: Deno.Kv;
  #open = new Map<string, OpenEntry>();
  #touched = new Map<string, number>();
  #refresher: ReturnType<typeof setInterval> | undefined;
  /** The refresh of open connections' entries under way, if any; it never rejects. */
  #refreshing: Promise<void> | undefined;
  #refreshMs: number;
  #authorIdOf: AuthorIdOf;
  /** Author ids by room and session id, the most recently read last. */
  #authorIds = new Map<string, string>();

  /**
   * @param kv the store shared by every worker
   * @param options `authorIdOf` gives the author id each online session is listed with;
   * `refreshMs`, how often open connections' entries are rewritten (default
   * {@link PRESENCE_REFRESH_MS}; tests shorten it)
   */
  constructor(kv: Deno.Kv, options: { authorIdOf: AuthorIdOf; refreshMs?: number }) {
    this.#kv = kv;
    this.#authorIdOf = options.authorIdOf;
    this.#refreshMs = options.refreshMs ?? PRESENCE_REFRESH_MS;
  }

  /**
   * Marks a session present in a room while a connection is open: `written` resolves once the
   * entry is stored (or could not be), and `leave` takes it away again, resolving once it is gone.
   */
  join(room: string, session: Session, connection: string): PresenceJoin {
    const key: Deno.KvKey = ["presence", room, session.sid, connection];
    const id = JSON.stringify(key);
    const entry: OpenEntry = { key, name: session.name, writtenAt: -Infinity };
    this.#open.set(id, entry);
    const at = Date.now();
    const written = this.#write(key, session.name, PRESENCE_TTL_MS, true).then((version) => {
      if (version !== undefined) entry.writtenAt = Math.max(entry.writtenAt, at);
    });
    this.#refresher ??= setInterval(() => this.#startRefresh(), this.#refreshMs);
    let left: Promise<void> | undefined;
    const leave = () => {
      if (left) return left;
      this.#open.delete(id);
      if (this.#open.size === 0) this.#stopRefreshing();
      const remove = this.#kv.atomic().delete(key).sum(presenceMarkKey(room), 1n);
      // After the join's write and any refresh under way: one still on its way (retried on a
      // locked store, say) would land after the delete and show the connection until it expires.
      const landed = Promise.all([written, this.#refreshing]);
      return left = landed.then(() => retryLocked(() => remove.commit())).then(() => {}, () => {});
    };
    return { written, leave };
  }

  /** Marks a long-poll client present for a while; repeated polls write at most every 10 s. */
  touch(room: string, session: Session): void {
    this.#touch(`${room}\u0000${session.sid}\u0000${session.name}`, {
      key: ["presence", room, session.sid, "poll"],
      name: session.name,
      repeatMs: PRESENCE_REFRESH_MS,
      ttlMs: POLL_PRESENCE_TTL_MS,
    });
  }

  /** Records that a session is typing in a room; repeats within a second are ignored. */
  async typing(room: string, session: Session): Promise<void> {
    await this.#touch(typingTouch(room, session), {
      key: typingKey(room, session),
      name: session.name,
      repeatMs: TYPING_REPEAT_MS,
      ttlMs: TYPING_TTL_MS,
    });
  }

  /**
   * Ends a session's spell of typing in a room, as it sends a message: readers stop showing it
   * (clients hide an author whose message arrives, and the entry must not bring them back), and
   * the next keystroke starts a new spell that moves the room's mark, so readers show it again.
   * Only a spell this worker wrote is ended; resolves to whether one was.
   */
  async stoppedTyping(room: string, session: Session): Promise<boolean> {
    if (!this.#touched.delete(typingTouch(room, session))) return false;
    return await this.#end(typingKey(room, session));
  }

  /**
   * Deletes an entry of `["presence", room, …]` (only as written at `versionstamp`, when given)
   * and moves the room's mark; whether it did.
   */
  #end(key: Deno.KvKey, versionstamp: string | null = null): Promise<boolean> {
    const op = this.#kv.atomic();
    if (versionstamp !== null) op.check({ key, versionstamp });
    return landed(op.delete(key).sum(presenceMarkKey(String(key[1])), 1n));
  }

  /**
   * Writes an entry that lasts `ttlMs` unless written again, at most once per `repeatMs` for
   * `id`. A write while the last one for `id` may still show only extends it; any other moves
   * the room's mark. A write that fails is forgotten, so the next one moves the mark.
   */
  async #touch(
    id: string,
    entry: { key: Deno.KvKey; name: string; repeatMs: number; ttlMs: number },
  ): Promise<void> {
    const now = Date.now();
    const last = this.#touched.get(id);
    if ((last ?? 0) > now - entry.repeatMs) return;
    this.#touched.set(id, now);
    if (this.#touched.size > 10_000) this.#forgetOldTouches(now);
    const appears = last === undefined || last <= now - entry.ttlMs;
    const version = await this.#write(entry.key, entry.name, entry.ttlMs, appears);
    if (version === undefined && this.#touched.get(id) === now) this.#touched.delete(id);
    // The spell ended (a message came) while this write was on its way: take it back, unless a
    // new spell has written over it since.
    if (version !== undefined && !this.#touched.has(id)) await this.#end(entry.key, version);
  }

  /** Reads who is online and who is typing in a room, and until when that holds. */
  async read(room: string): Promise<PresenceReading> {
    const entries = await Array.fromAsync(this.#kv.list<Entry>({ prefix: ["presence", room] }));
    const now = Date.now();
    const live = entries.filter(({ value }) => value.expiresAt > now);
    const online = this.#people(live.filter((entry) => !isTyping(entry)), room);
    const typing = this.#people(live.filter(isTyping), room);
    return {
      presence: {
        online: online.map(({ name }) => name),
        onlineAuthorIds: online.map(({ authorId }) => authorId),
        typing: typing.map(({ name }) => name),
        typingAuthorIds: typing.map(({ authorId }) => authorId),
      },
      expires: live.reduce((first, { value }) => Math.min(first, value.expiresAt), Infinity),
    };
  }

  /** The sessions of live entries in a room, each with its name and author id, in order. */
  #people(entries: Deno.KvEntry<Entry>[], room: string): { name: string; authorId: string }[] {
    return [...bySession(entries)]
      .map(([sid, name]) => ({ name, authorId: this.#authorId(sid, room) }))
      .sort(byName);
  }

  /** A session's author id in a room, hashed once while it keeps being read. */
  #authorId(sid: string, room: string): string {
    const id = `${room}\u0000${sid}`;
    const authorId = this.#authorIds.get(id) ?? this.#authorIdOf(sid, room);
    useRecent(this.#authorIds, id, authorId, MAX_AUTHOR_IDS);
    return authorId;
  }

  /** How many sessions are online in each room that has anyone, as the room lists them. */
  async onlineCounts(): Promise<Map<string, number>> {
    const entries = new Map<string, Deno.KvEntry<Entry>[]>();
    const now = Date.now();
    for await (const entry of this.#kv.list<Entry>({ prefix: ["presence"] })) {
      if (isTyping(entry) || entry.value.expiresAt <= now) continue;
      const room = String(entry.key[1]);
      if (!entries.has(room)) entries.set(room, []);
      entries.get(room)!.push(entry);
    }
    return new Map([...entries].map(([room, list]) => [room, bySession(list).size]));
  }

  /** Stops refreshing; the keys of open connections expire by themselves. */
  close(): void {
    this.#stopRefreshing();
    this.#open.clear();
  }

  /**
   * Writes an entry of `["presence", room, …]`, bumping the room's mark when `changes`; resolves
   * to its versionstamp, or to undefined when it failed.
   */
  #write(
    key: Deno.KvKey,
    name: string,
    ttlMs: number,
    changes: boolean,
  ): Promise<string | undefined> {
    const value: Entry = { name, expiresAt: Date.now() + ttlMs };
    const op = this.#kv.atomic().set(key, value, { expireIn: ttlMs });
    if (changes) op.sum(presenceMarkKey(String(key[1])), 1n);
    return commitVersion(op);
  }

  /**
   * Rewrites every open connection's entry. One whose last write that landed is older than a
   * missed refresh (or that never landed) may have run out or never shown, so its rewrite is an
   * appearance and moves its room's mark.
   */
  async #refresh(): Promise<void> {
    const now = Date.now();
    const expiresAt = now + PRESENCE_TTL_MS;
    const entries = [...this.#open.values()];
    for (let i = 0; i < entries.length; i += BATCH) {
      const batch = entries.slice(i, i + BATCH);
      const op = this.#kv.atomic();
      const appearing = new Set<string>();
      for (const { key, name, writtenAt } of batch) {
        op.set(key, { name, expiresAt } satisfies Entry, { expireIn: PRESENCE_TTL_MS });
        if (writtenAt < now - PRESENCE_TTL_MS + this.#refreshMs) appearing.add(String(key[1]));
      }
      for (const room of appearing) op.sum(presenceMarkKey(room), 1n);
      if (await landed(op)) {
        for (const entry of batch) entry.writtenAt = Math.max(entry.writtenAt, now);
      }
    }
  }

  /** Starts a refresh, unless one is still under way (a store that stalls gets no pile of them). */
  #startRefresh(): void {
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = undefined));
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
