/**
 * A probe of what Deno KV (SQLite) costs for the shape of Parley's group commits across many
 * rooms, and what another storage layout would cost. Every commit checks and bumps a clock key
 * and carries 100 messages, each to a different room picked at random from 500, the way the
 * bench's `append` across many rooms arrives. Layouts:
 *
 * - `rows + records`: one key per message under its room, and each room's record rewritten with
 *   its new head (Parley's layout for a room with many messages in a commit);
 * - `rows`: the same without the room records, to show their share;
 * - `log + records`: the commit's messages as one value under a sequential key, and the records
 *   (Parley's shared log, for rooms with few messages in a commit);
 * - `log`: the same without the records, to show their share there.
 *
 * For each, the probe reports messages/s, the bytes the process wrote per message (SQLite's WAL
 * and checkpoints, `write_bytes` in `/proc/<pid>/io`), and where a commit's time went: building
 * the operation in JavaScript, inside `commit()` until it returns its promise (the synchronous
 * part of `op_kv_atomic_write`, which hands the write to SQLite's thread), and waiting for the
 * answer. Each layout runs on a fresh file, seeded with the same history, for a bounded time.
 * Busy processes (plain JavaScript loops) can run meanwhile, to see what CPU contention does.
 *
 * Usage: `deno run --allow-all bench/kv_layout_probe.ts [seconds per layout, default 5]
 * [busy processes, default 0]`
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
    LAYOUTS.log(op, commit, rooms);
    for (const room of rooms) op.set(["rooms", room.id], room);
  },
  "log": (op, commit, rooms) => {
    op.set(["log", commit], rooms.map((room) => messageOf(room, room.head)));
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
    const spent = { building: 0, inCommit: 0, waiting: 0 };
    while (performance.now() - start < ms) {
      const began = performance.now();
      const batch = pick(rooms, PER_COMMIT);
      for (const room of batch) {
        room.head++;
        room.lastAt = Date.now();
      }
      const op = kv.atomic().check({ key: CLOCK, versionstamp: clock }).sum(CLOCK, 1n);
      layout(op, commits, batch);
      const built = performance.now();
      const committing = op.commit();
      const handedOver = performance.now();
      const outcome = await committing;
      spent.building += built - began;
      spent.inCommit += handedOver - built;
      spent.waiting += performance.now() - handedOver;
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
    const each = (ms: number) => `${(ms / commits).toFixed(2)} ms`;
    return `${Math.round(messages / seconds)} messages/s, ${perMessage} written per message; ` +
      `per commit ${each(spent.building)} building, ${each(spent.inCommit)} in commit(), ` +
      `${each(spent.waiting)} waiting`;
  } finally {
    kv.close();
  }
}

/** Starts `count` processes that keep a core busy until killed. */
function busyProcesses(count: number): Deno.ChildProcess[] {
  return Array.from({ length: count }, () =>
    new Deno.Command(Deno.execPath(), {
      args: ["eval", "while (true) {}"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn());
}

async function main(seconds: number, busy: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "parley-kv-layout-" });
  const loops = busyProcesses(busy);
  try {
    console.log(
      `Commits of ${PER_COMMIT} messages, each to one of ${ROOMS} rooms at random, on a file` +
        (busy > 0 ? `, beside ${busy} busy processes:` : ":"),
    );
    for (const [name, layout] of Object.entries(LAYOUTS)) {
      const path = `${dir}/${name.replaceAll(/\W+/g, "-")}.kv`;
      console.log(`${name}: ${await measure(path, layout, seconds * 1000)}`);
    }
  } finally {
    for (const loop of loops) {
      loop.kill();
      await loop.status;
    }
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const seconds = Number(Deno.args[0] ?? 5);
  if (!(seconds > 0)) {
    throw new RangeError(`Invalid seconds "${Deno.args[0]}": expected a positive number`);
  }
  const busy = Number(Deno.args[1] ?? 0);
  if (!Number.isInteger(busy) || busy < 0) {
    throw new RangeError(`Invalid busy processes "${Deno.args[1]}": expected a whole number`);
  }
  await main(seconds, busy);
}
