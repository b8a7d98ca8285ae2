/**
 * Group commit for the whole log of one worker: appends that arrive while a commit is in flight
 * wait, and the next atomic commit carries the queued messages of many rooms. Every commit checks
 * and bumps one key, the log's clock, so one check covers all its rooms (KV allows ten checks
 * per operation) and seqs stay dense whoever else writes. Room records are cached between
 * commits: while the clock has not moved under this worker, they are exactly what is stored. A
 * commit that finds the clock moved (another process, or a worker not linked yet) drops the
 * cache, reads again and retries; a store locked by another handle is retried after a short,
 * jittered wait. One commit is in flight at a time: it prepares (catches up ids, fetches uncached
 * rooms) and writes, and what arrives meanwhile queues for the next, so the busier the log, the
 * larger its commits.
 *
 * What each commit writes, and where, is `lib/commit_plan.ts`'s part; which of a batch's client
 * ids are already stored, `lib/stored_ids.ts`'s. {@link LogLedger} keeps which room holds what in
 * the shared log values, and is read again from the store whenever the cache is dropped.
 *
 * @module
 */
import {
  type AppendResult,
  estimatedBytes,
  FLUSH_AGE,
  MAX_BYTES,
  planCommit,
  type RoomAppends,
} from "./commit_plan.ts";
import { ParleyError, roomNotFound } from "./errors.ts";
import { LOG_CLOCK_KEY, LOG_PREFIX, roomKey } from "./keys.ts";
import { isLocked, lockBackoff } from "./kv_locks.ts";
import { getAll } from "./kv_reads.ts";
import { LogLedger } from "./log_ledger.ts";
import { useRecent } from "./recently_used.ts";
import { withTrimmed } from "./room_reader.ts";
import { StoredIds } from "./stored_ids.ts";
import { ThrottledErrors } from "./throttled_errors.ts";
import type { Message, NewMessage, StoredRoom } from "./types.ts";

/** Counters of a log's commits, for tests, benchmarks and metrics. */
export interface CommitStats {
  /** Atomic commits attempted (successful or not). */
  commits: number;
  /** Commits that lost the race for a head and were retried. */
  conflicts: number;
  /** Commits that found the store locked by another handle and were retried. */
  locked: number;
  /** Messages newly stored. */
  appended: number;
}

/** Counters at zero, for a new log. */
export function newCommitStats(): CommitStats {
  return { commits: 0, conflicts: 0, locked: 0, appended: 0 };
}

/** Told of each commit attempt: how long it took and how many new messages it carried. */
export type CommitObserver = (seconds: number, messages: number) => void;

/** Told of the new messages of each room once they are durably stored, in seq order. */
export type CommittedListener = (room: string, messages: Message[]) => void;

interface Pending {
  input: NewMessage;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

interface RoomBatch {
  room: string;
  pending: Pending[];
}

/** What a batch read before it writes. */
interface Prepared {
  /** The batch, without appends to rooms that do not exist; each room at most once. */
  batch: RoomBatch[];
  /** The batch's appends with their rooms' records as stored at {@link clock}, in its order. */
  appends: RoomAppends[];
  /** The clock the commit must find. */
  clock: Clock;
  /** Messages already stored under the batch's client ids, by `storedKey` of `commit_plan.ts`. */
  stored: Map<string, Message>;
}

/** The log clock as a commit must find it: its versionstamp (null: never written) and count. */
interface Clock {
  versionstamp: string | null;
  /** How many commits the log has had: the next one is number `count + 1`. */
  count: number;
}

// A batch's size, so that its commit stays within KV's limits for one atomic operation (see
// `lib/commit_plan.ts`), with room left for retention deletes and moves of held messages.
const MAX_ROOMS = 200;
const MAX_MESSAGES = 250;

const MAX_ATTEMPTS = 100;
const MAX_CACHED_ROOMS = 10_000;
// Rooms added to a commit only to move their old held messages, at most; while any room holds
// old ones, this many places of every batch are kept for them, so a full queue cannot starve them.
const MAX_STALE_ROOMS = 64;
const STALE_PLACES = 16;

function inputsOf(pending: readonly Pending[]): NewMessage[] {
  return pending.map(({ input }) => input);
}

/**
 * What every append of a failed batch is answered with. The cause (a full disk, say) is for the
 * server's log: the batch's other rooms and the store's own words are no business of clients.
 */
function storageError(error: unknown): ParleyError {
  return error instanceof ParleyError ? error : new ParleyError(
    503,
    "storage_unavailable",
    "The message could not be stored: the store failed",
  );
}

/** Batches appends across rooms into few atomic commits; see the module documentation. */
export class GroupCommitter {
  #kv: Deno.Kv;
  #stats: CommitStats;
  #historyLimit: number;
  #onCommit: CommitObserver | undefined;
  #onCommitted: CommittedListener | undefined;
  #queues = new Map<string, Pending[]>();
  /** Failed batches for the log: while the disk is full, every batch fails. */
  #failures: ThrottledErrors;
  /** Whether a commit is in flight. */
  #committing = false;
  /** Settles once the commit attempt in flight, if any, has told `onCommitted` what it stored. */
  #landing: Promise<void> = Promise.resolve();
  /** The clock as this worker last saw it; undefined: unknown. */
  #clock: Promise<Clock> | undefined;
  /** The clock's count once known, for choosing rooms whose held messages are old. */
  #count: number | undefined;
  /** Room records as stored at {@link #clock}, least recently used first. */
  #rooms = new Map<string, StoredRoom>();
  /** Which rooms hold which messages in the live log values, as stored at {@link #clock}. */
  #ledger = new LogLedger();
  /** The ledger's read from the store, once started since the cache was last dropped. */
  #ledgerLoad: Promise<void> | undefined;
  /** Rooms' recent client ids, to tell retries from new messages. */
  #storedIds: StoredIds;
  /** Whether rooms with few new messages write them into the commit's log value. */
  #sharedLog: boolean;

  /**
   * @param kv the store
   * @param options shared counters, how many messages each room keeps, a commit observer, a
   * listener for what each commit stored, whether to use the shared log (default true), and the
   * error lines failed batches are written to (default: their own)
   */
  constructor(
    kv: Deno.Kv,
    options: {
      stats: CommitStats;
      historyLimit: number;
      onCommit?: CommitObserver;
      onCommitted?: CommittedListener;
      sharedLog?: boolean;
      failures?: ThrottledErrors;
    },
  ) {
    this.#kv = kv;
    this.#stats = options.stats;
    this.#historyLimit = options.historyLimit;
    this.#onCommit = options.onCommit;
    this.#onCommitted = options.onCommitted;
    this.#sharedLog = options.sharedLog ?? true;
    this.#failures = options.failures ?? new ThrottledErrors();
    this.#storedIds = new StoredIds(kv, { sharedLog: this.#sharedLog });
  }

  /** How many shared log values still hold messages, as far as this committer knows. */
  get liveLogValues(): number {
    return this.#ledger.size;
  }

  /**
   * Settles once the commit attempt in flight now, if any, has told `onCommitted` what it stored:
   * whoever read a commit of this worker's in the store can wait here to be handed its messages.
   */
  settled(): Promise<void> {
    return this.#landing;
  }

  /** Queues one append; resolves once it is durably stored (or found already stored). */
  append(room: string, input: NewMessage): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      const queue = this.#queues.get(room);
      if (queue) queue.push({ input, resolve, reject });
      else this.#queues.set(room, [{ input, resolve, reject }]);
      this.#pump();
    });
  }

  /** Starts a commit with what is queued, unless one is in flight. */
  #pump(): void {
    if (this.#committing) return;
    const batch = this.#takeBatch();
    if (batch.length === 0) return;
    this.#committing = true;
    this.#commit(batch)
      .catch((error) => {
        const rooms = batch.map(({ room }) => `"${room}"`).join(", ");
        this.#failures.write(`Cannot append to ${rooms}`, error);
        const failure = storageError(error);
        for (const { pending } of batch) for (const item of pending) item.reject(failure);
      })
      .finally(() => {
        this.#committing = false;
        this.#pump();
      });
  }

  /**
   * Takes queued messages of up to {@link MAX_ROOMS} rooms, within KV's limits, each room at most
   * once (`planCommit` numbers a room's messages from its one record).
   */
  #takeBatch(): RoomBatch[] {
    const batch: RoomBatch[] = [];
    /** Rooms that keep appends for later batches. */
    const left: string[] = [];
    let messages = 0;
    let bytes = 0;
    const stale = this.#staleRooms();
    const maxRooms = stale.next().done ? MAX_ROOMS : MAX_ROOMS - STALE_PLACES;
    for (const [room, queue] of this.#queues) {
      if (batch.length === maxRooms || messages === MAX_MESSAGES) break;
      let count = 0;
      while (count < queue.length && messages < MAX_MESSAGES) {
        const size = estimatedBytes(queue[count].input);
        if ((messages > 0 || count > 0) && bytes + size > MAX_BYTES) break;
        bytes += size;
        messages++;
        count++;
      }
      if (count === 0) break;
      batch.push({ room, pending: queue.splice(0, count) });
      if (queue.length === 0) this.#queues.delete(room);
      else left.push(room);
    }
    // Behind the rooms not taken: one that fills every batch must not keep them waiting.
    for (const room of left) useRecent(this.#queues, room, this.#queues.get(room)!, Infinity);
    if (batch.length > 0) this.#addStaleRooms(batch);
    return batch;
  }

  /**
   * Adds rooms whose held messages are {@link FLUSH_AGE} commits old to a batch, so that commit
   * moves them to the rooms' keys and their log values can go, however quiet the rooms are.
   */
  #addStaleRooms(batch: RoomBatch[]): void {
    const inBatch = new Set(batch.map(({ room }) => room));
    let added = 0;
    for (const room of this.#staleRooms()) {
      if (batch.length === MAX_ROOMS || added === MAX_STALE_ROOMS) return;
      if (inBatch.has(room)) continue;
      batch.push({ room, pending: [] });
      added++;
    }
  }

  /** Rooms whose oldest held message the next commit finds {@link FLUSH_AGE} commits old. */
  #staleRooms(): Generator<string> {
    return this.#ledger.heldSince((this.#count ?? -Infinity) + 1 - FLUSH_AGE);
  }

  /**
   * Prepares a batch and writes it; after a conflict (which drops the cache) or a locked store,
   * it prepares again and retries.
   */
  async #commit(batch: RoomBatch[]): Promise<void> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const prepared = await this.#prepare(batch);
      batch = prepared.batch;
      if (batch.length === 0) return;
      const outcome = await this.#write(prepared);
      if (outcome === "done") return;
      if (outcome === "locked") await lockBackoff(attempt);
      else this.#dropCache();
    }
    throw new ParleyError(
      503,
      "storage_busy",
      `The message could not be stored: the store stayed busy for ${MAX_ATTEMPTS} attempts`,
    );
  }

  /**
   * Reads what a batch needs: the clock first (a commit by anyone else after that moves it and
   * fails our check, so the reads after it cannot miss one), then the ledger unless known, the
   * records of rooms not cached, and the messages already stored under the batch's ids. Appends
   * to rooms that do not exist fail here.
   */
  async #prepare(initial: RoomBatch[]): Promise<Prepared> {
    const clock = await (this.#clock ??= this.#readClock());
    await (this.#ledgerLoad ??= this.#startLedgerLoad());
    const records = await this.#roomsOf(initial);
    const batch: RoomBatch[] = [];
    const rooms: StoredRoom[] = [];
    initial.forEach((roomBatch, i) => {
      const room = records[i];
      if (room === null) {
        const missing = roomNotFound(roomBatch.room);
        for (const item of roomBatch.pending) item.reject(missing);
        return;
      }
      batch.push(roomBatch);
      rooms.push(room);
    });
    const appends = batch.map(({ pending }, i) => ({ room: rooms[i], inputs: inputsOf(pending) }));
    const stored = await this.#storedIds.find(appends, this.#ledger);
    return { batch, appends, clock, stored };
  }

  /**
   * Builds and commits a prepared batch on its clock: each room's new messages go into the
   * commit's log value or under the room's keys, and rooms whose held messages are many or old
   * have them moved to their keys, as far as KV's limits allow. Settles its appends when it lands.
   */
  async #write(
    { batch, appends, stored, clock }: Prepared,
  ): Promise<"done" | "locked" | "conflict"> {
    const n = clock.count + 1;
    const op = this.#kv.atomic().check({ key: LOG_CLOCK_KEY, versionstamp: clock.versionstamp })
      .sum(LOG_CLOCK_KEY, 1n);
    const plan = planCommit(
      op,
      appends,
      {
        n,
        stored,
        ledger: this.#ledger,
        sharedLog: this.#sharedLog,
        historyLimit: this.#historyLimit,
        at: Date.now(),
      },
    );
    const { appended, flushed, committed } = plan;
    const settle = () =>
      batch.forEach(({ pending }, i) =>
        pending.forEach((item, j) => item.resolve(plan.results[i][j]))
      );
    if (appended === 0 && flushed.size === 0) {
      // Every append was a retry: the answer rests on what this worker holds in memory, which is
      // only the store's while the clock has not moved.
      const { versionstamp } = await this.#kv.get(LOG_CLOCK_KEY);
      if (versionstamp !== clock.versionstamp) {
        this.#stats.conflicts++;
        return "conflict";
      }
      settle();
      return "done";
    }
    const { promise: landing, resolve: landed } = Promise.withResolvers<void>();
    this.#landing = landing;
    try {
      this.#stats.commits++;
      const started = performance.now();
      const outcome = await op.commit().catch((error) => {
        // Another worker's or process's handle holds the SQLite write lock: wait, then retry.
        if (!isLocked(error)) throw error;
        return null;
      });
      this.#tell(() => this.#onCommit?.((performance.now() - started) / 1000, appended));
      if (outcome === null) {
        this.#stats.locked++;
        return "locked";
      }
      if (!outcome.ok) {
        this.#stats.conflicts++;
        return "conflict";
      }
      this.#count = n;
      this.#clock = Promise.resolve({ versionstamp: outcome.versionstamp, count: n });
      for (const room of plan.updated) this.#remember(room);
      for (const room of flushed) this.#ledger.release(room);
      this.#ledger.add(n, plan.logged);
      for (const [room, messages] of committed) this.#storedIds.record(room, messages);
      this.#stats.appended += appended;
      for (const [room, messages] of committed) {
        this.#tell(() => this.#onCommitted?.(room, messages));
      }
    } finally {
      landed();
    }
    settle();
    return "done";
  }

  /**
   * The batch's room records, from the cache or else from KV (and then cached); null for a room
   * that is not.
   */
  async #roomsOf(batch: RoomBatch[]): Promise<Array<StoredRoom | null>> {
    const cached = batch.map(({ room }) => this.#rooms.get(room));
    const missing = batch.flatMap(({ room }, i) => cached[i] === undefined ? [room] : []);
    const entries = await getAll<StoredRoom>(this.#kv, missing.map(roomKey));
    const values = entries.map(({ value }) => value && withTrimmed(value));
    for (const value of values) if (value) this.#remember(value);
    const read = new Map(values.map((value, i) => [missing[i], value]));
    return batch.map(({ room }, i) => cached[i] ?? read.get(room)!);
  }

  /** Runs an observer; one that throws must not fail appends that are already stored. */
  #tell(observe: () => void): void {
    try {
      observe();
    } catch (error) {
      console.error("A commit observer failed:", error);
    }
  }

  /** Caches a room record as stored now, evicting the least recently used beyond the limit. */
  #remember(room: StoredRoom): void {
    useRecent(this.#rooms, room.id, room, MAX_CACHED_ROOMS);
  }

  /** Reads the clock's versionstamp; a failed read is forgotten, so the next commit reads again. */
  #readClock(): Promise<Clock> {
    const reading = this.#kv.get<Deno.KvU64>(LOG_CLOCK_KEY).then(({ value, versionstamp }) => {
      const count = value === null ? 0 : Number(value.value);
      this.#count = count;
      return { versionstamp, count };
    });
    reading.catch(() => {
      if (this.#clock === reading) this.#clock = undefined;
    });
    return reading;
  }

  /** Someone else wrote: forget the clock and every cached room. */
  #dropCache(): void {
    this.#clock = undefined;
    this.#rooms.clear();
    this.#ledger.clear();
    this.#ledgerLoad = undefined;
  }

  /** Starts reading the ledger; a failed read is forgotten, so the next commit reads again. */
  #startLedgerLoad(): Promise<void> {
    const loading = this.#loadLedger();
    loading.catch(() => {
      if (this.#ledgerLoad === loading) this.#ledgerLoad = undefined;
    });
    return loading;
  }

  /**
   * Reads the ledger from the store: every live log value, and the records of the rooms in them,
   * which say whether each room still holds its messages there. Nothing of this committer's
   * lands meanwhile: its one commit waits for the ledger.
   */
  async #loadLedger(): Promise<void> {
    const values: Array<[number, Message[]]> = [];
    for await (const { key, value } of this.#kv.list<Message[]>({ prefix: LOG_PREFIX })) {
      values.push([key[1] as number, value]);
    }
    const ids = [...new Set(values.flatMap(([, messages]) => messages.map(({ room }) => room)))];
    const records = await getAll<StoredRoom>(this.#kv, ids.map(roomKey));
    const holds = new Map(ids.map((id, i) => [id, new Set(records[i].value?.logged)]));
    for (const [n, messages] of values) {
      const held = new Map<string, Message[]>();
      for (const message of messages) {
        if (!holds.get(message.room)!.has(n)) continue;
        const room = held.get(message.room);
        if (room === undefined) held.set(message.room, [message]);
        else room.push(message);
      }
      this.#ledger.add(n, held);
    }
  }
}
