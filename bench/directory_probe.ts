/**
 * A probe of what the room directory costs a worker as rooms pile up: the time to read every
 * room record and presence entry (what `GET /` and `GET /api/directory` did on every request
 * before the directory answered from a read up to a second old), and the time of an answer
 * from that read. Rooms are made in a temporary KV file.
 *
 * Usage: `deno run --allow-all bench/directory_probe.ts [rooms, default 20000]`
 *
 * @module
 */
import { Directory } from "../lib/directory.ts";
import { MessageLog } from "../lib/message_log.ts";
import { Presence } from "../lib/presence.ts";
import { authorIdOf } from "../tests/author_ids.ts";

const ROOMS = Number(Deno.args[0] ?? 20_000);
const TIMES = 5;
const dir = await Deno.makeTempDir({ prefix: "parley-directory-" });
const kv = await Deno.openKv(`${dir}/parley.kv`);
const log = new MessageLog(kv);
const presence = new Presence(kv, { authorIdOf });
let now = 0;
const directory = new Directory(log, presence, () => now);

/** The median of `TIMES` runs of `fn`, in ms. */
async function median(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < TIMES; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(TIMES / 2)];
}

try {
  for (let i = 0; i < ROOMS; i += 500) {
    const ids = Array.from({ length: Math.min(500, ROOMS - i) }, (_, j) => `room-${i + j}`);
    await Promise.all(ids.map((id) => log.createRoom(id, `Room ${id} with a longer title`)));
  }
  // Each read a second after the last: the directory reads every room again.
  const read = await median(() => {
    now += 1_000;
    return directory.list("", 50);
  });
  const cached = await median(() => directory.list("", 50));
  const search = await median(() => directory.list("room 1999", 50));
  const page = JSON.stringify(await directory.list("", 50)).length;
  console.log(
    `${ROOMS} rooms: a read of every room ${read.toFixed(1)} ms, an answer from it ` +
      `${cached.toFixed(1)} ms, a search in it ${search.toFixed(1)} ms (medians of ${TIMES}); ` +
      `the first page's JSON ${(page / 1024).toFixed(1)} KiB`,
  );
} finally {
  presence.close();
  kv.close();
  await Deno.remove(dir, { recursive: true });
}
