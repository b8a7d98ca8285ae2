/**
 * The KV key layout, in one place:
 *
 * - `["rooms", room]` → {@link Room}: title and head; every append rewrites it, so it is the
 *   key the hub watches.
 * - `["messages", room, seq]` → {@link Message}
 * - `["log_clock"]` → how many commits the log has had; every append commit checks and bumps it,
 *   so one check guards a commit of many rooms.
 *
 * @module
 */

/** The key of a room record. */
export function roomKey(room: string): Deno.KvKey {
  return ["rooms", room];
}

/** The prefix under which every room record lives. */
export const ROOMS_PREFIX: Deno.KvKey = ["rooms"];

/** The key of one message. */
export function messageKey(room: string, seq: number): Deno.KvKey {
  return ["messages", room, seq];
}

/** The prefix under which a room's messages live, ordered by seq. */
export function messagesPrefix(room: string): Deno.KvKey {
  return ["messages", room];
}

/** The key every append commit checks and bumps (see `lib/group_commit.ts`). */
export const LOG_CLOCK_KEY: Deno.KvKey = ["log_clock"];
