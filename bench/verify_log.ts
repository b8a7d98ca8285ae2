/** What reading back the rooms' histories found. */
export interface DensityCheck {
  rooms: number;
  /** The rooms' heads added up: every seq ever given out. */
  heads: number;
  /** Messages read back (retention may have trimmed the oldest). */
  read: number;
  /** Rooms whose retained seqs were not exactly trimmed+1, …, head. */
  broken: string[];
}

const PAGE = 500;

interface RoomInfo {
  id: string;
  head: number;
  /** Seqs up to this were deleted by history retention (0 or absent: none). */
  trimmed?: number;
}

async function checkRoom(
  origin: string,
  room: RoomInfo,
): Promise<{ read: number; dense: boolean }> {
  let cursor = room.trimmed ?? 0;
  let read = 0;
  for (;;) {
    const url = `${origin}/api/rooms/${room.id}/messages?after=${cursor}&limit=${PAGE}`;
    const response = await fetch(url);
    if (!response.ok) {
      await response.body?.cancel();
      return { read, dense: false };
    }
    const page = await response.json() as { resync?: boolean; messages: { seq: number }[] };
    if (page.resync) return { read, dense: false };
    if (page.messages.length === 0) break;
    for (const message of page.messages) {
      if (message.seq !== cursor + 1) return { read, dense: false };
      cursor = message.seq;
      read++;
    }
  }
  return { read, dense: cursor === room.head };
}

/**
 * Reads every room's retained history back with `GET …/messages?after=&limit=500` and checks
 * that its seqs are dense: trimmed+1, …, head, with no gap and no repeat.
 */
export async function checkDensity(origin: string, roomIds: string[]): Promise<DensityCheck> {
  const queue = [...roomIds];
  const result: DensityCheck = { rooms: roomIds.length, heads: 0, read: 0, broken: [] };
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      // Each room as stored now (the list of every room may be a second old, and is paged).
      const response = await fetch(`${origin}/api/rooms/${id}`);
      if (!response.ok) {
        await response.body?.cancel();
        result.broken.push(id);
        continue;
      }
      const room = (await response.json() as { room: RoomInfo }).room;
      const { read, dense } = await checkRoom(origin, room);
      result.heads += room.head;
      result.read += read;
      if (!dense) result.broken.push(room.id);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return result;
}
