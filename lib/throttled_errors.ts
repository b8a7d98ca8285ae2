/**
 * Error lines on standard error for a failure that can repeat many times a second, such as every
 * batch of appends while the disk under the store is full: a line per failure would bury the
 * rest of the log (and a journal's rate limit would then drop it all), so after one line the next
 * waits {@link THROTTLE_MS}, and says how many failures it stands for.
 *
 * @module
 */

/** The least time between two lines of one {@link ThrottledErrors}, in ms. */
export const THROTTLE_MS = 1_000;

/** At most one error line a {@link THROTTLE_MS}; the failures left out are counted. */
export class ThrottledErrors {
  #now: () => number;
  #write: (...args: unknown[]) => void;
  #lastAt = -Infinity;
  #leftOut = 0;

  /**
   * @param options.now the clock, in ms (`performance.now()`; a test's own)
   * @param options.write where a line goes (`console.error`; a test's own)
   */
  constructor(
    options: { now?: () => number; write?: (...args: unknown[]) => void } = {},
  ) {
    this.#now = options.now ?? (() => performance.now());
    this.#write = options.write ?? ((...args) => console.error(...args));
  }

  /**
   * Writes `message` and its `cause`, or counts it when a line went out less than
   * {@link THROTTLE_MS} ago; the next line written says how many were counted.
   */
  write(message: string, cause: unknown): void {
    const now = this.#now();
    if (now - this.#lastAt < THROTTLE_MS) {
      this.#leftOut++;
      return;
    }
    const leftOut = this.#leftOut;
    this.#lastAt = now;
    this.#leftOut = 0;
    const more = leftOut === 0 ? "" : ` (${leftOut} more like it left out since the last line)`;
    this.#write(`${message}${more}:`, cause);
  }
}
