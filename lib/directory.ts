/**
 * The room directory's contents, for the page (`routes/index.tsx`), for its refreshes
 * (`routes/api/directory.ts`) and for `GET /api/rooms` (`routes/api/rooms.ts`): the rooms that
 * match a search, the most recently active first, each with its message count, last activity and,
 * when presence can be read, how many people are online; at most a page's worth of them, and how
 * many there are in all.
 *
 * Reading every room and every presence entry takes a tenth of a second at 20,000 rooms, every
 * open directory asks again every 15 seconds, and anyone may ask for the list: a worker reads them
 * at most once a second, and at once after it created a room.
 *
 * @module
 */
import type { MessageLog } from "./message_log.ts";
import type { Presence } from "./presence.ts";
import type { Room } from "./types.ts";
import {
  DIRECTORY_PAGE,
  type DirectoryListing,
  filterRooms,
  MAX_DIRECTORY_ROOMS,
  summarizeRoom,
} from "./ui/rooms.ts";
import { parseCount } from "./validation.ts";

/**
 * How many rooms a directory page's `?show=` asks for: 1 to {@link MAX_DIRECTORY_ROOMS}, and
 * {@link DIRECTORY_PAGE} when absent or not a count (a page shows rather than refuses).
 */
export function parseShown(value: string | undefined): number {
  let shown: number | undefined;
  try {
    shown = parseCount(value, "show", "invalid_show");
  } catch {
    return DIRECTORY_PAGE;
  }
  if (shown === undefined || shown < 1) return DIRECTORY_PAGE;
  return Math.min(shown, MAX_DIRECTORY_ROOMS);
}

/** How long a worker answers from the rooms and counts it last read. */
export const READ_AGAIN_MS = 1_000;

interface Snapshot {
  rooms: Room[];
  online: Map<string, number> | undefined;
}

/** People online per room; undefined (no counts shown) if presence cannot be read. */
async function onlineCounts(presence: Presence): Promise<Map<string, number> | undefined> {
  try {
    return await presence.onlineCounts();
  } catch (error) {
    // The directory still lists the rooms, without counts.
    console.error("Counting people online failed:", error);
    return undefined;
  }
}

/** This worker's view of the directory; see the module documentation. */
export class Directory {
  #log: MessageLog;
  #presence: Presence;
  #now: () => number;
  #snapshot: Promise<Snapshot> | undefined;
  #readAt = -Infinity;

  /** @param now the clock, in ms (tests pass their own) */
  constructor(log: MessageLog, presence: Presence, now = () => performance.now()) {
    this.#log = log;
    this.#presence = presence;
    this.#now = now;
  }

  /** The first `limit` rooms matching `query` (normalised; "" for every room), and the counts. */
  async list(query: string, limit: number): Promise<DirectoryListing> {
    const { rooms, online } = await this.#read();
    const matching = filterRooms(rooms, query);
    return {
      rooms: matching.slice(0, limit).map((room) => summarizeRoom(room, online)),
      matches: matching.length,
      total: rooms.length,
    };
  }

  /** `limit` rooms after the first `offset`, the most recently active first, and how many there are. */
  async rooms(limit: number, offset = 0): Promise<{ rooms: Room[]; total: number }> {
    const { rooms } = await this.#read();
    return { rooms: rooms.slice(offset, offset + limit), total: rooms.length };
  }

  /** Forgets what was read, so the next page shows a room this worker just created. */
  roomCreated(): void {
    this.#snapshot = undefined;
  }

  #read(): Promise<Snapshot> {
    const now = this.#now();
    if (this.#snapshot !== undefined && now - this.#readAt < READ_AGAIN_MS) return this.#snapshot;
    const snapshot = Promise.all([this.#log.listRooms(), onlineCounts(this.#presence)])
      .then(([rooms, online]) => ({ rooms, online }));
    this.#snapshot = snapshot;
    this.#readAt = now;
    // A failed read is not kept: the next request reads again.
    snapshot.catch(() => {
      if (this.#snapshot === snapshot) this.#snapshot = undefined;
    });
    return snapshot;
  }
}
