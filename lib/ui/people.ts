/**
 * Words and avatars for people in a room: who is online, who is typing, and a stable colour
 * and initial for each display name.
 *
 * @module
 */
import type { OnlinePerson } from "../client.ts";
import { lookAlikeForms } from "./look_alike.ts";
import { type Author, authorTag } from "./messages.ts";

/** How many avatar colours the stylesheet defines (`.hue-0` to `.hue-7`). */
export const AVATAR_HUES = 8;

/** The names trimmed, without blanks, in their order; a name two sessions use stays twice. */
export function cleanNames(names: readonly string[]): string[] {
  return names.map((name) => name.trim()).filter((name) => name !== "");
}

/** The sessions online with their names trimmed, without blank names, in their order. */
export function cleanPeople(people: readonly OnlinePerson[]): OnlinePerson[] {
  return people.map((person) => ({ ...person, name: person.name.trim() }))
    .filter(({ name }) => name !== "");
}

/** Whether two lists of sessions online name the same people, with the same ids, in one order. */
export function samePeople(
  one: readonly OnlinePerson[] | null,
  other: readonly OnlinePerson[],
): boolean {
  return one !== null && one.length === other.length &&
    one.every((person, i) =>
      person.name === other[i].name && person.authorId === other[i].authorId
    );
}

/** A display name online, and how many sessions use it. */
export interface OnlineName {
  name: string;
  count: number;
}

/** Who is online, each name once in its first order, with how many sessions use it. */
export function onlineNames(online: readonly string[]): OnlineName[] {
  const counts = new Map<string, number>();
  for (const name of cleanNames(online)) counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...counts].map(([name, count]) => ({ name, count }));
}

/**
 * The names online that several sessions have, or that look like another name online
 * ({@link lookAlikeForms}): the page tells their messages apart at once.
 */
export function sharedOnlineNames(online: readonly OnlineName[]): string[] {
  const sessions = new Map<string, number>();
  for (const { name, count } of online) {
    for (const form of lookAlikeForms(name)) sessions.set(form, (sessions.get(form) ?? 0) + count);
  }
  return online.filter(({ name }) => lookAlikeForms(name).some((form) => sessions.get(form)! > 1))
    .map(({ name }) => name);
}

/** How the presence line and list show a name online: "sam", or "sam (2)" for two sessions. */
export function onlineLabel({ name, count }: OnlineName): string {
  return count === 1 ? name : `${name} (${count})`;
}

/**
 * An entry of the presence line and list: a name with how many sessions use it, or one session of
 * a name that is shared, with the tag that tells it apart (as its messages show it; "" for none)
 * and whether that session is the visitor's.
 */
export interface OnlineEntry extends OnlineName {
  tag: string;
  you?: boolean;
}

/**
 * Who is online as the presence line and list show them (or who is typing, as the typing line
 * does): each session of a name in `shared` (see `sharedNames`) on its own with its tag, so a
 * reader sees which "sam" is here; every other name once, with how many sessions use it (as do
 * shared names' sessions whose author id is not known, from a server that does not say). Names
 * keep their first order. A tagged session whose author id is `self` (the visitor's) says so.
 */
export function onlineEntries(
  online: readonly OnlinePerson[],
  shared: ReadonlySet<string>,
  self?: string,
): OnlineEntry[] {
  const entries: OnlineEntry[] = [];
  const counted = new Map<string, OnlineEntry>();
  for (const { name, authorId } of cleanPeople(online)) {
    const tag = authorTag({ author: name, authorId }, shared);
    const same = tag === "" ? counted.get(name) : undefined;
    if (same) same.count++;
    else {
      const entry: OnlineEntry = { name, count: 1, tag };
      if (tag !== "" && authorId === self) entry.you = true;
      entries.push(entry);
      if (tag === "") counted.set(name, entry);
    }
  }
  return entries;
}

/** An entry as the presence line and list show it: "sam (2)", or "sam" with its tag (and "(you)"). */
export function entryPart({ name, count, tag, you }: OnlineEntry): Exclude<LinePart, string> {
  return tag ? { name, tag, ...you && { you } } : { name: onlineLabel({ name, count }) };
}

/**
 * An entry of the presence line as text: "sam (2)", or "sam 1a2b3c4" with its tag ("sam 1a2b3c4
 * (you)" for the visitor's).
 */
export function entryText(entry: OnlineEntry): string {
  return lineText([entryPart(entry)]);
}

/**
 * The visitor, as the typing line leaves them out: their session's author id once known, and their
 * name while they type ("" otherwise) for typists a server lists without author ids.
 */
export interface TypingSelf {
  authorId?: string;
  name: string;
}

/**
 * The typists without the visitor's session: the one with the visitor's author id, or else one
 * without an author id under the name they type as. Someone else of their name stays.
 */
export function withoutSelf(typists: readonly OnlinePerson[], self: TypingSelf): OnlinePerson[] {
  const rest = cleanPeople(typists);
  const mine = (person: OnlinePerson) => person.authorId === self.authorId;
  const named = (person: OnlinePerson) => !person.authorId && person.name === self.name;
  let index = self.authorId ? rest.findIndex(mine) : -1;
  if (index === -1) index = rest.findIndex(named);
  if (index !== -1) rest.splice(index, 1);
  return rest;
}

/**
 * The typists still typing once `messages` came, since a message ends its sender's spell: one
 * with an author id is ended by a message with that id; one without (from a server that does not
 * say) by a message under its name, when only one session online has that name.
 */
export function stillTyping(
  typists: readonly OnlinePerson[],
  messages: readonly Author[],
  online: readonly OnlinePerson[],
): OnlinePerson[] {
  const senders = new Set(messages.map(({ authorId }) => authorId).filter(Boolean));
  const rest = typists.filter(({ authorId }) => !authorId || !senders.has(authorId));
  const alone = (name: string) => online.filter((person) => person.name === name).length <= 1;
  for (const name of new Set(messages.map(({ author }) => author))) {
    const index = alone(name) ? rest.findIndex((p) => !p.authorId && p.name === name) : -1;
    if (index !== -1) rest.splice(index, 1);
  }
  return rest;
}

/**
 * A piece of a line about people: words, or a name, which the page shows isolated (`<bdi>`) so a
 * right-to-left name keeps its place among the commas, and after it the name's tag, if it has one.
 */
export type LinePart = string | { name: string; tag?: string; you?: boolean };

/** A line's parts as plain text. */
export function lineText(parts: readonly LinePart[]): string {
  return parts.map((part) =>
    typeof part === "string"
      ? part
      : [part.name, part.tag, part.you && "(you)"].filter(Boolean).join(" ")
  ).join("");
}

/** Names as parts, a comma between each two and `last` (", " or " and ") before the last. */
function listNames(names: readonly Exclude<LinePart, string>[], last: string): LinePart[] {
  return names.flatMap((name, i): LinePart[] => {
    const before = i === 0 ? [] : i === names.length - 1 ? [last] : [", "];
    return [...before, name];
  });
}

/** How many sessions entries stand for: a name with its count, a tagged session as one. */
function sessionCount(entries: readonly OnlineEntry[]): number {
  return entries.reduce((sum, { count }) => sum + count, 0);
}

/**
 * The typing indicator: "ann is typing…", "ann and bob are typing…", "ann, bob and carol are
 * typing…", "ann, bob and 3 others are typing…", or nothing when nobody else is. `typists` has one
 * entry per session; as in the presence line, each session of a name in `shared` shows on its own
 * with its tag, so a reader sees which "sam" types, and other names two people share read
 * "sam (2)". The visitor's own session is left out (see {@link withoutSelf}).
 */
export function typingLine(
  typists: readonly OnlinePerson[],
  shared: ReadonlySet<string>,
  self: TypingSelf = { name: "" },
): LinePart[] {
  const entries = onlineEntries(withoutSelf(typists, self), shared);
  if (entries.length === 0) return [];
  const parts = entries.map(entryPart);
  const sessions = sessionCount(entries);
  if (sessions === 1) return [parts[0], " is typing…"];
  if (parts.length <= 3) return [...listNames(parts, " and "), " are typing…"];
  const rest = sessions - entries[0].count - entries[1].count;
  return [parts[0], ", ", parts[1], ` and ${rest} others are typing…`];
}

/** How many names the presence line lists before it shows a count instead. */
export const PRESENCE_LIST_MAX = 3;
/** How many characters of names the presence line lists before it shows a count instead. */
export const PRESENCE_NAMES_MAX = 40;

/**
 * Whether the presence line lists these labels (see {@link entryText}) itself; otherwise it
 * shows a count, and the page shows the full list on demand. One label is always listed.
 */
export function listsNames(names: readonly string[]): boolean {
  if (names.length <= 1) return true;
  const characters = [...names.join(", ")].length;
  return names.length <= PRESENCE_LIST_MAX && characters <= PRESENCE_NAMES_MAX;
}

/**
 * The presence line: "Online: ann, bob" for a few people with short names (a shared name's
 * sessions each with its tag, see {@link onlineEntries}), "5 online" for more (see
 * {@link listsNames}), or nothing for nobody.
 */
export function presenceLine(entries: readonly OnlineEntry[]): LinePart[] {
  if (entries.length === 0) return [];
  if (!listsNames(entries.map(entryText))) {
    return [`${sessionCount(entries)} online`];
  }
  return ["Online: ", ...listNames(entries.map(entryPart), ", ")];
}

/** A stable avatar colour index in `[0, AVATAR_HUES)` for a display name. */
export function avatarHue(name: string): number {
  let hash = 2166136261;
  for (const character of name) {
    hash ^= character.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 16777619);
  }
  return (hash >>> 0) % AVATAR_HUES;
}

/** Made on first use: a browser without `Intl.Segmenter` (Firefox before 125) still hydrates. */
let graphemes: Intl.Segmenter | null | undefined;

/** The first character of `text` as seen, or its first code point where graphemes are unknown. */
function firstCharacter(text: string): string | undefined {
  graphemes ??= typeof Intl.Segmenter === "function"
    ? new Intl.Segmenter(undefined, { granularity: "grapheme" })
    : null;
  if (graphemes === null) return [...text][0];
  const [first] = graphemes.segment(text);
  return first?.segment;
}

/**
 * The first letter (or symbol) of a display name, upper-cased, for its avatar: the first character
 * as seen, so a flag or an accented letter written with a combining mark stays whole.
 */
export function initial(name: string): string {
  return firstCharacter(name.trim())?.toLocaleUpperCase() ?? "?";
}
