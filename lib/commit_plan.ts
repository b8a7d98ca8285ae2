/**
 * What one group commit writes. Each room's new messages get the next seqs after its head; a room
 * that gets only a few of them has them written into the commit's one log value (`["log", n]`,
 * see `lib/keys.ts`), so a commit across many rooms dirties a few pages of the store instead of
 * one per room. The room's record lists the log values that hold its messages; once it holds
 * {@link FLUSH_AT} or more, or its oldest is {@link FLUSH_AGE} commits old, a commit copies them
 * to the room's own keys, and deletes each log value no room holds anything in any more. History
 * retention deletes what falls out of each room's window in the same commit. Everything stays
 * within KV's limits for one atomic operation.
 *
 * @module
 */
import { logKey, messageKey, roomKey } from "./keys.ts";
import type { LogLedger } from "./log_ledger.ts";
import type { Message, NewMessage, StoredRoom } from "./types.ts";

/** The outcome of one append: the stored message, and whether this call stored it. */
export interface AppendResult {
  message: Message;
  /** False when a message with the same client id was already stored. */
  created: boolean;
}

/** A room's appends in one commit, in the order they arrived. */
export interface RoomAppends {
  room: StoredRoom;
  inputs: NewMessage[];
}

/** Everything a commit's contents depend on. */
export interface CommitContext {
  /** The commit's number: the log clock's count once it lands. */
  n: number;
  /** Messages already stored under client ids, by {@link storedKey}. */
  stored: ReadonlyMap<string, Message>;
  /** Which rooms hold which messages in the live log values, before this commit. */
  ledger: LogLedger;
  /** Whether rooms with few new messages may write them into the commit's log value. */
  sharedLog: boolean;
  /** How many messages each room keeps. */
  historyLimit: number;
  /** The server time the new messages get, in ms since the epoch. */
  at: number;
}

/** What {@link planCommit} put into the operation, for the committer to apply once it lands. */
export interface CommitPlan {
  /** Each room's results, one per input, in the order of the batch. */
  results: AppendResult[][];
  /** The new messages of each room that got some, in seq order. */
  committed: Array<[string, Message[]]>;
  /** The room records as written. */
  updated: StoredRoom[];
  /** The messages each room wrote into the log value. */
  logged: Map<string, Message[]>;
  /** Rooms that moved their held messages to their own keys. */
  flushed: Set<string>;
  /** How many messages are new. */
  appended: number;
}

// KV allows 1000 mutations, 10 checks and 800 KiB per atomic operation. A commit costs one
// mutation for the clock, one for its log value, one per room for its record and one per
// message; what is left goes to retention deletes, about one per message once a room is full,
// then to moving held messages into their rooms' keys and deleting log values.
const MAX_MUTATIONS = 1000;
/** The most bytes of messages one commit carries, by the estimates below. */
export const MAX_BYTES = 600 * 1024;
const MAX_TRIM_CATCH_UP = 20;
/** A room holding this many messages in log values has them moved to its own keys. */
export const FLUSH_AT = 8;
/** A room whose oldest held message is this many commits old has them moved regardless. */
export const FLUSH_AGE = 64;
/**
 * Past this many live log values every message goes under its room's keys until rooms have
 * moved enough of theirs: a bound on what the log holds, and on what a writer reads at start.
 */
export const MAX_LIVE_LOGS = 256;
// A log value is one KV value (64 KiB at most); estimated bytes are at least the stored ones.
const MAX_LOG_BYTES = 56 * 1024;

/** The key a client id is known by across rooms. */
export function storedKey(room: string, id: string): string {
  return `${room}\n${id}`;
}

/** A message id for an append that came without one; never equal to a client id. */
export function serverMadeId(): string {
  // Client ids cannot contain ".", so a server-made id never collides with one.
  return `srv.${crypto.randomUUID()}`;
}

/** An upper bound on a queued append's size once stored. */
export function estimatedBytes(input: NewMessage): number {
  // Strings may be stored as UTF-16; keys and framing add a little more.
  const strings = input.text.length + input.author.length + (input.id?.length ?? 0) +
    (input.authorId?.length ?? 0);
  return 2 * strings + 256;
}

/** An upper bound on a stored message's size, in a log value or under its own key. */
function storedBytes(message: Message): number {
  const strings = message.text.length + message.author.length + message.id.length +
    message.room.length + (message.authorId?.length ?? 0);
  return 2 * strings + 96;
}

function sumBytes(messages: Message[]): number {
  return messages.reduce((sum, message) => sum + storedBytes(message), 0);
}

/**
 * Gives each room's new messages their seqs (a client id already stored, or stored earlier in
 * this commit, answers with that message instead), and adds to `op` what the commit writes: the
 * messages, in the log value or under the rooms' keys, the moves of held messages, retention
 * deletes, the records, and deletes of emptied log values. The caller has started `op` with the
 * log clock's check and its one mutation, which the mutation count here includes. Each room
 * comes at most once in `appends`.
 */
export function planCommit(
  op: Deno.AtomicOperation,
  appends: RoomAppends[],
  context: CommitContext,
): CommitPlan {
  const { n, stored, ledger } = context;
  const committed: Array<[string, Message[]]> = [];
  const updated: StoredRoom[] = [];
  const results: AppendResult[][] = [];
  const plans = appends.map(({ room, inputs }) => {
    // Each room comes once per commit, so its ids name messages without the room in the key.
    const ids = new Map<string, Message>();
    const fresh: Message[] = [];
    const at = Math.max(context.at, room.lastAt ?? 0);
    results.push(inputs.map((input): AppendResult => {
      const id = input.id;
      const earlier = id === undefined
        ? undefined
        : ids.get(id) ?? (stored.size > 0 ? stored.get(storedKey(room.id, id)) : undefined);
      if (earlier) return { message: earlier, created: false };
      const message: Message = {
        seq: room.head + fresh.length + 1,
        id: id ?? serverMadeId(),
        room: room.id,
        author: input.author,
        text: input.text,
        at,
      };
      if (input.authorId !== undefined) message.authorId = input.authorId;
      if (id !== undefined) ids.set(id, message);
      fresh.push(message);
      return { message, created: true };
    }));
    if (fresh.length > 0) committed.push([room.id, fresh]);
    return { room, fresh };
  });
  // The clock and the log value, then a record and a key per new message for each room that
  // gets some (a message that goes into the log value gives its key back).
  let mutations = plans.reduce(
    (sum, { fresh }) => sum + (fresh.length > 0 ? 1 + fresh.length : 0),
    2,
  );
  // Rooms that move their held messages let go of log values; those left with no holder go.
  const holders = new Map<number, number>();
  const holdersOf = (log: number) => holders.get(log) ?? ledger.holders(log);
  const emptied: number[] = [];
  const useLog = context.sharedLog && ledger.size < MAX_LIVE_LOGS;
  let bytes = plans.reduce((sum, { fresh }) => sum + sumBytes(fresh), 0);
  let appended = 0;
  const logged = new Map<string, Message[]>();
  const flushed = new Set<string>();
  const staleAt = n - FLUSH_AGE;
  let logBytes = 0;
  for (const { room, fresh } of plans) {
    const holds = ledger.logsOf(room.id);
    const heldCount = ledger.heldCount(room.id);
    const wantsFlush = heldCount > 0 &&
      (heldCount + fresh.length >= FLUSH_AT || holds[0] <= staleAt);
    if (fresh.length === 0 && !wantsFlush) continue;
    const freshBytes = sumBytes(fresh);
    const head = room.head + fresh.length;
    let logs = [...holds];
    if (
      useLog && !wantsFlush && fresh.length < FLUSH_AT && logBytes + freshBytes <= MAX_LOG_BYTES
    ) {
      logged.set(room.id, fresh);
      logBytes += freshBytes;
      logs.push(n);
      mutations -= fresh.length;
    } else {
      for (const message of fresh) op.set(messageKey(room.id, message.seq), message);
    }
    // A room here only to move its held messages is not trimmed: a trim that the move then
    // did not fit beside would be left out of its record.
    const trimmedBefore = room.trimmed;
    const trimmed = fresh.length === 0
      ? trimmedBefore
      : trim(op, room, head, context.historyLimit, MAX_MUTATIONS - mutations);
    mutations += trimmed - trimmedBefore;
    if (wantsFlush) {
      const moving = ledger.held(room.id).filter(({ seq }) => seq > trimmed);
      const movingBytes = sumBytes(moving);
      const emptying = holds.filter((log) => holdersOf(log) === 1);
      // Room for the moved messages, the log values this empties, and this record if it is
      // not counted yet.
      const needed = moving.length + emptying.length + (fresh.length === 0 ? 1 : 0);
      if (mutations + needed <= MAX_MUTATIONS && bytes + movingBytes <= MAX_BYTES) {
        for (const message of moving) op.set(messageKey(room.id, message.seq), message);
        for (const log of holds) holders.set(log, holdersOf(log) - 1);
        emptied.push(...emptying);
        mutations += needed;
        bytes += movingBytes;
        flushed.add(room.id);
        logs = [];
      } else if (fresh.length === 0) {
        continue;
      }
    }
    appended += fresh.length;
    const { logged: _before, ...record } = room;
    const next: StoredRoom = {
      ...record,
      head,
      lastAt: fresh.at(-1)?.at ?? room.lastAt,
      trimmed,
      ...(logs.length > 0 ? { logged: logs } : {}),
    };
    op.set(roomKey(room.id), next);
    updated.push(next);
  }
  if (logged.size > 0) op.set(logKey(n), [...logged.values()].flat());
  for (const log of emptied) op.delete(logKey(log));
  return { results, committed, updated, logged, flushed, appended };
}

/**
 * Deletes the messages that fall out of the retained history in the same commit, so storage
 * stays bounded, at most `budget` of them (what is left falls to a later commit); returns the
 * new highest deleted seq.
 */
function trim(
  op: Deno.AtomicOperation,
  room: StoredRoom,
  head: number,
  historyLimit: number,
  budget: number,
): number {
  const trimmedBefore = room.trimmed;
  const target = Math.max(trimmedBefore, head - historyLimit);
  const allowed = Math.min(head - room.head + MAX_TRIM_CATCH_UP, Math.max(0, budget));
  const trimmed = Math.min(target, trimmedBefore + allowed);
  for (let seq = trimmedBefore + 1; seq <= trimmed; seq++) {
    op.delete(messageKey(room.id, seq));
  }
  return trimmed;
}
