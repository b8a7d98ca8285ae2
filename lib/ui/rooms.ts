/**
 * The room directory's data: what each entry shows, and the search filter shared by the
 * server (`?q=`) and the island (as you type), so both show the same rooms.
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

/** Normalises a search query: trimmed, at most {@link MAX_QUERY_LENGTH} characters. */
export function normalizeQuery(query: string | null | undefined): string {
  return [...(query ?? "").trim()].slice(0, MAX_QUERY_LENGTH).join("");
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

/** "1 message", "12 messages". */
export function messageCount(count: number): string {
  return count === 1 ? "1 message" : `${count} messages`;
}
