/**
 * The room directory's data: what each entry shows, the search filter shared by the server
 * (`?q=`) and the island (while its search is on the way), and the line that says how many
 * rooms match and are shown.
 *
 * @module
 */
import type { Room } from "../types.ts";

/** One directory entry, as the server renders it and the island hydrates it. */
export interface RoomSummary {
  id: string;
  title: string;
  /** Messages in the room's history: `head - trimmed`. */
  messages: number;
  /** The newest message's server time, or null for an empty room. */
  lastAt: number | null;
  /** People online in the room, when the server knows. */
  online?: number;
}

/** How many rooms the directory shows at first, and adds each time more are asked for. */
export const DIRECTORY_PAGE = 50;
/** The most rooms the directory shows; a search finds the others. */
export const MAX_DIRECTORY_ROOMS = 1000;

/** What the directory shows for a search: the first rooms that match, and how many there are. */
export interface DirectoryListing {
  /** The first rooms that match, the most recently active first. */
  rooms: RoomSummary[];
  /** How many rooms match the search (every room for an empty one). */
  matches: number;
  /** How many rooms there are. */
  total: number;
}

/** The longest search query the directory takes; longer input is cut. */
export const MAX_QUERY_LENGTH = 80;

/** Summarises a room for the directory, with its online count when known. */
export function summarizeRoom(room: Room, online?: ReadonlyMap<string, number>): RoomSummary {
  const summary: RoomSummary = {
    id: room.id,
    title: room.title,
    messages: Math.max(0, room.head - room.trimmed),
    lastAt: room.lastAt,
  };
  const count = online?.get(room.id);
  if (count !== undefined) summary.online = count;
  return summary;
}

/**
 * Normalises a search query: at most {@link MAX_QUERY_LENGTH} characters, trimmed (after the
 * cut too, so normalising again changes nothing).
 */
export function normalizeQuery(query: string | null | undefined): string {
  return [...(query ?? "").trim()].slice(0, MAX_QUERY_LENGTH).join("").trimEnd();
}

function fold(text: string): string {
  return text.normalize("NFKD").replace(/\p{M}/gu, "").toLocaleLowerCase();
}

/**
 * The rooms whose title or id (also as "#id") contains every word of `query`, ignoring case and
 * accents, in their original order. An empty query matches every room.
 */
export function filterRooms<T extends { id: string; title: string }>(
  rooms: readonly T[],
  query: string,
): T[] {
  const words = fold(query).split(/\s+/).filter((word) => word !== "");
  if (words.length === 0) return [...rooms];
  return rooms.filter((room) => {
    // The id as the page shows it, "#lobby", so a search for that finds it too.
    const haystack = `${fold(room.title)} #${room.id}`;
    return words.every((word) => haystack.includes(word));
  });
}

function counted(count: number): string {
  return count.toLocaleString("en-US");
}

/**
 * The directory's summary line: how many rooms match a search, and which of them are shown when
 * not all are; "" when every room is shown and there is no search.
 */
export function directorySummary(listing: DirectoryListing, query: string): string {
  const shown = listing.rooms.length;
  const more = shown < listing.matches;
  const rest = shown < MAX_DIRECTORY_ROOMS ? "" : " Search to find the others.";
  const showing = `the ${counted(shown)} most recently active`;
  if (query === "") {
    if (!more) return "";
    return `Showing ${showing} of ${counted(listing.total)} rooms.${rest}`;
  }
  if (listing.matches === 0) return `No rooms match “${query}”.`;
  const rooms = listing.total === 1 ? "room" : "rooms";
  const verb = listing.matches === 1 ? "matches" : "match";
  const matches = `${counted(listing.matches)} of ${
    counted(listing.total)
  } ${rooms} ${verb} “${query}”`;
  return more ? `${matches}; showing ${showing}.${rest}` : `${matches}.`;
}

/** "1 message", "12 messages". */
export function messageCount(count: number): string {
  return count === 1 ? "1 message" : `${count} messages`;
}

/**
 * A fresh listing applied to the rooms shown without moving them, for a list in use: each room
 * shown gets its fresh counts and times, in the order shown; rooms not shown yet wait for the
 * next refresh the list is free for.
 */
export function refreshedInPlace(
  shown: DirectoryListing,
  fresh: DirectoryListing,
): DirectoryListing {
  const byId = new Map(fresh.rooms.map((room) => [room.id, room]));
  return { ...fresh, rooms: shown.rooms.map((room) => byId.get(room.id) ?? room) };
}
