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

/** Counters shared by all appenders of a log, for tests, benchmarks and metrics. */
export interface CommitStats {
  /** Commits that found the store locked by another handle and were retried. */
  locked: number;
  /** Atomic commits attempted (successful or not). */
  commits: number;
  /** Commits that lost the race for the head and were retried. */
  conflicts: number;
  /** Messages newly stored. */
  appended: number;
}

/** Told of each commit attempt: how long it took and how many new messages it carried. */
export type CommitObserver = (seconds: number, messages: number) => void;

interface Pending {
  input: NewMessage;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

// KV allows 1000 mutations and 800 KiB per atomic operation. Each message costs two mutations
// (message and id index), retention deletes at most one old message per new one plus a little
// catch-up, and the room record is one more.
const MAX_BATCH_MESSAGES = 300;
const MAX_TRIM_PER_COMMIT = 300;
const MAX_BATCH_BYTES = 600 * 1024;
const MAX_ATTEMPTS = 100;
/** How long a client id is remembered for idempotent retries. */
export const CLIENT_ID_TTL_MS = 24 * 60 * 60 * 1000;
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

/**
 * Appends to one room with group commit: appends that arrive while a commit is in flight
 * wait and go into the next single atomic commit, which `check`s the room record so that
 * seqs stay dense across workers. A conflict re-reads the head and retries the batch.
 */
export class RoomAppender {
  #queue: Pending[] = [];
  #draining = false;
  #kv: Deno.Kv;
  #room: string;
  #stats: CommitStats;
  #historyLimit: number;
  #onIdle: () => void;
  #onCommit: CommitObserver | undefined;

  /**
   * @param kv the store
   * @param room the room this appender writes to
   * @param options shared counters, how many messages the room keeps, a callback for when the
   * queue has drained, and one for each commit attempt
   */
  constructor(
    kv: Deno.Kv,
    room: string,
    options: {
      stats: CommitStats;
      historyLimit: number;
      onIdle: () => void;
      onCommit?: CommitObserver;
    },
  ) {
    this.#kv = kv;
    this.#room = room;
    this.#stats = options.stats;
    this.#historyLimit = options.historyLimit;
    this.#onIdle = options.onIdle;
    this.#onCommit = options.onCommit;
  }

  /** Queues one append; resolves once it is durably stored (or found already stored). */
  append(input: NewMessage): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ input, resolve, reject });
      if (!this.#draining) this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    while (this.#queue.length > 0) {
      const batch = this.#takeBatch();
      try {
        await this.#commit(batch);
      } catch (error) {
        const failure = error instanceof ParleyError ? error : new ParleyError(
          503,
          "storage_unavailable",
          `Cannot append to room "${this.#room}": ${error}`,
        );
        for (const pending of batch) pending.reject(failure);
      }
    }
    this.#draining = false;
    this.#onIdle();
  }

  #takeBatch(): Pending[] {
    let bytes = 0;
    let count = 0;
    while (count < this.#queue.length && count < MAX_BATCH_MESSAGES) {
      bytes += estimatedBytes(this.#queue[count].input);
      if (count > 0 && bytes > MAX_BATCH_BYTES) break;
      count++;
    }
    return this.#queue.splice(0, count);
  }

  async #commit(batch: Pending[]): Promise<void> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      // Read the head before the id index: any commit after this read moves the head and
      // fails our check, so the index read below cannot miss a concurrent duplicate.
      const entry = await this.#kv.get<Room>(roomKey(this.#room));
      if (entry.value === null) {
        throw new ParleyError(404, "room_not_found", `Room "${this.#room}" does not exist`);
      }
      const stored = await this.#findStored(batch);
      const room = entry.value;
      const at = Math.max(Date.now(), room.lastAt ?? 0);
      const results: AppendResult[] = [];
      const op = this.#kv.atomic().check(entry);
      let head = room.head;
      for (const { input } of batch) {
        const earlier = input.id === undefined ? undefined : stored.get(input.id);
        if (earlier) {
          results.push({ message: earlier, created: false });
          continue;
        }
        head++;
        const message: Message = {
          seq: head,
          id: input.id ?? serverMadeId(),
          room: this.#room,
          author: input.author,
          text: input.text,
          at,
        };
        op.set(messageKey(this.#room, head), message);
        if (input.id !== undefined) {
          op.set(messageIdKey(this.#room, input.id), head, { expireIn: CLIENT_ID_TTL_MS });
          stored.set(input.id, message);
        }
        results.push({ message, created: true });
      }
      if (head === room.head) {
        batch.forEach((pending, i) => pending.resolve(results[i]));
        return;
      }
      const trimmed = this.#trim(op, room, head);
      op.set(roomKey(this.#room), { ...room, head, lastAt: at, trimmed } satisfies Room);
      this.#stats.commits++;
      const started = performance.now();
      const outcome = await op.commit().catch((error) => {
        // Another worker's or process's handle holds the SQLite write lock: wait, then retry.
        if (!isLocked(error)) throw error;
        return null;
      });
      this.#onCommit?.((performance.now() - started) / 1000, head - room.head);
      if (outcome === null) {
        this.#stats.locked++;
        await lockBackoff(attempt);
        continue;
      }
      if (outcome.ok) {
        this.#stats.appended += head - room.head;
        batch.forEach((pending, i) => pending.resolve(results[i]));
        return;
      }
      this.#stats.conflicts++;
    }
    throw new ParleyError(
      503,
      "storage_busy",
      `Cannot append to room "${this.#room}": the head kept moving after ${MAX_ATTEMPTS} attempts`,
    );
  }

  /**
   * Deletes the messages that fall out of the retained history in the same commit, so storage
   * stays bounded; returns the new highest deleted seq.
   */
  #trim(op: Deno.AtomicOperation, room: Room, head: number): number {
    const target = Math.max(room.trimmed, head - this.#historyLimit);
    const trimmed = Math.min(target, room.trimmed + MAX_TRIM_PER_COMMIT);
    for (let seq = room.trimmed + 1; seq <= trimmed; seq++) {
      op.delete(messageKey(this.#room, seq));
    }
    return trimmed;
  }

  /** Looks up the messages already stored under the batch's client ids. */
  async #findStored(batch: Pending[]): Promise<Map<string, Message>> {
    const ids = [...new Set(batch.flatMap(({ input }) => input.id ?? []))];
    const found = new Map<string, Message>();
    if (ids.length === 0) return found;
    const seqEntries = (await Promise.all(
      chunks(ids, KV_READ_BATCH).map((part) =>
        this.#kv.getMany<number[]>(part.map((id) => messageIdKey(this.#room, id)))
      ),
    )).flat();
    const seqs = seqEntries.flatMap((entry) => entry.value ?? []);
    const messages = (await Promise.all(
      chunks(seqs, KV_READ_BATCH).map((part) =>
        this.#kv.getMany<Message[]>(part.map((seq) => messageKey(this.#room, seq)))
      ),
    )).flat();
    for (const entry of messages) {
      if (entry.value) found.set(entry.value.id, entry.value);
    }
    return found;
  }
}
