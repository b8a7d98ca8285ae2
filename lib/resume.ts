import { ParleyError } from "./errors.ts";
import type { MessageLog } from "./message_log.ts";
import { HistoryTrimmedError } from "./room_reader.ts";
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
/** A message id: a client's (see `CLIENT_ID_PATTERN`) or the server's (`srv.` and a UUID). */
const MESSAGE_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** A resume cursor as a request gives it. */
export interface CursorParams {
  after?: string | null;
  epoch?: string | null;
  /** The id of the message at `after`, as the client has it. */
  last?: string | null;
  /** What errors call `after` (default `after`). */
  name?: string;
}

/**
 * Decides how a client resumes from its cursor (`after`) and the epoch it was issued in. A
 * cursor from another epoch, one whose next messages were trimmed, or one beyond the head of its
 * own epoch's log (restored from a backup since) gets an explicit resync, never a silent gap or a
 * refusal its client cannot get past. A cursor beyond the head without an epoch says nothing of
 * where it came from, and is refused as `invalid_cursor`. `cursor.name` is what errors call the
 * cursor (default `after`).
 */
export function parseResume(room: Room, cursor: CursorParams): Resume {
  const epoch = cursor.epoch || undefined;
  if (epoch !== undefined && !EPOCH_PATTERN.test(epoch)) {
    throw new ParleyError(400, "invalid_epoch", `The epoch "${epoch}" is not a log epoch`);
  }
  // Without an epoch a cursor beyond the head is a client's mistake; with one it may predate a
  // restore, or come from another log.
  const after = parseCursor(
    cursor.after,
    cursor.name ?? "after",
    epoch === undefined ? room.head : Number.MAX_SAFE_INTEGER,
  );
  if (after === undefined) return { resync: false };
  const otherEpoch = epoch !== undefined && epoch !== room.epoch;
  if (otherEpoch || after < room.trimmed || after > room.head) return { resync: true };
  return { after, resync: false };
}

/**
 * {@link parseResume}, and when the client names the message it has at its cursor (`last`), a
 * check that the log holds that message there. A log restored from a backup gives the seqs after
 * its head out again: a client asleep through the restore, whose cursor the new messages have
 * passed since, would resume past messages it never had, and keep ones that are gone. It is
 * resynced instead. A cursor whose message retention deleted cannot be checked and is taken as it
 * is (its next messages are still kept, or it is resynced anyway).
 */
export async function checkResume(
  log: MessageLog,
  room: Room,
  cursor: CursorParams,
): Promise<Resume> {
  const last = cursor.last || undefined;
  if (last !== undefined && !MESSAGE_ID_PATTERN.test(last)) {
    throw new ParleyError(400, "invalid_cursor", `The last id "${last}" is not a message id`);
  }
  const resume = parseResume(room, cursor);
  if (last === undefined || resume.after === undefined || resume.after <= room.trimmed) {
    return resume;
  }
  try {
    const [message] = await log.readAfter(room.id, resume.after - 1, 1);
    return message?.seq === resume.after && message.id === last ? resume : { resync: true };
  } catch (error) {
    // Retention passed the cursor since the room was read: its next messages are gone too.
    if (error instanceof HistoryTrimmedError) return { resync: true };
    throw error;
  }
}

/** Reads what a resync carries: the latest messages up to `head`, oldest first. */
export function readResyncMessages(
  log: MessageLog,
  room: string,
  head: number,
): Promise<Message[]> {
  return log.readLatest(room, { limit: RESYNC_MESSAGES, before: head + 1 });
}
