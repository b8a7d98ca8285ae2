/**
 * The ids of a room's newest messages, held in memory so an append can tell a retry from a new
 * message without an id index in KV: a new id costs no read and no write. The ids are kept as
 * small hashes in typed arrays (about 12 KB for a full window); a hash that matches names
 * candidate seqs, and the caller reads those messages to compare the ids themselves, so a
 * collision costs a read, never a wrong answer.
 *
 * @module
 */

/** How many of a room's newest messages have their ids recognised (see docs/PROTOCOL.md). */
export const ID_WINDOW = 1000;

const FIRST_CAPACITY = 16;
const NONE: readonly number[] = Object.freeze([]);

// A secret per process: ids built offline to share one hash would each cost a read.
const SEED = crypto.getRandomValues(new Uint32Array(1))[0];

/** A 30-bit hash of a message id, seeded per process (a multiply and xor-shift per character). */
export function idHash(id: string): number {
  let hash = SEED;
  for (let i = 0; i < id.length; i++) {
    hash = Math.imul(hash ^ id.charCodeAt(i), 0x5bd1e995);
    hash ^= hash >>> 15;
  }
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) & 0x3fffffff;
}

/** The ids of one room's messages with seqs in (`from`, `head`], as hashes. */
export class RecentIds {
  /** The seq before the oldest one known. */
  from: number;
  /** The newest seq known. */
  head: number;
  #size: number;
  /** The window's start when the table was built; slots hold seqs relative to it plus one (0: empty). */
  #base: number;
  /** The hash of message `seq` at `seq & (capacity - 1)`; the capacity is a power of two. */
  #hashes = new Int32Array(FIRST_CAPACITY);
  /** An open-addressing table of seqs by hash, twice the capacity; stale seqs stay until rebuilt. */
  #slots = new Int32Array(2 * FIRST_CAPACITY);
  /** Seqs added to {@link #slots} since it was built. */
  #added = 0;

  /**
   * @param head the seq the window starts after; nothing before it is known
   * @param size how many ids the window holds
   */
  constructor(head: number, size = ID_WINDOW) {
    this.from = head;
    this.head = head;
    this.#base = head;
    this.#size = size;
  }

  /** Records that message `head + 1` has id `id`, forgetting the oldest beyond the window. */
  push(id: string): void {
    const seq = ++this.head;
    this.from = Math.max(this.from, seq - this.#size);
    const grown = seq - this.from > this.#hashes.length;
    if (grown) this.#grow();
    const hash = idHash(id);
    this.#hashes[seq & (this.#hashes.length - 1)] = hash;
    // Stale seqs fill the table until it is rebuilt; rebuilding after every half capacity of
    // additions keeps it at most three quarters full, so every probe meets an empty slot.
    if (grown || ++this.#added > this.#hashes.length / 2) this.#rebuild();
    else this.#insert(seq, hash);
  }

  /**
   * The seqs in the window whose message may have id `id` (their hashes match); nearly always
   * none, which costs no new array.
   */
  candidates(id: string): readonly number[] {
    const hash = idHash(id);
    let found: number[] | undefined;
    const mask = this.#slots.length - 1;
    for (let i = hash & mask;; i = (i + 1) & mask) {
      const slot = this.#slots[i];
      if (slot === 0) return found ?? NONE;
      const seq = this.#base + slot - 1;
      if (seq > this.from && this.#hashes[seq & (this.#hashes.length - 1)] === hash) {
        (found ??= []).push(seq);
      }
    }
  }

  #insert(seq: number, hash: number): void {
    const mask = this.#slots.length - 1;
    let i = hash & mask;
    while (this.#slots[i] !== 0) i = (i + 1) & mask;
    this.#slots[i] = seq - this.#base + 1;
  }

  /** Doubles the capacity, keeping the hashes of the seqs in the window. */
  #grow(): void {
    const old = this.#hashes;
    this.#hashes = new Int32Array(2 * old.length);
    for (let seq = this.from + 1; seq < this.head; seq++) {
      this.#hashes[seq & (this.#hashes.length - 1)] = old[seq & (old.length - 1)];
    }
  }

  /** Builds the table afresh from the seqs in the window, dropping stale ones. */
  #rebuild(): void {
    this.#slots = new Int32Array(2 * this.#hashes.length);
    this.#added = 0;
    // Slots hold seqs relative to the window's start, so they stay small however long it lives.
    this.#base = this.from;
    for (let seq = this.from + 1; seq <= this.head; seq++) {
      this.#insert(seq, this.#hashes[seq & (this.#hashes.length - 1)]);
    }
  }
}
