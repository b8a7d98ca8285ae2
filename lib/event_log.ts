import { TokenBucket } from "./limits.ts";

/** Fields of a log line: identifiers and counts, never message text. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** How many lines a worker writes at once at most, before {@link LINES_PER_SECOND} applies. */
export const LINE_BURST = 1_000;

/** How many lines a second a worker writes on average once its burst is spent. */
export const LINES_PER_SECOND = 200;

/**
 * The most characters (UTF-16 units) of a string field a line holds; the rest is cut, marked
 * with "…". Anyone can send a path of 64 KiB, and the line budget counts lines, not bytes.
 */
export const MAX_FIELD_LENGTH = 256;

/** When the count of lines left out is written, after the first one left out. */
const SUPPRESSED_REPORT_MS = 1_000;

/**
 * Structured logging: one JSON line per connection open and close and per rejected input, on
 * standard output. Message text is never logged. Anyone can make the server write lines (a bad
 * request is one), so a worker writes at most {@link LINE_BURST} at once and
 * {@link LINES_PER_SECOND} a second after that, each string field cut at {@link MAX_FIELD_LENGTH};
 * the lines it leaves out are counted, by event, in a `log_suppressed` line a second after the
 * first, or at once as the worker shuts down ({@link EventLog.flush}).
 */
export class EventLog {
  #budget: TokenBucket;
  #suppressed = new Map<string, number>();
  #report: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param enabled false (`PARLEY_LOG=off`) writes nothing
   * @param writeLine where a line goes (standard output; a test's array)
   * @param now the clock the line budget refills by, in ms (`performance.now()`; a test's own)
   */
  constructor(
    readonly enabled: boolean,
    readonly writeLine: (line: string) => void = (line) => console.log(line),
    readonly now: () => number = () => performance.now(),
  ) {
    this.#budget = new TokenBucket(LINES_PER_SECOND, LINE_BURST, now());
  }

  /** Writes one line: the time, the event name and its fields (or counts it as left out). */
  write(event: string, fields: LogFields = {}): void {
    if (!this.enabled) return;
    if (this.#budget.take(this.now()) > 0) return this.#suppress(event);
    this.#line(event, fields);
  }

  /**
   * Writes one line of the server's own doing (a shutdown's start and end), which no client can
   * cause: past the line budget, so that a flood of other lines never hides it.
   */
  writeOwn(event: string, fields: LogFields = {}): void {
    if (this.enabled) this.#line(event, fields);
  }

  #line(event: string, fields: LogFields): void {
    this.writeLine(JSON.stringify({ time: new Date().toISOString(), event, ...cut(fields) }));
  }

  /**
   * Writes the count of the lines left out now, if any is waiting for its timer: a shutdown's
   * last step, as the process may end before the timer.
   */
  flush(): void {
    if (this.#report === undefined) return;
    clearTimeout(this.#report);
    this.#reportSuppressed();
  }

  #suppress(event: string): void {
    this.#suppressed.set(event, (this.#suppressed.get(event) ?? 0) + 1);
    if (this.#report !== undefined) return;
    this.#report = setTimeout(() => this.#reportSuppressed(), SUPPRESSED_REPORT_MS);
    Deno.unrefTimer(this.#report);
  }

  #reportSuppressed(): void {
    this.#report = undefined;
    const lines = [...this.#suppressed.values()].reduce((sum, count) => sum + count, 0);
    const events = Object.fromEntries(this.#suppressed);
    this.#suppressed.clear();
    this.#line("log_suppressed", { lines, ...prefixed(events) });
  }
}

/** `fields` with each string longer than {@link MAX_FIELD_LENGTH} cut to it. */
function cut(fields: LogFields): LogFields {
  return Object.fromEntries(
    Object.entries(fields).map(([name, value]) => [
      name,
      typeof value === "string" && value.length > MAX_FIELD_LENGTH ? `${cutText(value)}…` : value,
    ]),
  );
}

/** The first {@link MAX_FIELD_LENGTH} units of `text`, less the first half of a split pair. */
function cutText(text: string): string {
  const end = isHighSurrogate(text.charCodeAt(MAX_FIELD_LENGTH - 1))
    ? MAX_FIELD_LENGTH - 1
    : MAX_FIELD_LENGTH;
  return text.slice(0, end);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Counts by event as fields of their own (`rejected: 12` becomes `suppressed_rejected: 12`). */
function prefixed(counts: Record<string, number>): LogFields {
  return Object.fromEntries(Object.entries(counts).map(([event, n]) => [`suppressed_${event}`, n]));
}
