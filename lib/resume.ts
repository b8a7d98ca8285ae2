import { ParleyError } from "./errors.ts";
import type { MessageLog } from "./message_log.ts";
import type { Message, Room } from "./types.ts";
import { parseCursor } from "./validation.ts";

/** How many of the latest messages a resync carries. */
export const RESYNC_MESSAGES = 50;

/** Where a client resumes: after a seq, or from a fresh resync when its cursor cannot resume. */
export interface Resume {
  /** Deliver messages after this seq; undefined for only new ones (or after a resync). */
  after?: number;
  /** The cursor is from another epoch or points at trimmed history: start over explicitly. */
  resync: boolean;
}

const EPOCH_PATTERN = /^[A-Za-z0-9-]{1,36}$/;

/**
 * Decides how a client resumes from its cursor (`after`) and the epoch it was issued in. A
 * cursor from another epoch, or one whose next messages were trimmed, gets an explicit resync,
 * never a silent gap; a cursor beyond the head of the same log is refused as `invalid_cursor`.
 * `cursor.name` is what errors call the cursor (default `after`).
 */
export function parseResume(
  room: Room,
  cursor: { after?: string | null; epoch?: string | null; name?: string },
): Resume {
  const epoch = cursor.epoch || undefined;
  if (epoch !== undefined && !EPOCH_PATTERN.test(epoch)) {
    throw new ParleyError(400, "invalid_epoch", `The epoch "${epoch}" is not a log epoch`);
  }
  const otherEpoch = epoch !== undefined && epoch !== room.epoch;
  // Within this epoch a cursor beyond the head is a client bug; from another it is expected.
  const after = parseCursor(
    cursor.after,
    cursor.name ?? "after",
    otherEpoch ? Number.MAX_SAFE_INTEGER : room.head,
  );
  if (after === undefined) return { resync: false };
  if (otherEpoch || after < room.trimmed) return { resync: true };
  return { after, resync: false };
}

/** Reads what a resync carries: the latest messages up to `head`, oldest first. */
export function readResyncMessages(
  log: MessageLog,
  room: string,
  head: number,
): Promise<Message[]> {
  return log.readLatest(room, { limit: RESYNC_MESSAGES, before: head + 1 });
}
