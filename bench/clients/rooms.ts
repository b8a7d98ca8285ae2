const ATTEMPTS = 5;

async function createRoom(origin: string, id: string): Promise<void> {
  let last = "";
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const response = await fetch(`${origin}/api/rooms`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id, title: `Bench ${id}` }),
    });
    const body = await response.text();
    if (response.ok) return;
    last = `HTTP ${response.status} ${body}`;
    // A 5xx (e.g. SQLite "database is locked" between workers) may pass; anything else won't.
    if (response.status < 500) break;
    await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
  }
  throw new Error(`Cannot create room ${id}: ${last}`);
}

/**
 * Creates rooms with `POST /api/rooms` (idempotent on Parley), a few requests at a time,
 * retrying a server error a few times.
 */
export async function createRooms(origin: string, ids: string[]): Promise<void> {
  const queue = [...ids];
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) await createRoom(origin, id);
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

/** Room ids `prefix-0` … `prefix-(count-1)`. */
export function roomIds(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}
