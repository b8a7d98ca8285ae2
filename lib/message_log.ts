import { DEFAULT_HISTORY_LIMIT } from "./config.ts";
import { ParleyError } from "./errors.ts";
import { retryLocked } from "./kv_locks.ts";
import { roomKey, ROOMS_PREFIX } from "./keys.ts";
import type { AppendResult } from "./commit_plan.ts";
import type { ThrottledErrors } from "./throttled_errors.ts";
import { WriteHealth } from "./write_health.ts";
import {
  type CommitObserver,
  type CommitStats,
  GroupCommitter,
  newCommitStats,
} from "./group_commit.ts";
import { readMessages, withTrimmed } from "./room_reader.ts";
import type { Message, NewMessage, Room, StoredRoom } from "./types.ts";

export type { AppendResult, CommitStats };

/**
 * Told of the new messages of each room once they are durably stored, in seq order; `byPeer`
 * is true when another worker of this process stored them (see `lib/worker_link.ts`).
 */
export type StoredListener = (room: string, messages: Message[], byPeer: boolean) => void;

/** Where appends go instead of this worker's own group commit (another worker, say). */
export type AppendRoute = (room: string, input: NewMessage) => Promise<AppendResult>;

// How many messages `findStoredSince` reads at a time, newest first.
const SCAN_PAGE = 500;
// How many room ids `roomExists` remembers before it starts over.
const MAX_KNOWN_ROOMS = 10_000;

/**
 * The result of an append whose id was taken, if the message under it is the sender's: another
 * author's message is never answered as if it were theirs, and what they sent is refused with 409
 * `id_taken` rather than dropped (so nobody can silence a client whose ids are guessable). A
 * message of the same name and text is the sender's own sent again from a new session (a client
 * that lost its cookie or restarted): one who took the id first could not have known the text.
 */
function sentBySameAuthor(result: AppendResult, input: NewMessage): AppendResult {
  const { message, created } = result;
  if (created || message.authorId === undefined || input.authorId === undefined) return result;
  if (message.authorId === input.authorId) return result;
  if (message.author === input.author && message.text === input.text) return result;
  throw new ParleyError(
    409,
    "id_taken",
    `Cannot store the message under id "${input.id}": another author's message in this room ` +
      `has it; send it under a new id`,
  );
}

/**
 * The room a stored record describes, without what only storage needs (and with `trimmed` 0 in
 * a record from before it existed).
 */
function publicRoom(record: StoredRoom): Room {
  const { logged: _logged, ...room } = withTrimmed(record);
  return room;
}

/** The outcome of creating a room: the room, and whether this call created it. */
export interface CreateRoomResult {
  room: Room;
  created: boolean;
}

/**
 * The single owner of Parley's data in Deno KV: rooms and their ordered, persistent
 * message logs. Every read and write of rooms and messages goes through here.
 */
export class MessageLog {
  #kv: Deno.Kv;
  #committer: GroupCommitter;
  #committed = new Set<StoredListener>();
  #route: AppendRoute | undefined;
  #reads: { sharedLog: boolean };
  #knownRooms = new Set<string>();
  /** Commit counters. */
  readonly stats: CommitStats = newCommitStats();
  /** Whether this worker's appends have been failing in the store lately. */
  readonly writes = new WriteHealth();

  /**
   * @param kv the store to keep the log in
   * @param options `historyLimit`: how many messages each room keeps (default 10,000);
   * `onCommit`: told of each commit attempt, for metrics; `sharedLog`: whether rooms with few
   * messages in a commit share one value (default true; see `lib/keys.ts`); `failures`: the error
   * lines failed commits are written to (default: their own)
   */
  constructor(
    kv: Deno.Kv,
    options: {
      historyLimit?: number;
      onCommit?: CommitObserver;
      sharedLog?: boolean;
      failures?: ThrottledErrors;
    } = {},
  ) {
    this.#kv = kv;
    this.#reads = { sharedLog: options.sharedLog ?? true };
    this.#committer = new GroupCommitter(kv, {
      stats: this.stats,
      historyLimit: options.historyLimit ?? DEFAULT_HISTORY_LIMIT,
      onCommit: options.onCommit,
      sharedLog: options.sharedLog,
      failures: options.failures,
      onCommitted: (room, messages) => this.#tell(room, messages, false),
    });
  }

  /** How many shared log values still hold messages, as far as this worker's writer knows. */
  get liveLogValues(): number {
    return this.#committer.liveLogValues;
  }

  /** Creates a room, or returns the existing one with `created: false`. */
  async createRoom(id: string, title: string): Promise<CreateRoomResult> {
    const room: Room = {
      id,
      title,
      createdAt: Date.now(),
      head: 0,
      lastAt: null,
      epoch: crypto.randomUUID().slice(0, 8),
      trimmed: 0,
    };
    const outcome = await retryLocked(() =>
      this.#kv.atomic()
        .check({ key: roomKey(id), versionstamp: null })
        .set(roomKey(id), room)
        .commit()
    );
    if (outcome.ok) return { room, created: true };
    const existing = await this.getRoom(id);
    if (existing === null) {
      throw new ParleyError(503, "storage_busy", `Cannot create room "${id}": try again`);
    }
    return { room: existing, created: false };
  }

  /**
   * Listens for the messages this log (or a linked worker) stores, per room and in seq order, as
   * soon as each commit succeeds (before any watch reports it); returns the function that stops
   * listening.
   */
  onCommitted(listener: StoredListener): () => void {
    this.#committed.add(listener);
    return () => this.#committed.delete(listener);
  }

  /**
   * Settles once this worker's commit in flight now, if any, has told the `onCommitted`
   * listeners what it stored.
   */
  settled(): Promise<void> {
    return this.#committer.settled();
  }

  /** Tells the listeners of messages another worker of this process stored. */
  publish(room: string, messages: Message[]): void {
    this.#tell(room, messages, true);
  }

  /** Sends later appends through `route` instead of this worker's group commit (undefined: back). */
  routeAppends(route: AppendRoute | undefined): void {
    this.#route = route;
  }

  #tell(room: string, messages: Message[], byPeer: boolean): void {
    for (const listener of this.#committed) listener(room, messages, byPeer);
  }

  /** Reads one room, or null when there is no such room. */
  async getRoom(id: string): Promise<Room | null> {
    const { value } = await this.#kv.get<StoredRoom>(roomKey(id));
    return value && publicRoom(value);
  }

  /** Whether a room exists; rooms are never deleted, so one found once is not read again. */
  async roomExists(id: string): Promise<boolean> {
    if (this.#knownRooms.has(id)) return true;
    if (await this.getRoom(id) === null) return false;
    if (this.#knownRooms.size >= MAX_KNOWN_ROOMS) this.#knownRooms.clear();
    this.#knownRooms.add(id);
    return true;
  }

  /** Lists every room, the most recently active first. */
  async listRooms(): Promise<Room[]> {
    const rooms: Room[] = [];
    for await (const entry of this.#kv.list<StoredRoom>({ prefix: ROOMS_PREFIX })) {
      rooms.push(publicRoom(entry.value));
    }
    const activity = (room: Room) => room.lastAt ?? room.createdAt;
    return rooms.sort((a, b) => activity(b) - activity(a));
  }

  /**
   * Appends a message with the next seq of its room, batched with concurrent appends.
   * A repeated client id returns the stored message with `created: false`, to its author only.
   */
  append(room: string, input: NewMessage): Promise<AppendResult> {
    return this.#watched(
      this.#route ? this.#route(room, input) : this.#committer.append(room, input),
      input,
    );
  }

  /** Appends through this worker's own group commit, whatever the route (for a linked peer). */
  appendHere(room: string, input: NewMessage): Promise<AppendResult> {
    return this.#watched(this.#committer.append(room, input));
  }

  /**
   * Tells {@link writes} how an append ended, and passes the outcome on: to the sender of `input`,
   * when given, only if it is theirs (see {@link sentBySameAuthor}).
   */
  #watched(appended: Promise<AppendResult>, input?: NewMessage): Promise<AppendResult> {
    return appended.then((result) => {
      this.writes.stored();
      return input === undefined ? result : sentBySameAuthor(result, input);
    }, (error) => {
      if (error instanceof ParleyError && error.code === "storage_unavailable") {
        this.writes.failed();
      }
      throw error;
    });
  }

  /**
   * Finds the messages stored under `ids` in `room` at or after `since` (ms since the epoch), by
   * id: a scan back from the newest message, which stops at the first one older than `since`.
   */
  async findStoredSince(
    room: string,
    ids: ReadonlySet<string>,
    since: number,
  ): Promise<Map<string, Message>> {
    const found = new Map<string, Message>();
    let before: number | undefined;
    for (;;) {
      const range = { before, limit: SCAN_PAGE, newest: true };
      const page = await readMessages(this.#kv, room, range, this.#reads);
      for (const message of page.toReversed()) {
        if (message.at < since) return found;
        if (ids.has(message.id)) found.set(message.id, message);
        if (found.size === ids.size) return found;
      }
      if (page.length < SCAN_PAGE) return found;
      before = page[0].seq;
    }
  }

  /**
   * Reads up to `limit` messages with seq greater than `after`, oldest first. Rejects with
   * `history_trimmed` when retention has deleted messages right after `after`, so a reader is
   * resynced instead of skipping them.
   */
  readAfter(room: string, after: number, limit: number): Promise<Message[]> {
    return readMessages(this.#kv, room, { after, limit, gapless: true }, this.#reads);
  }

  /** Reads the newest `limit` messages, or the newest before seq `before`, oldest first. */
  readLatest(room: string, options: { limit: number; before?: number }): Promise<Message[]> {
    return readMessages(this.#kv, room, { ...options, newest: true }, this.#reads);
  }
}
