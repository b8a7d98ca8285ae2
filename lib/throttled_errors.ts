/**
 * Error lines on standard error for a failure that can repeat many times a second, such as every
 * batch of appends while the disk under the store is full: a line per failure would bury the
 * rest of the log (and a journal's rate limit would then drop it all), so after one line the next
 * waits {@link THROTTLE_MS}, and says how many failures it stands for. When the failures stop, the
 * last one counted is written once its wait is over, with the count of the others, so the count
 * is never lost; a shutdown writes it at once ({@link ThrottledErrors.flush}).
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
  /** The last failure counted: the line written when no other comes. */
  #latest: { message: string; cause: unknown } | undefined;
  /** Writes {@link #latest} once the wait is over; unref'd, so a process is not kept up for it. */
  #timer: ReturnType<typeof setTimeout> | undefined;

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
    if (now - this.#lastAt >= THROTTLE_MS) return this.#line(message, cause, now);
    this.#leftOut++;
    this.#latest = { message, cause };
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => this.flush(), THROTTLE_MS - (now - this.#lastAt));
    Deno.unrefTimer(this.#timer);
  }

  /** Writes the last failure counted, with the count of the others, if any was counted. */
  flush(): void {
    const latest = this.#latest;
    if (latest === undefined) return;
    this.#leftOut--;
    this.#line(latest.message, latest.cause, this.#now());
  }

  #line(message: string, cause: unknown, now: number): void {
    const leftOut = this.#leftOut;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#latest = undefined;
    this.#lastAt = now;
    this.#leftOut = 0;
    const more = leftOut === 0 ? "" : ` (${leftOut} more like it left out since the last line)`;
    this.#write(`${message}${more}:`, cause);
  }
}
