import { roomNotFound } from "./errors.ts";
import type { MessageLog } from "./message_log.ts";
import type { Room } from "./types.ts";
import { ROOM_ID_PATTERN } from "./validation.ts";

/** Resolves a room named in a URL, or throws 404 `room_not_found`. */
export async function requireRoom(log: MessageLog, id: string): Promise<Room> {
  const room = ROOM_ID_PATTERN.test(id) ? await log.getRoom(id) : null;
  if (room === null) {
    throw roomNotFound(id);
  }
  return room;
}

/**
 * Checks that a room named in a URL exists and returns its id, or throws 404 `room_not_found`.
 * Cheaper than {@link requireRoom} for writes: rooms are never deleted, so a room seen once is
 * not read again.
 */
export async function requireRoomId(log: MessageLog, id: string): Promise<string> {
  if (!ROOM_ID_PATTERN.test(id) || !await log.roomExists(id)) {
    throw roomNotFound(id);
  }
  return id;
}
