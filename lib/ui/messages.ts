/**
 * Pure helpers for the message list: laying messages out in author groups with day dividers,
 * and merging pages of history and live deliveries without duplicates.
 *
 * @module
 */
import type { Failure } from "../client.ts";
import type { Message } from "../types.ts";
import { lookAlikeForms } from "./look_alike.ts";
import { type Clock, dayKey } from "./time.ts";

/** Consecutive messages from one author within this long share one header. */
export const GROUP_GAP_MS = 5 * 60_000;

/** One row of the message list: a day divider, or a message that may start an author group. */
export type ListRow =
  | { kind: "day"; day: string }
  | { kind: "message"; message: Message; first: boolean };

/** Who wrote a message: a display name, and the public id of the session, when known. */
export type Author = Pick<Message, "author" | "authorId">;

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** Crockford's base 32 in lowercase: no i, l, o or u to be taken for 1, 0 or v. */
const READABLE = "0123456789abcdefghjkmnpqrstvwxyz";
/**
 * How many characters a tag has: 35 bits of the author id, so taking sessions until one matches a
 * given tag would take tens of billions.
 */
export const AUTHOR_TAG_LENGTH = 7;

/** The start of an author id (base64url), written in characters no one mistakes for others. */
function readableTag(authorId: string): string {
  let bits = 0;
  for (const character of authorId.slice(0, 6)) bits = bits * 64 + BASE64URL.indexOf(character);
  let tag = "";
  for (let i = 0; i < AUTHOR_TAG_LENGTH; i++) {
    tag = READABLE[bits % 32] + tag;
    bits = Math.floor(bits / 32);
  }
  return tag;
}

/**
 * The names that more than one session used among `authors`, or that look like a name another
 * session used ({@link lookAlikeForms}), with `alsoShared` (names that several sessions online
 * have or look like): the page shows each of those authors with a tag from their author id, since
 * a name (and one of a few colours) is all anyone needs to pass for someone else. Messages from
 * before author ids say nothing either way.
 */
export function sharedNames(
  authors: Iterable<Author>,
  alsoShared: Iterable<string> = [],
): Set<string> {
  const looks = new Map<string, { authorId: string; names: Set<string>; shared: boolean }>();
  for (const { author, authorId } of authors) {
    if (authorId === undefined) continue;
    for (const look of lookAlikeForms(author)) {
      const seen = looks.get(look);
      if (seen === undefined) {
        looks.set(look, { authorId, names: new Set([author]), shared: false });
      } else {
        seen.names.add(author);
        seen.shared ||= seen.authorId !== authorId;
      }
    }
  }
  const shared = new Set(alsoShared);
  for (const { names } of [...looks.values()].filter((look) => look.shared)) {
    for (const name of names) shared.add(name);
  }
  return shared;
}

/** Whether two sets of names hold the same names. */
export function sameNames(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((name) => b.has(name));
}

/** The tag that tells an author apart from others of their name, or "" when it needs none. */
export function authorTag({ author, authorId }: Author, shared: ReadonlySet<string>): string {
  return shared.has(author) && authorId ? readableTag(authorId) : "";
}

/**
 * Whether `message` continues the group `previous` started: the same author (name and session,
 * so two people of one name stay apart), day and ~5 minutes.
 */
export function continuesGroup(
  previous: Author & Pick<Message, "at"> | undefined,
  message: Author & Pick<Message, "at">,
  clock: Clock,
): boolean {
  return previous !== undefined &&
    previous.author === message.author &&
    previous.authorId === message.authorId &&
    message.at - previous.at >= 0 &&
    message.at - previous.at <= GROUP_GAP_MS &&
    dayKey(previous.at, clock) === dayKey(message.at, clock);
}

/**
 * Lays messages (oldest first) out as rows: a day divider before the first message of each
 * calendar day on `clock`, and each message marked `first` when it starts an author group.
 */
export function layoutMessages(messages: readonly Message[], clock: Clock): ListRow[] {
  const rows: ListRow[] = [];
  let previous: Message | undefined;
  let day = "";
  for (const message of messages) {
    const messageDay = dayKey(message.at, clock);
    if (messageDay !== day) {
      rows.push({ kind: "day", day: messageDay });
      day = messageDay;
    }
    rows.push({ kind: "message", message, first: !continuesGroup(previous, message, clock) });
    previous = message;
  }
  return rows;
}

/** Merges two runs of messages into one, ordered by seq, each seq once (the later copy wins). */
export function mergeMessages(
  current: readonly Message[],
  incoming: readonly Message[],
): Message[] {
  if (incoming.length === 0) return [...current];
  const last = current.at(-1);
  // The common case, a live delivery after everything shown, needs no sort.
  if (last === undefined || incoming[0].seq > last.seq) {
    if (isAscending(incoming)) return current.concat(incoming);
  }
  const bySeq = new Map<number, Message>();
  for (const message of current) bySeq.set(message.seq, message);
  for (const message of incoming) bySeq.set(message.seq, message);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

function isAscending(messages: readonly Message[]): boolean {
  return messages.every((message, i) => i === 0 || messages[i - 1].seq < message.seq);
}

/** Whether anything older than `messages` may exist: seqs start at 1 and are dense. */
export function mayHaveOlder(messages: readonly Message[]): boolean {
  const first = messages[0];
  return first !== undefined && first.seq > 1;
}

/** The longest message excerpt a screen-reader announcement reads out. */
export const ANNOUNCE_MAX_CHARACTERS = 200;

/**
 * What the live region says for newly arrived messages: "ann: hello" for one, "3 new
 * messages. Latest from ann: hello" for several, long texts cut short; "" for none.
 */
export function announcement(fresh: readonly Pick<Message, "author" | "text">[]): string {
  const latest = fresh.at(-1);
  if (latest === undefined) return "";
  const characters = [...latest.text];
  const text = characters.length > ANNOUNCE_MAX_CHARACTERS
    ? `${characters.slice(0, ANNOUNCE_MAX_CHARACTERS).join("")}…`
    : latest.text;
  if (fresh.length === 1) return `${latest.author}: ${text}`;
  return `${fresh.length} new messages. Latest from ${latest.author}: ${text}`;
}

/**
 * What the live region says when the list skipped ahead to the room's latest messages (the room
 * moved on past what it keeps while the page was away): that, and the newest of `fresh`, the
 * arrivals others sent, as {@link announcement} reads one.
 */
export function resyncAnnouncement(fresh: readonly Pick<Message, "author" | "text">[]): string {
  const skipped = "Skipped ahead to the latest messages";
  return fresh.length === 0 ? skipped : `${skipped}. ${announcement(fresh.slice(-1))}`;
}

/**
 * Refusals that sending the same message again cannot help, and editing it can: the text's own,
 * and an id someone else's message took (an edited message goes under a new id).
 */
const EDIT_REFUSALS = new Set(["invalid_text", "empty_text", "text_too_long", "id_taken"]);

/** Reasons said in the sender's words rather than the server's, which speak of ids. */
const PLAIN_REASONS: Readonly<Record<string, string>> = {
  id_taken: "another message took its place",
};

/**
 * What a failed message's failure (from the client's outbox) tells its sender: the reason in
 * words, and whether the text must be edited before it can go.
 */
export function describeFailure(failure: Failure | undefined): { reason: string; edit: boolean } {
  const code = failure?.code ?? "";
  return { reason: PLAIN_REASONS[code] ?? failure?.message ?? "", edit: EDIT_REFUSALS.has(code) };
}
