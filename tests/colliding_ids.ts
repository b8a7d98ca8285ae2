/**
 * Test support: ids whose recent-id hashes collide, to show a collision never merges messages.
 *
 * @module
 */
import { idHash } from "../lib/recent_ids.ts";

/** Two different ids with the same {@link idHash}, found by trying (about 40,000 tries). */
export function collidingIds(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0;; i++) {
    const id = `c${i}`;
    const other = seen.get(idHash(id));
    if (other !== undefined) return [other, id];
    seen.set(idHash(id), id);
  }
}
