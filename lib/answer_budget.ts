/**
 * How many messages one HTTP answer carries at most by size. A page of `limit` messages can be
 * large (500 of 4,000 emoji each are 8 MB of JSON), and an answer its client does not read stays
 * in memory as long as the connection lasts; plain requests count against no connection cap, so
 * without a bound one client could hold gigabytes with a few hundred requests for the same page.
 * WebSockets and event streams are bounded the same way (`MAX_BUFFERED_BYTES`).
 *
 * @module
 */
import type { Message } from "./types.ts";

/** About the most bytes of messages one answer carries, past {@link WHOLE_PAGE} messages. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * So many messages always come whole, whatever their size: the bundled client's page of history
 * (`OLDER_PAGE_SIZE`), which takes a shorter page for the start of the history. At most 16,000
 * bytes of text each (4,000 code points of up to 4 bytes of UTF-8), they stay under 1 MiB too.
 */
export const WHOLE_PAGE = 50;

// What a message's JSON holds besides its strings: field names, quotes, the seq and the time.
const FIXED_BYTES = 128;

/**
 * At least the bytes `message` takes in a JSON answer, without serialising it: in UTF-8 a UTF-16
 * code unit is at most 3 bytes, and the only escapes message text may need (a quote, a backslash,
 * a tab or a newline; other control characters are refused) are 2.
 */
function boundOfBytes({ id, room, author, text, authorId = "" }: Message): number {
  return FIXED_BYTES +
    3 * (id.length + room.length + author.length + text.length + authorId.length);
}

/**
 * The messages (oldest first) an answer carries: every one of a page of {@link WHOLE_PAGE} or
 * fewer, else as many as stay within {@link MAX_ANSWER_BYTES} by a bound of their size, and at
 * least {@link WHOLE_PAGE}. For a page forwards (`keep: "oldest"`) the oldest, so the next poll
 * after the last gets the rest; for a page backwards (`"newest"`) the newest, so the next page
 * `before` the first does.
 */
export function withinAnswerBudget(messages: Message[], keep: "oldest" | "newest"): Message[] {
  const count = messages.length;
  if (count <= WHOLE_PAGE) return messages;
  let bytes = 0;
  for (let taken = 0; taken < count; taken++) {
    bytes += boundOfBytes(messages[keep === "oldest" ? taken : count - 1 - taken]);
    if (bytes > MAX_ANSWER_BYTES && taken >= WHOLE_PAGE) {
      return keep === "oldest" ? messages.slice(0, taken) : messages.slice(count - taken);
    }
  }
  return messages;
}
