/**
 * Reads a room's messages where they are stored: under the room's own keys, and in the shared
 * log values its record lists (see `lib/keys.ts`). A read covers the room up to the head its
 * record had when the read began (later messages are left for the next read). It reads the log
 * values before the keys: a log value that is gone by then was deleted by the commit that copied
 * its messages to the room's keys, where the key read that follows finds them. On a store
 * without the shared log (see `MessageLog`'s `sharedLog`) a read lists the keys alone: a commit
 * writes a room's messages and its head together there, so no read can see a gap.
 *
 * @module
 */
import { ParleyError } from "./errors.ts";
import { logKey, messageKey, messagesPrefix, roomKey } from "./keys.ts";
import { KEYS_PER_READ } from "./kv_reads.ts";
import type { Message, StoredRoom } from "./types.ts";

/** Which of a room's messages to read. */
export interface MessageRange {
  /** Only messages with a seq greater than this. */
  after?: number;
  /** Only messages with a seq lower than this. */
  before?: number;
  /** At most this many. */
  limit: number;
  /** Take them from the newest end of the range (default: from the oldest). */
  newest?: boolean;
  /**
   * `after` is a client's cursor: throw `history_trimmed` if retention has deleted messages
   * right after it, rather than start at the first one left (a silent gap for that client).
   */
  gapless?: boolean;
}

/** The error for a cursor whose next messages retention has deleted. */
export class HistoryTrimmedError extends ParleyError {
  /**
   * @param room the room read
   * @param after the cursor read from
   * @param trimmed the seq up to which the room's messages are gone
   */
  constructor(room: string, after: number, readonly trimmed: number) {
    super(409, "history_trimmed", `Room "${room}" no longer keeps the messages after seq ${after}`);
  }
}

// KV lists at most 1000 entries per batch.
const MAX_LIST_BATCH = 1000;

/**
 * Reads up to `range.limit` messages of `room` in `range`, oldest first; none for no room.
 * `sharedLog: false` says that no log value can hold messages in this store.
 */
export async function readMessages(
  kv: Deno.Kv,
  room: string,
  range: MessageRange,
  options: { sharedLog?: boolean } = {},
): Promise<Message[]> {
  const messages = await readRange(kv, room, range, options);
  const after = range.after ?? 0;
  // Seqs are dense: a first message past the next one means retention passed the cursor.
  if (range.gapless && messages.length > 0 && messages[0].seq > after + 1) {
    throw new HistoryTrimmedError(room, after, messages[0].seq - 1);
  }
  return messages;
}

async function readRange(
  kv: Deno.Kv,
  room: string,
  range: MessageRange,
  options: { sharedLog?: boolean },
): Promise<Message[]> {
  if (options.sharedLog === false) {
    return range.limit <= 0 ? [] : await listKeyed(kv, room, range.after ?? 0, range.before, range);
  }
  const { value: record } = await kv.get<StoredRoom>(roomKey(room));
  if (record === null || range.limit <= 0) return [];
  const trimmed = trimmedOf(record);
  if (range.gapless && trimmed > (range.after ?? 0)) {
    throw new HistoryTrimmedError(room, range.after ?? 0, trimmed);
  }
  // Seqs strictly between low and high.
  const low = Math.max(range.after ?? 0, trimmed);
  const high = Math.min(range.before ?? Infinity, record.head + 1);
  if (high - low <= 1) return [];
  const logged = record.logged ?? [];
  const held = logged.length === 0 ? undefined : await readHeld(kv, room, logged);
  const keyed = await listKeyed(kv, room, low, high, range);
  if (held === undefined) return keyed;
  // Retention may have deleted some of them meanwhile: the log values still have them.
  const floor = Math.max(low, held.trimmed);
  const inRange = held.messages.filter(({ seq }) => seq > floor && seq < high);
  return merge(keyed, inRange, range);
}

/**
 * The seq up to which a room's messages are gone. Records written before `trimmed` existed have
 * none (or `null`, a NaN stored by a version that computed it from them): nothing is gone.
 */
function trimmedOf(record: StoredRoom): number {
  return Number.isFinite(record.trimmed) ? record.trimmed : 0;
}

/** A room record as read from the store, with `trimmed` a number even in an old record. */
export function withTrimmed(record: StoredRoom): StoredRoom {
  return Number.isFinite(record.trimmed) ? record : { ...record, trimmed: trimmedOf(record) };
}

/** The messages under `room`'s keys with seqs strictly between `low` and `high` (none: no end). */
async function listKeyed(
  kv: Deno.Kv,
  room: string,
  low: number,
  high: number | undefined,
  range: MessageRange,
): Promise<Message[]> {
  const messages: Message[] = [];
  const start = messageKey(room, low + 1);
  const entries = kv.list<Message>(
    high === undefined
      ? { prefix: messagesPrefix(room), start }
      : { start, end: messageKey(room, high) },
    {
      limit: range.limit,
      batchSize: Math.min(range.limit, MAX_LIST_BATCH),
      reverse: range.newest ?? false,
    },
  );
  for await (const { value } of entries) messages.push(value);
  return range.newest ? messages.reverse() : messages;
}

/**
 * The messages of `room` in those of the log values `logged` that still exist, and the highest
 * seq retention had deleted by the room's record as read beside them.
 */
async function readHeld(
  kv: Deno.Kv,
  room: string,
  logged: number[],
): Promise<{ messages: Message[]; trimmed: number }> {
  const messages: Message[] = [];
  let trimmed = 0;
  // Each read takes the record beside the log values, so every `trimmed` is as fresh as they are.
  for (let i = 0; i < logged.length; i += KEYS_PER_READ - 1) {
    const keys = logged.slice(i, i + KEYS_PER_READ - 1).map(logKey);
    const [current, ...values] = await kv.getMany<[StoredRoom, ...Message[][]]>([
      roomKey(room),
      ...keys,
    ]);
    trimmed = Math.max(trimmed, current.value ? trimmedOf(current.value) : 0);
    for (const { value } of values) {
      for (const message of value ?? []) if (message.room === room) messages.push(message);
    }
  }
  return { messages, trimmed };
}

/** The keyed and held messages as one list by seq, cut to the range's limit at its end. */
function merge(keyed: Message[], held: Message[], range: MessageRange): Message[] {
  const bySeq = new Map<number, Message>();
  for (const message of keyed) bySeq.set(message.seq, message);
  for (const message of held) bySeq.set(message.seq, message);
  const all = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  return range.newest ? all.slice(-range.limit) : all.slice(0, range.limit);
}
