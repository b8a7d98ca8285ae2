/**
 * The text of a benchmark message: a tag naming the phase it was sent in, and its send time in
 * ms since the epoch (`performance.timeOrigin + performance.now()`), so every receiver can
 * compute its end-to-end latency on delivery: `bench <tag> t=<ms>`.
 *
 * @module
 */

const PREFIX = "bench ";
const TIME = " t=";

/** Now, in ms since the epoch, with sub-millisecond precision. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Builds the text of a message sent now in the phase `tag` (letters and digits only). */
export function messageText(tag: string, sentAt = now()): string {
  return `${PREFIX}${tag}${TIME}${sentAt.toFixed(3)}`;
}

/** What a benchmark message's text says: the phase it was sent in and when. */
export interface MessageStamp {
  tag: string;
  /** In ms since the epoch. */
  sentAt: number;
}

/** The tag and send time of a benchmark message's text, or undefined for any other text. */
export function parseMessageText(text: string): MessageStamp | undefined {
  if (!text.startsWith(PREFIX)) return undefined;
  const time = text.indexOf(TIME, PREFIX.length);
  if (time < 0) return undefined;
  const sentAt = Number(text.slice(time + TIME.length));
  return Number.isFinite(sentAt) ? { tag: text.slice(PREFIX.length, time), sentAt } : undefined;
}
