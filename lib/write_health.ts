/**
 * Whether this worker's appends have been failing lately, as when the disk under the store is
 * full: for `/healthz` and `/metrics`. A worker that forwards its appends to another counts the
 * answers it gets, so every worker of a process reports the same trouble.
 *
 * @module
 */

/** How long one failed append keeps the store reported as failing, unless one is stored. */
export const FAILING_FOR_MS = 30_000;

/** The outcomes of this worker's appends, as far as the store's health goes. */
export class WriteHealth {
  #now: () => number;
  /** When the current run of failures began; undefined when the last append was stored. */
  #since: number | undefined;
  #last = -Infinity;

  /** @param now the clock, in ms since the epoch (tests pass their own) */
  constructor(now = () => Date.now()) {
    this.#now = now;
  }

  /** An append was stored (or found stored): the store works. */
  stored(): void {
    this.#since = undefined;
  }

  /** An append failed in the store. */
  failed(): void {
    const now = this.#now();
    this.#since ??= now;
    this.#last = now;
  }

  /**
   * When appends began failing, if the last one failed within {@link FAILING_FOR_MS}; undefined
   * while they work, or when nothing has been tried for that long.
   */
  failingSince(): number | undefined {
    if (this.#since === undefined || this.#now() - this.#last >= FAILING_FOR_MS) return undefined;
    return this.#since;
  }
}
