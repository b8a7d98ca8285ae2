/**
 * The KV key layout, in one place:
 *
 * - `["rooms", room]` → {@link Room}: title and head; every append rewrites it, so it is the
 *   key the hub watches.
 * - `["messages", room, seq]` → {@link Message}
 * - `["log", n]` → `Message[]`: the messages commit `n` wrote for rooms that got only a few in
 *   it, so that commit writes one value instead of a key in each room's range. A room's record
 *   lists the log values that still hold its messages (`logged`); once it holds a few, or they
 *   are some commits old, a later commit copies them to the room's own keys, and the last room
 *   to do so deletes the log value. Reads merge the room's keys with its log values.
 * - `["log_clock"]` → how many commits the log has had; every append commit checks and bumps it,
 *   so one check guards a commit of many rooms, and commit `n` is the one that bumped it to `n`.
 * - `["meta", "format"]` → the number of the layout the store is in (this one is 1, see
 *   `lib/store_format.ts`): written at start where it is missing (checked absent); a version
 *   refuses to start on a store in a format it cannot read.
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

/** The key of log value `n` (see the module documentation). */
export function logKey(n: number): Deno.KvKey {
  return ["log", n];
}

/** The prefix under which every live log value lives, in commit order. */
export const LOG_PREFIX: Deno.KvKey = ["log"];

/** The key every append commit checks and bumps (see `lib/group_commit.ts`). */
export const LOG_CLOCK_KEY: Deno.KvKey = ["log_clock"];

/** The key of the store's format marker (see `lib/store_format.ts`). */
export const FORMAT_KEY: Deno.KvKey = ["meta", "format"];
