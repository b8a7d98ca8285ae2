/**
 * Several KV handles on one SQLite file (separate processes, or `--parallel` workers) take turns
 * at the write lock; a write that finds it taken fails with "database is locked" and is retried.
 *
 * @module
 */

const MAX_ATTEMPTS = 50;

/** Whether an error is SQLite's "database is locked". */
export function isLocked(error: unknown): boolean {
  return error instanceof Error && /database is locked/i.test(error.message);
}

/** Waits a random while, longer with each attempt (full jitter, at most 50 ms). */
export function lockBackoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(50, 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs a KV write, retrying while the database is locked by another handle. */
export async function retryLocked<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!isLocked(error) || attempt >= MAX_ATTEMPTS) throw error;
      await lockBackoff(attempt);
    }
  }
}
