/**
 * What the writer knows of the shared log values (`["log", n]`, see `lib/keys.ts`): which rooms
 * still hold messages in each, and those messages, so it can move a room's held messages into
 * the room's own keys and delete a log value once no room holds anything in it.
 *
 * @module
 */
import type { Message } from "./types.ts";

/** The held messages of every live log value, by log number and room; see the module docs. */
export class LogLedger {
  /** Log number → room → the messages the room still holds there, in seq order. */
  #values = new Map<number, Map<string, Message[]>>();
  /** Room → the log numbers it holds messages in, ascending. */
  #rooms = new Map<string, number[]>();

  /** How many log values are live. */
  get size(): number {
    return this.#values.size;
  }

  /**
   * Records a log value and the messages each room holds in it (rooms with none are left out);
   * values are added in the order of their numbers.
   */
  add(n: number, held: ReadonlyMap<string, Message[]>): void {
    const rooms = new Map<string, Message[]>();
    for (const [room, messages] of held) {
      if (messages.length === 0) continue;
      rooms.set(room, [...messages]);
      const logs = this.#rooms.get(room);
      if (logs === undefined) this.#rooms.set(room, [n]);
      else logs.push(n);
    }
    if (rooms.size > 0) this.#values.set(n, rooms);
  }

  /** The log numbers `room` holds messages in, ascending (empty when it holds none). */
  logsOf(room: string): readonly number[] {
    return this.#rooms.get(room) ?? [];
  }

  /** The messages `room` holds, in seq order. */
  held(room: string): Message[] {
    return this.logsOf(room).flatMap((n) => this.#values.get(n)!.get(room)!);
  }

  /** How many messages `room` holds. */
  heldCount(room: string): number {
    let count = 0;
    for (const n of this.logsOf(room)) count += this.#values.get(n)!.get(room)!.length;
    return count;
  }

  /** Rooms holding messages in log values numbered `upTo` or lower, oldest first. */
  *heldSince(upTo: number): Generator<string> {
    const seen = new Set<string>();
    for (const [n, rooms] of this.#values) {
      if (n > upTo) break;
      for (const room of rooms.keys()) {
        if (seen.has(room)) continue;
        seen.add(room);
        yield room;
      }
    }
  }

  /** How many rooms hold messages in log value `n` (0 once it is gone). */
  holders(n: number): number {
    return this.#values.get(n)?.size ?? 0;
  }

  /** `room` no longer holds anything: its messages are in its own keys now. */
  release(room: string): void {
    for (const n of this.logsOf(room)) {
      const rooms = this.#values.get(n)!;
      rooms.delete(room);
      if (rooms.size === 0) this.#values.delete(n);
    }
    this.#rooms.delete(room);
  }

  /** Forgets everything (the store moved under the writer; it is read again). */
  clear(): void {
    this.#values.clear();
    this.#rooms.clear();
  }
}
