/**
 * What Parley's group commit costs per message, thread by thread, without sockets or a load
 * generator: the real `MessageLog` appends to 10 rooms, a set number of appends at a time, and the
 * probe reports the CPU time of the JavaScript thread and of the process's other threads (KV's
 * SQLite thread, V8's helpers) per message. End-to-end runs on a shared two-core machine vary by
 * a tenth from run to run; this tells a change to the committer from noise in seconds.
 *
 * Usage: `deno run --allow-all bench/commit_cost.ts [rounds, default 2]`
 *
 * @module
 */
import { MessageLog } from "../lib/message_log.ts";
import { cpuSeconds } from "./proc.ts";

const ROOMS = 10;
/** How many appends are in flight at once, part by part. */
const IN_FLIGHT = [1, 8, 20, 80, 250];
const TURNS = 6000;
const MAX_MESSAGES = 120_000;
const WARM_UP_TURNS = 200;
const TEXT = "bench m t=1795620000000.000 ".repeat(3);

/** One part's costs, per message. */
export interface CommitCost {
  messagesPerCommit: number;
  /** CPU time of the JavaScript thread, in µs per message. */
  mainUs: number;
  /** CPU time of every other thread of the process, in µs per message. */
  otherUs: number;
  /** Elapsed time, in µs per message. */
  wallUs: number;
}

/** Appends `turns` times `inFlight` messages, each turn's at once, to rooms `room-0`…. */
async function appendTurns(log: MessageLog, inFlight: number, turns: number): Promise<void> {
  for (let turn = 0; turn < turns; turn++) {
    const appends = Array.from({ length: inFlight }, (_, i) =>
      log.append(`room-${i % ROOMS}`, {
        id: `t${turn}-${i}-${crypto.randomUUID().slice(0, 8)}`,
        author: "bench",
        text: TEXT,
      }));
    await Promise.all(appends);
  }
}

/** Measures one part on a new store at `path`. */
export async function measureCommitCost(path: string, inFlight: number): Promise<CommitCost> {
  const kv = await Deno.openKv(path);
  try {
    const log = new MessageLog(kv);
    for (let room = 0; room < ROOMS; room++) await log.createRoom(`room-${room}`, "Probe");
    await appendTurns(log, inFlight, WARM_UP_TURNS);
    const turns = Math.min(TURNS, Math.ceil(MAX_MESSAGES / inFlight));
    const commitsBefore = log.stats.commits;
    const mainBefore = cpuSeconds(`${Deno.pid}/task/${Deno.pid}`);
    const allBefore = cpuSeconds("self");
    const started = performance.now();
    await appendTurns(log, inFlight, turns);
    const wallUs = (performance.now() - started) * 1000;
    const mainUs = (cpuSeconds(`${Deno.pid}/task/${Deno.pid}`) - mainBefore) * 1e6;
    const allUs = (cpuSeconds("self") - allBefore) * 1e6;
    const messages = turns * inFlight;
    return {
      messagesPerCommit: messages / (log.stats.commits - commitsBefore),
      mainUs: mainUs / messages,
      otherUs: (allUs - mainUs) / messages,
      wallUs: wallUs / messages,
    };
  } finally {
    kv.close();
  }
}

async function main(rounds: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "parley-commit-cost-" });
  const fixed = (value: number) => value.toFixed(value < 10 ? 2 : 1);
  try {
    console.log(
      "| Store  | Appends at once | Messages/commit | JS thread µs/msg | Other threads µs/msg | Elapsed µs/msg |",
    );
    console.log(
      "| ------ | --------------- | --------------- | ---------------- | -------------------- | -------------- |",
    );
    for (let round = 0; round < rounds; round++) {
      for (const store of ["file", "memory"]) {
        for (const inFlight of IN_FLIGHT) {
          const path = store === "file" ? `${dir}/r${round}-${inFlight}.kv` : ":memory:";
          const cost = await measureCommitCost(path, inFlight);
          console.log(
            `| ${store.padEnd(6)} | ${String(inFlight).padEnd(15)} | ${
              fixed(cost.messagesPerCommit).padEnd(15)
            } | ${fixed(cost.mainUs).padEnd(16)} | ${fixed(cost.otherUs).padEnd(20)} | ${
              fixed(cost.wallUs).padEnd(14)
            } |`,
          );
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main(Number(Deno.args[0] ?? 2));
