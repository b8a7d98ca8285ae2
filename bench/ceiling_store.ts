/**
 * The durable ceiling's store: the least a server can do to have every message durably in Deno KV
 * before it is acknowledged or delivered. Messages queue in memory; one atomic commit at a time
 * writes all that is queued (within KV's limits for one operation), each message under its own
 * key, as a server that reads history by seq needs; or, in the `log` layout, all of a commit's
 * messages as one value under the commit's number, the least a commit can write (reading a room's
 * history back would then need an index this store does not keep). Nothing else: no checks (the
 * seqs come from memory, so one process owns them), no room records, no client ids, no retention.
 *
 * @module
 */
import type { Message } from "../lib/types.ts";

/** What the durable ceiling stores of each message: the fields Parley stores. */
export type CeilingMessage = Message;

interface Queued {
  message: CeilingMessage;
  resolve: () => void;
  reject: (error: unknown) => void;
}

// KV allows 1000 mutations and 800 KiB per atomic operation, and 64 KiB per value. Parley's
// committer takes at most 250 messages a commit, and so does this one, within a byte budget that
// keeps the `log` layout's one value under KV's limit (a message over it goes alone, and fails).
const MAX_MESSAGES = 250;
const MAX_BYTES = 56 * 1024;

/** An upper bound on a message's size once stored (strings may be stored as UTF-16). */
function estimatedBytes({ id, room, author, text }: CeilingMessage): number {
  return 2 * (id.length + room.length + author.length + text.length) + 64;
}

/** How the store lays out a commit's messages: one key each, or one value for them all. */
export type CeilingLayout = "keys" | "log";

/** Group-commits messages to KV, one commit in flight; see the module documentation. */
export class CeilingStore {
  #kv: Deno.Kv;
  #layout: CeilingLayout;
  #queue: Queued[] = [];
  #committing = false;
  /** The next commit's number, in the `log` layout. */
  #commits = 0;

  /** @param kv the store to write into; @param layout how to lay out messages (default `keys`) */
  constructor(kv: Deno.Kv, layout: CeilingLayout = "keys") {
    this.#kv = kv;
    this.#layout = layout;
  }

  /**
   * Resolves once the message is durably stored; rejects if its commit failed. Messages settle in
   * the order they came, so a caller that numbered them in that order delivers them in order.
   */
  persist(message: CeilingMessage): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#queue.push({ message, resolve, reject });
    if (!this.#committing) this.#commitQueued();
    return promise;
  }

  async #commitQueued(): Promise<void> {
    this.#committing = true;
    try {
      while (this.#queue.length > 0) await this.#commit(this.#takeBatch());
    } finally {
      this.#committing = false;
    }
  }

  /** Takes the queued messages one commit carries: at least one, within the limits above. */
  #takeBatch(): Queued[] {
    let count = 1;
    let bytes = estimatedBytes(this.#queue[0].message);
    while (count < this.#queue.length && count < MAX_MESSAGES) {
      bytes += estimatedBytes(this.#queue[count].message);
      if (bytes > MAX_BYTES) break;
      count++;
    }
    return this.#queue.splice(0, count);
  }

  /** Writes one batch and settles its messages: all stored, or all rejected. */
  async #commit(batch: Queued[]): Promise<void> {
    try {
      const op = this.#kv.atomic();
      if (this.#layout === "log") {
        op.set(["c", this.#commits++], batch.map(({ message }) => message));
      } else {
        for (const { message } of batch) op.set(["m", message.room, message.seq], message);
      }
      await op.commit();
    } catch (error) {
      for (const { reject } of batch) reject(error);
      return;
    }
    for (const { resolve } of batch) resolve();
  }
}
