/**
 * Reads Parley's `GET /metrics` (Prometheus text) for the store's side of a run: group commits,
 * messages per commit, commit latency and refusals. Under `deno serve --parallel` each scrape
 * shows every worker, each under its `worker` label: their samples are added up.
 *
 * @module
 */

/** Store-side totals over the workers seen. */
export interface StoreMetrics {
  /** Workers whose metrics were seen. */
  workers: number;
  commits: number;
  /** Messages carried by those commits. */
  messages: number;
  /** Time spent in commits, in seconds. */
  commitSeconds: number;
  /** Commits that took longer than {@link SLOW_COMMIT_SECONDS}: the store, or the disk, stalled. */
  slowCommits: number;
  /** Refusals by reason (`parley_rejected_total`). */
  rejected: Record<string, number>;
}

/** A bound of Parley's commit latency histogram: a commit slower than this is a stall. */
const SLOW_COMMIT_SECONDS = "0.05";

/** A sample line: its series without the `worker` label, that label, and the value. */
const SAMPLE = /^([a-z_]+)(?:\{(?:worker="([^"]*)",?)?([^}]*)\})? (\S+)$/;

interface ParsedSample {
  /** The metric name and its labels but `worker`, as `name{a="b"}`. */
  series: string;
  worker: string;
  value: number;
}

/** The samples of a `/metrics` page. */
function parse(text: string): ParsedSample[] {
  return text.split("\n").flatMap((line) => {
    const match = SAMPLE.exec(line);
    if (!match) return [];
    const [, name, worker = "", labels, value] = match;
    return [{ series: labels ? `${name}{${labels}}` : name, worker, value: Number(value) }];
  });
}

/** Adds up the samples of one series over every worker. */
function sum(samples: ParsedSample[], series: string): number {
  return samples.filter((sample) => sample.series === series)
    .reduce((total, sample) => total + sample.value, 0);
}

/** A snapshot of the store metrics, or undefined when the server has no `/metrics`. */
export async function readStoreMetrics(origin: string): Promise<StoreMetrics | undefined> {
  try {
    const response = await fetch(`${origin}/metrics`);
    if (!response.ok) {
      await response.body?.cancel();
      return undefined;
    }
    return storeTotals(await response.text());
  } catch {
    return undefined;
  }
}

/** Adds up the store metrics of every worker on a `/metrics` page. */
export function storeTotals(text: string): StoreMetrics {
  const samples = parse(text);
  const rejected: Record<string, number> = {};
  for (const { series, value } of samples) {
    const reason = /^parley_rejected_total\{reason="([^"]+)"\}$/.exec(series)?.[1];
    if (reason !== undefined) rejected[reason] = (rejected[reason] ?? 0) + value;
  }
  return {
    workers: new Set(samples.map(({ worker }) => worker)).size,
    commits: sum(samples, "parley_group_commit_batch_size_count"),
    messages: sum(samples, "parley_group_commit_batch_size_sum"),
    commitSeconds: sum(samples, "parley_kv_commit_seconds_sum"),
    slowCommits: sum(samples, "parley_kv_commit_seconds_count") -
      sum(samples, `parley_kv_commit_seconds_bucket{le="${SLOW_COMMIT_SECONDS}"}`),
    rejected,
  };
}

/**
 * What happened in the store between two snapshots, as a note: commits, batch size, latency, and
 * how many commits stalled (a run whose p99 a stalled disk made is told apart from a slow server).
 */
export function storeNote(
  before: StoreMetrics | undefined,
  after: StoreMetrics | undefined,
): string | undefined {
  if (!before || !after) return undefined;
  const commits = after.commits - before.commits;
  if (commits <= 0) return undefined;
  const messages = after.messages - before.messages;
  const seconds = after.commitSeconds - before.commitSeconds;
  const slow = after.slowCommits - before.slowCommits;
  return `KV (${after.workers} worker${
    after.workers === 1 ? "" : "s"
  } seen): ${commits} group commits, ` +
    `${(messages / commits).toFixed(1)} msgs/commit, ${
      (1000 * seconds / commits).toFixed(2)
    } ms/commit` + (slow > 0 ? `, ${slow} over ${1000 * Number(SLOW_COMMIT_SECONDS)} ms` : "");
}
