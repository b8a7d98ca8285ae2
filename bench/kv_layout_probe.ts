/**
 * A probe of what Deno KV (SQLite) costs for the shape of Parley's group commits across many
 * rooms, and what another storage layout would cost. Every commit checks and bumps a clock key
 * and carries 100 messages, each to a different room picked at random from 500, the way the
 * bench's `append` across many rooms arrives. Layouts:
 *
 * - `rows + records` (Parley today): one key per message under its room, and each room's record
 *   rewritten with its new head;
 * - `rows`: the same without the room records, to show their share;
 * - `log + records`: the commit's messages as one value under a sequential key, and the records.
 *
 * For each, the probe reports messages/s and the bytes the process wrote per message (SQLite's
 * WAL and checkpoints, `write_bytes` in `/proc/<pid>/io`). Each layout runs on a fresh file,
 * seeded with the same history, for a bounded time.
 *
 * Usage: `deno run --allow-all bench/kv_layout_probe.ts [seconds per layout, default 5]`
 *
 * @module
 */

import { treeStorageBytesWritten } from "./proc.ts";

const ROOMS = 500;
const PER_COMMIT = 100;
// Each room starts with this many messages, so its newest ones are not all on one page.
const SEEDED = 20;
const CLOCK: Deno.KvKey = ["log_clock"];
const TEXT = "bench m t=1795620000000.000 ".repeat(3);

interface ProbeRoom {
  id: string;
  title: string;
  head: number;
  lastAt: number | null;
}

/** How one layout writes a commit's messages (and room records) into an atomic operation. */
type Layout = (op: Deno.AtomicOperation, commit: number, rooms: ProbeRoom[]) => void;

function messageOf(room: ProbeRoom, seq: number) {
  return { seq, id: `${room.id}-${seq}`, room: room.id, author: "s0", text: TEXT, at: Date.now() };
}

const LAYOUTS: Record<string, Layout> = {
  "rows + records": (op, _commit, rooms) => {
    for (const room of rooms) {
      op.set(["messages", room.id, room.head], messageOf(room, room.head)).set(
        ["rooms", room.id],
        room,
      );
    }
  },
  "rows": (op, _commit, rooms) => {
    for (const room of rooms) op.set(["messages", room.id, room.head], messageOf(room, room.head));
  },
  "log + records": (op, commit, rooms) => {
    op.set(["log", commit], rooms.map((room) => messageOf(room, room.head)));
    for (const room of rooms) op.set(["rooms", room.id], room);
  },
};

/** `count` distinct rooms of `rooms`, picked at random. */
function pick(rooms: ProbeRoom[], count: number): ProbeRoom[] {
  const picked = new Set<ProbeRoom>();
  while (picked.size < count) picked.add(rooms[Math.floor(Math.random() * rooms.length)]);
  return [...picked];
}

/** Seeds a store with rooms and history, then commits with `layout` for `ms`. */
async function measure(path: string, layout: Layout, ms: number): Promise<string> {
  const kv = await Deno.openKv(path);
  try {
    const rooms: ProbeRoom[] = Array.from({ length: ROOMS }, (_, i) => ({
      id: `room-${String(i).padStart(3, "0")}`,
      title: `Room ${i}`,
      head: SEEDED,
      lastAt: null,
    }));
    for (const room of rooms) {
      const op = kv.atomic().set(["rooms", room.id], room);
      for (let seq = 1; seq <= SEEDED; seq++) {
        op.set(["messages", room.id, seq], messageOf(room, seq));
      }
      await op.commit();
    }
    let clock = (await kv.get(CLOCK)).versionstamp;
    const written = treeStorageBytesWritten(Deno.pid);
    const start = performance.now();
    let commits = 0;
    while (performance.now() - start < ms) {
      const batch = pick(rooms, PER_COMMIT);
      for (const room of batch) {
        room.head++;
        room.lastAt = Date.now();
      }
      const op = kv.atomic().check({ key: CLOCK, versionstamp: clock }).sum(CLOCK, 1n);
      layout(op, commits, batch);
      const outcome = await op.commit();
      if (!outcome.ok) throw new Error("Cannot commit: the clock moved, but nothing else writes");
      clock = outcome.versionstamp;
      commits++;
    }
    const seconds = (performance.now() - start) / 1000;
    const messages = commits * PER_COMMIT;
    const after = treeStorageBytesWritten(Deno.pid);
    const perMessage = written === undefined || after === undefined
      ? "unknown bytes"
      : `${((after - written) / 1024 / messages).toFixed(1)} KiB`;
    return `${Math.round(messages / seconds)} messages/s, ${perMessage} written per message`;
  } finally {
    kv.close();
  }
}

async function main(seconds: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "parley-kv-layout-" });
  try {
    console.log(
      `Commits of ${PER_COMMIT} messages, each to one of ${ROOMS} rooms at random, on a file:`,
    );
    for (const [name, layout] of Object.entries(LAYOUTS)) {
      const path = `${dir}/${name.replaceAll(/\W+/g, "-")}.kv`;
      console.log(`${name}: ${await measure(path, layout, seconds * 1000)}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const seconds = Number(Deno.args[0] ?? 5);
  if (!(seconds > 0)) {
    throw new RangeError(`Invalid seconds "${Deno.args[0]}": expected a positive number`);
  }
  await main(seconds);
}
