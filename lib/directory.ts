/**
 * The room directory's contents, for the page (`routes/index.tsx`) and for its refreshes
 * (`routes/api/directory.ts`): every room with its message count, last activity and, when
 * presence can be read, how many people are online.
 *
 * @module
 */
import type { Services } from "./services.ts";
import { type RoomSummary, summarizeRoom } from "./ui/rooms.ts";

/** People online per room; undefined (no counts shown) if presence cannot be read. */
async function onlineCounts(services: Services): Promise<Map<string, number> | undefined> {
  try {
    return await services.presence.onlineCounts();
  } catch (error) {
    // The directory still lists the rooms, without counts.
    console.error("Counting people online failed:", error);
    return undefined;
  }
}

/** Every room as the directory lists it, the most recently active first. */
export async function loadDirectory(services: Services): Promise<RoomSummary[]> {
  const [rooms, online] = await Promise.all([services.log.listRooms(), onlineCounts(services)]);
  return rooms.map((room) => summarizeRoom(room, online));
}
