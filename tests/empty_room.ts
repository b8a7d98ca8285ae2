/**
 * Test helper: a room record as a test writes it straight into KV, without the log.
 *
 * @module
 */
import type { Room } from "../lib/types.ts";

/** A fresh, empty room record named `id`. */
export function emptyRoom(id: string): Room {
  return { id, title: id, createdAt: 0, head: 0, lastAt: null, epoch: "e", trimmed: 0 };
}
