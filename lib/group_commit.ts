/**
 * Group commit for the whole log of one worker: appends that arrive while commits are in flight
 * wait, and the next atomic commit carries the queued messages of up to ten rooms (KV allows ten
 * `check`s per operation). Each room's record is checked, so seqs stay dense across workers; a
 * conflict re-reads the heads and retries the batch, and a store locked by another worker's
 * handle is retried after a short, jittered wait.
 *
 * @module
 */
import { ParleyError } from "./errors.ts";
import { messageIdKey, messageKey, roomKey } from "./keys.ts";
import { isLocked, lockBackoff } from "./kv_locks.ts";
import type { Message, NewMessage, Room } from "./types.ts";

/** The outcome of one append: the stored message, and whether this call stored it. */
export interface AppendResult {
  message: Message;
  /** False when a message with the same client id was already stored. */
  created: boolean;
}

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

/** Told of each commit attempt: how long it took and how many new messages it carried. */
export type CommitObserver = (seconds: number, messages: number) => void;

/** Told of the new messages of each room once they are durably stored, in seq order. */
export type CommittedListener = (room: string, messages: Message[]) => void;

/** How long a client id is remembered for idempotent retries. */
export const CLIENT_ID_TTL_MS = 24 * 60 * 60 * 1000;

interface Pending {
  input: NewMessage;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

interface RoomBatch {
  room: string;
  pending: Pending[];
}

// KV allows 1000 mutations, 10 checks and 800 KiB per atomic operation. A message costs three
// mutations (itself, its id index, and the retention delete of an old one); a room one more for
// its record plus a little retention catch-up.
const MAX_ROOMS = 10;
const MAX_MESSAGES = 250;
const MAX_BYTES = 600 * 1024;
const MAX_TRIM_CATCH_UP = 20;
const MAX_ATTEMPTS = 100;
const MAX_IN_FLIGHT = 2;
const KV_READ_BATCH = 10;

function estimatedBytes(input: NewMessage): number {
  // Strings may be stored as UTF-16; keys and framing add a little more.
  return 2 * (input.text.length + input.author.length + (input.id?.length ?? 0)) + 256;
}

function serverMadeId(): string {
  // Client ids cannot contain ".", so a server-made id never collides with one.
  return `srv.${crypto.randomUUID()}`;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function storageError(rooms: string, error: unknown): ParleyError {
  return error instanceof ParleyError
    ? error
    : new ParleyError(503, "storage_unavailable", `Cannot append to ${rooms}: ${error}`);
}

/** Batches appends across rooms into few atomic commits; see the module documentation. */
export class GroupCommitter {
  #kv: Deno.Kv;
  #stats: CommitStats;
  #historyLimit: number;
  #onCommit: CommitObserver | undefined;
  #onCommitted: CommittedListener | undefined;
  #queues = new Map<string, Pending[]>();
  #committing = new Set<string>();
  #inFlight = 0;

  /**
   * @param kv the store
   * @param options shared counters, how many messages each room keeps, a commit observer, and
   * a listener for what each commit stored
   */
  constructor(
    kv: Deno.Kv,
    options: {
      stats: CommitStats;
      historyLimit: number;
      onCommit?: CommitObserver;
      onCommitted?: CommittedListener;
    },
  ) {
    this.#kv = kv;
    this.#stats = options.stats;
    this.#historyLimit = options.historyLimit;
    this.#onCommit = options.onCommit;
    this.#onCommitted = options.onCommitted;
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

  /** Starts commits while there is room for one and rooms not already committing. */
  #pump(): void {
    while (this.#inFlight < MAX_IN_FLIGHT) {
      const batch = this.#takeBatch();
      if (batch.length === 0) return;
      this.#inFlight++;
      this.#commit(batch)
        .catch((error) => {
          const failure = storageError(batch.map(({ room }) => `"${room}"`).join(", "), error);
          for (const { pending } of batch) for (const item of pending) item.reject(failure);
        })
        .finally(() => {
          this.#inFlight--;
          for (const { room } of batch) this.#committing.delete(room);
          this.#pump();
        });
    }
  }

  /** Takes queued messages of up to ten rooms that are not committing, within KV's limits. */
  #takeBatch(): RoomBatch[] {
    const batch: RoomBatch[] = [];
    let messages = 0;
    let bytes = 0;
    for (const [room, queue] of this.#queues) {
      if (batch.length === MAX_ROOMS || messages === MAX_MESSAGES) break;
      if (this.#committing.has(room)) continue;
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
      this.#committing.add(room);
      if (queue.length === 0) this.#queues.delete(room);
    }
    return batch;
  }

  async #commit(initial: RoomBatch[]): Promise<void> {
    let batch = initial;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      // Read the heads before the id index: any commit after this read moves a head and fails
      // our check, so the index read below cannot miss a concurrent duplicate.
      const entries = await this.#kv.getMany<Room[]>(batch.map(({ room }) => roomKey(room)));
      batch = batch.filter(({ room, pending }, i) => {
        if (entries[i].value !== null) return true;
        const missing = new ParleyError(404, "room_not_found", `Room "${room}" does not exist`);
        for (const item of pending) item.reject(missing);
        return false;
      });
      const present = entries.filter((entry) => entry.value !== null) as Deno.KvEntry<Room>[];
      if (batch.length === 0) return;
      const stored = await this.#findStored(batch);
      const op = this.#kv.atomic();
      const settle: Array<() => void> = [];
      const committed: Array<[string, Message[]]> = [];
      let appended = 0;
      batch.forEach(({ room: id, pending }, i) => {
        const entry = present[i];
        const room = entry.value;
        const at = Math.max(Date.now(), room.lastAt ?? 0);
        const seen = stored.get(id) ?? new Map<string, Message>();
        const results: AppendResult[] = [];
        let head = room.head;
        for (const { input } of pending) {
          const earlier = input.id === undefined ? undefined : seen.get(input.id);
          if (earlier) {
            results.push({ message: earlier, created: false });
            continue;
          }
          head++;
          const message: Message = {
            seq: head,
            id: input.id ?? serverMadeId(),
            room: id,
            author: input.author,
            text: input.text,
            at,
          };
          op.set(messageKey(id, head), message);
          if (input.id !== undefined) {
            op.set(messageIdKey(id, input.id), head, { expireIn: CLIENT_ID_TTL_MS });
            seen.set(input.id, message);
          }
          results.push({ message, created: true });
        }
        settle.push(() => pending.forEach((item, j) => item.resolve(results[j])));
        const fresh = results.flatMap(({ message, created }) => created ? [message] : []);
        if (fresh.length > 0) committed.push([id, fresh]);
        if (head === room.head) return;
        appended += head - room.head;
        const trimmed = this.#trim(op, room, head);
        op.check(entry).set(roomKey(id), { ...room, head, lastAt: at, trimmed } satisfies Room);
      });
      if (appended === 0) return settle.forEach((resolve) => resolve());
      this.#stats.commits++;
      const started = performance.now();
      const outcome = await op.commit().catch((error) => {
        // Another worker's or process's handle holds the SQLite write lock: wait, then retry.
        if (!isLocked(error)) throw error;
        return null;
      });
      this.#onCommit?.((performance.now() - started) / 1000, appended);
      if (outcome === null) {
        this.#stats.locked++;
        await lockBackoff(attempt);
        continue;
      }
      if (outcome.ok) {
        this.#stats.appended += appended;
        for (const [room, messages] of committed) this.#onCommitted?.(room, messages);
        return settle.forEach((resolve) => resolve());
      }
      this.#stats.conflicts++;
    }
    throw new ParleyError(
      503,
      "storage_busy",
      `Cannot append to ${
        batch.map(({ room }) => `"${room}"`).join(", ")
      }: the heads kept moving after ${MAX_ATTEMPTS} attempts`,
    );
  }

  /**
   * Deletes the messages that fall out of the retained history in the same commit, so storage
   * stays bounded; returns the new highest deleted seq.
   */
  #trim(op: Deno.AtomicOperation, room: Room, head: number): number {
    const trimmedBefore = room.trimmed ?? 0;
    const target = Math.max(trimmedBefore, head - this.#historyLimit);
    const allowed = head - room.head + MAX_TRIM_CATCH_UP;
    const trimmed = Math.min(target, trimmedBefore + allowed);
    for (let seq = trimmedBefore + 1; seq <= trimmed; seq++) {
      op.delete(messageKey(room.id, seq));
    }
    return trimmed;
  }

  /** Looks up the messages already stored under the batch's client ids, by room. */
  async #findStored(batch: RoomBatch[]): Promise<Map<string, Map<string, Message>>> {
    const wanted = batch.flatMap(({ room, pending }) =>
      [...new Set(pending.flatMap(({ input }) => input.id ?? []))].map((id) => ({ room, id }))
    );
    const found = new Map<string, Map<string, Message>>();
    if (wanted.length === 0) return found;
    const seqEntries = (await Promise.all(
      chunks(wanted, KV_READ_BATCH).map((part) =>
        this.#kv.getMany<number[]>(part.map(({ room, id }) => messageIdKey(room, id)))
      ),
    )).flat();
    const keys = seqEntries.flatMap((entry, i) =>
      entry.value === null ? [] : [messageKey(wanted[i].room, entry.value)]
    );
    const messages = (await Promise.all(
      chunks(keys, KV_READ_BATCH).map((part) => this.#kv.getMany<Message[]>(part)),
    )).flat();
    for (const { value } of messages) {
      if (!value) continue;
      if (!found.has(value.room)) found.set(value.room, new Map());
      found.get(value.room)!.set(value.id, value);
    }
    return found;
  }
}
