/**
 * How many messages one HTTP answer carries at most by size. A page of `limit` messages can be
 * large (500 of 4,000 emoji each are 8 MB of JSON), and an answer its client does not read stays
 * in memory as long as the connection lasts; plain requests count against no connection cap, so
 * without a bound one client could hold gigabytes with a few hundred requests for the same page.
 * WebSockets and event streams are bounded the same way (`MAX_BUFFERED_BYTES`).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Message } from "./types.ts";

/** About the most bytes of messages one answer carries (at least one message, whatever its size). */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * How many bytes `message` takes in a JSON answer. Its text is at most 16,000 bytes there (4,000
 * code points of up to 4 bytes of UTF-8; an escape such as `\n` is 2), so a page of 50 (the bundled
 * client's page of history, a resync) always fits whole.
 */
export function messageBytes(message: Message): number {
  return Buffer.byteLength(JSON.stringify(message), "utf8");
}

/**
 * The messages (oldest first) an answer carries within {@link MAX_ANSWER_BYTES}: the oldest ones
 * for a page forwards (`keep: "oldest"`: the next poll after the last gets the rest), the newest
 * for a page backwards (`"newest"`: the next page `before` the first gets the rest). Never none of
 * several.
 */
export function withinAnswerBudget(
  messages: Message[],
  keep: "oldest" | "newest",
  budget = MAX_ANSWER_BYTES,
): Message[] {
  let bytes = 0;
  const count = messages.length;
  for (let taken = 0; taken < count; taken++) {
    const message = messages[keep === "oldest" ? taken : count - 1 - taken];
    bytes += messageBytes(message);
    if (bytes > budget && taken > 0) {
      return keep === "oldest" ? messages.slice(0, taken) : messages.slice(count - taken);
    }
  }
  return messages;
}
