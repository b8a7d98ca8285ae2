/**
 * Reads Parley's `GET /metrics` (Prometheus text) for the store's side of a run: group commits,
 * messages per commit, commit latency and refusals. Each `deno serve --parallel` worker keeps its
 * own metrics and a connection lands on one worker, so the page is fetched several times on
 * fresh connections and each distinct worker's numbers are added up.
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

const SCRAPES = 12;
/** A bound of Parley's commit latency histogram: a commit slower than this is a stall. */
const SLOW_COMMIT_SECONDS = "0.05";

/** The value of the line that starts with `name` and a space; 0 when there is none. */
function value(text: string, name: string): number {
  const line = text.split("\n").find((each) => each.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

/** A snapshot of the store metrics, or undefined when the server has no `/metrics`. */
export async function readStoreMetrics(origin: string): Promise<StoreMetrics | undefined> {
  const seen = new Map<string, string>();
  for (let i = 0; i < SCRAPES; i++) {
    const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
    try {
      const response = await fetch(`${origin}/metrics`, { client });
      if (!response.ok) {
        await response.body?.cancel();
        return undefined;
      }
      const text = await response.text();
      // A worker is told apart by its own counters; the same worker gives the same lines.
      const key = text.split("\n").filter((line) => /^parley_(kv_commit|group_commit)/.test(line))
        .join("\n");
      seen.set(key, text);
    } catch {
      return undefined;
    } finally {
      client.close();
    }
  }
  return storeTotals([...seen.values()]);
}

/** Adds up the store metrics of each worker's `/metrics` page. */
export function storeTotals(pages: readonly string[]): StoreMetrics {
  const totals: StoreMetrics = {
    workers: pages.length,
    commits: 0,
    messages: 0,
    commitSeconds: 0,
    slowCommits: 0,
    rejected: {},
  };
  for (const text of pages) {
    totals.commits += value(text, "parley_group_commit_batch_size_count");
    totals.messages += value(text, "parley_group_commit_batch_size_sum");
    totals.commitSeconds += value(text, "parley_kv_commit_seconds_sum");
    totals.slowCommits += value(text, "parley_kv_commit_seconds_count") -
      value(text, `parley_kv_commit_seconds_bucket{le="${SLOW_COMMIT_SECONDS}"}`);
    for (
      const [, reason, count] of text.matchAll(
        /^parley_rejected_total\{reason="([^"]+)"\} (\d+)$/gm,
      )
    ) {
      totals.rejected[reason] = (totals.rejected[reason] ?? 0) + Number(count);
    }
  }
  return totals;
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
