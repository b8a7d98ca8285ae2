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
  /** Refusals by reason (`parley_rejected_total`). */
  rejected: Record<string, number>;
}

const SCRAPES = 12;

function value(text: string, name: string): number {
  const match = text.match(new RegExp(`^${name} ([0-9.e+-]+)$`, "m"));
  return match ? Number(match[1]) : 0;
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
  const totals: StoreMetrics = {
    workers: seen.size,
    commits: 0,
    messages: 0,
    commitSeconds: 0,
    rejected: {},
  };
  for (const text of seen.values()) {
    totals.commits += value(text, "parley_group_commit_batch_size_count");
    totals.messages += value(text, "parley_group_commit_batch_size_sum");
    totals.commitSeconds += value(text, "parley_kv_commit_seconds_sum");
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

/** What happened in the store between two snapshots, as a note: commits, batch size, latency. */
export function storeNote(
  before: StoreMetrics | undefined,
  after: StoreMetrics | undefined,
): string | undefined {
  if (!before || !after) return undefined;
  const commits = after.commits - before.commits;
  if (commits <= 0) return undefined;
  const messages = after.messages - before.messages;
  const seconds = after.commitSeconds - before.commitSeconds;
  return `KV (${after.workers} worker${
    after.workers === 1 ? "" : "s"
  } seen): ${commits} group commits, ` +
    `${(messages / commits).toFixed(1)} msgs/commit, ${
      (1000 * seconds / commits).toFixed(2)
    } ms/commit`;
}
