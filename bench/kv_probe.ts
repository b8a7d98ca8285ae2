/**
 * A probe of Deno KV itself on this machine, to tell Parley's costs from the store's. Each loop
 * appends the way Parley's first room appender did — read the room record, look up an id, commit
 * the message, the id and the new head with a `check` on the record — and the probe reports
 * commits/s, check conflicts and thrown errors for: one loop; 100 loops on 100 rooms; one loop
 * committing 100 messages at a time; the same in memory; and two workers sharing one KV file as `deno serve --parallel` workers do, first
 * on separate rooms, then on one hot room. Each part runs for a bounded time.
 *
 * Usage: `deno run --allow-all bench/kv_probe.ts [seconds per part, default 2]`
 *
 * @module
 */

const WORKER_NAME = "kv-probe-worker";
const TEXT = "bench m t=1795620000000.000 ".repeat(3);

/** What one timed run of append loops did. */
export interface ProbeResult {
  commits: number;
  /** Commits refused because the room's head moved (the `check` failed). */
  conflicts: number;
  /** Commits that threw, e.g. "database is locked". */
  failures: number;
  firstFailure?: string;
}

/** Where the loops of one run append: `rooms(loop)` names each loop's room. */
export interface ProbeJob {
  path: string;
  loops: number;
  ms: number;
  /** The room of each loop: `${prefix}${loop}`, or `prefix` alone for one hot room. */
  prefix: string;
  hot: boolean;
}

async function appendOnce(kv: Deno.Kv, room: string, id: string): Promise<boolean> {
  const entry = await kv.get<{ head: number }>(["rooms", room]);
  await kv.getMany([["message_ids", room, id]]);
  const head = (entry.value?.head ?? 0) + 1;
  const outcome = await kv.atomic()
    .check(entry)
    .set(["messages", room, head], { seq: head, id, text: TEXT, at: Date.now() })
    .set(["message_ids", room, id], head)
    .set(["rooms", room], { head })
    .commit();
  return outcome.ok;
}

/** Runs `job.loops` concurrent append loops for `job.ms`. */
export async function appendLoops(kv: Deno.Kv, job: ProbeJob): Promise<ProbeResult> {
  const result: ProbeResult = { commits: 0, conflicts: 0, failures: 0 };
  const end = performance.now() + job.ms;
  await Promise.all(Array.from({ length: job.loops }, async (_, loop) => {
    const room = job.hot ? job.prefix : `${job.prefix}${loop}`;
    for (let n = 0; performance.now() < end; n++) {
      try {
        if (await appendOnce(kv, room, `${job.prefix}-${loop}-${n}`)) result.commits++;
        else result.conflicts++;
      } catch (error) {
        result.failures++;
        result.firstFailure ??= String(error);
      }
    }
  }));
  return result;
}

/**
 * One loop committing batches of `size` messages to one room, each message three mutations as in
 * Parley (the message, its id index, the retention delete of an old one): messages/s.
 */
export async function batchLoop(kv: Deno.Kv, size: number, ms: number): Promise<number> {
  const end = performance.now() + ms;
  let head = 0;
  while (performance.now() < end) {
    const op = kv.atomic();
    for (let i = 0; i < size; i++) {
      head++;
      op.set(["messages", "batch", head], { seq: head, id: `b${head}`, text: TEXT, at: Date.now() })
        .set(["message_ids", "batch", `b${head}`], head)
        .delete(["messages", "batch", head - 10_000]);
    }
    await op.set(["rooms", "batch"], { head }).commit();
  }
  return head;
}

function serveAsWorker(): void {
  const scope = globalThis as unknown as {
    onmessage: ((event: MessageEvent) => void) | null;
    postMessage(data: unknown): void;
  };
  scope.onmessage = async (event: MessageEvent) => {
    const job = event.data as ProbeJob;
    const kv = await Deno.openKv(job.path);
    const result = await appendLoops(kv, job);
    kv.close();
    scope.postMessage(result);
  };
}

function inTwoWorkers(job: Omit<ProbeJob, "prefix">): Promise<ProbeResult[]> {
  return Promise.all([0, 1].map((index) =>
    new Promise<ProbeResult>((resolve) => {
      const worker = new Worker(import.meta.url, { type: "module", name: WORKER_NAME });
      worker.onmessage = (event) => {
        worker.terminate();
        resolve(event.data as ProbeResult);
      };
      worker.postMessage({ ...job, prefix: job.hot ? "hot" : `w${index}-r` });
    })
  ));
}

function describe(label: string, results: ProbeResult[], seconds: number): string {
  const sum = (pick: (r: ProbeResult) => number) => results.reduce((n, r) => n + pick(r), 0);
  const first = results.find((r) => r.firstFailure)?.firstFailure;
  return `${label}: ${Math.round(sum((r) => r.commits) / seconds)} commits/s, ` +
    `${sum((r) => r.conflicts)} check conflicts, ${sum((r) => r.failures)} errors` +
    (first ? ` (${first})` : "");
}

async function main(seconds: number): Promise<void> {
  const ms = seconds * 1000;
  const dir = await Deno.makeTempDir({ prefix: "parley-kv-probe-" });
  try {
    for (const path of [`${dir}/probe.kv`, ":memory:"]) {
      const where = path === ":memory:" ? "memory" : "file";
      const kv = await Deno.openKv(path);
      const one = await appendLoops(kv, { path, loops: 1, ms, prefix: "one", hot: true });
      console.log(describe(`${where}, 1 loop`, [one], seconds));
      const many = await appendLoops(kv, { path, loops: 100, ms, prefix: "r", hot: false });
      console.log(describe(`${where}, 100 loops on 100 rooms`, [many], seconds));
      const batched = await batchLoop(kv, 100, ms);
      console.log(
        `${where}, 1 loop, commits of 100 messages (300 mutations): ` +
          `${Math.round(batched / seconds)} messages/s`,
      );
      kv.close();
    }
    const apart = await inTwoWorkers({ path: `${dir}/apart.kv`, loops: 50, ms, hot: false });
    console.log(describe("file, 2 workers × 50 loops, separate rooms", apart, seconds));
    const hot = await inTwoWorkers({ path: `${dir}/hot.kv`, loops: 50, ms, hot: true });
    console.log(describe("file, 2 workers × 50 loops, one hot room", hot, seconds));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if ((globalThis as { name?: string }).name === WORKER_NAME) {
  serveAsWorker();
} else if (import.meta.main) {
  await main(Number(Deno.args[0] ?? 2));
}
