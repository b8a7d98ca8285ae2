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

/** What the durable ceiling stores of each message. */
export interface CeilingMessage {
  seq: number;
  id: string;
  room: string;
  author: string;
  text: string;
  at: number;
}

interface Queued {
  message: CeilingMessage;
  resolve: () => void;
  reject: (error: unknown) => void;
}

// KV allows 1000 mutations and 800 KiB per atomic operation; Parley's committer takes at most 250
// messages a commit, and so does this one.
const MAX_MESSAGES = 250;

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

  /** Resolves once the message is durably stored; rejects if its commit failed. */
  persist(message: CeilingMessage): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#queue.push({ message, resolve, reject });
    if (!this.#committing) this.#commitQueued();
    return promise;
  }

  async #commitQueued(): Promise<void> {
    this.#committing = true;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_MESSAGES);
      const op = this.#kv.atomic();
      if (this.#layout === "log") {
        op.set(["c", this.#commits++], batch.map(({ message }) => message));
      } else {
        for (const { message } of batch) op.set(["m", message.room, message.seq], message);
      }
      try {
        await op.commit();
        for (const { resolve } of batch) resolve();
      } catch (error) {
        for (const { reject } of batch) reject(error);
      }
    }
    this.#committing = false;
  }
}
