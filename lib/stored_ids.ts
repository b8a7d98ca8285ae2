/**
 * Tells a retried append from a new one. Each room's newest client ids are held in memory
 * (`lib/recent_ids.ts`) and caught up from the log when the room's head moved without this
 * committer (which costs a read), so a new id costs no read and no index write. An id whose hash
 * matches a recent message's is compared with that message's id: from the ledger where the room
 * still holds it in a shared log value, else read from its key.
 *
 * @module
 */
import type { RoomAppends } from "./commit_plan.ts";
import { storedKey } from "./commit_plan.ts";
import { messageKey } from "./keys.ts";
import { getAll } from "./kv_reads.ts";
import type { LogLedger } from "./log_ledger.ts";
import { ID_WINDOW, RecentIds } from "./recent_ids.ts";
import { useRecent } from "./recently_used.ts";
import { readMessages } from "./room_reader.ts";
import type { Message } from "./types.ts";

// Rooms whose recent ids are held, about 13 KB each when full.
const MAX_ID_WINDOWS = 4_000;

/** The recent client ids of rooms, and the lookups of a batch's ids against them. */
export class StoredIds {
  #kv: Deno.Kv;
  #sharedLog: boolean;
  /** The ids of rooms' newest messages, least recently used first. */
  #windows = new Map<string, RecentIds>();
  /** Catch-ups of rooms' {@link #windows} in progress. */
  #catchingUp = new Map<string, Promise<RecentIds>>();

  /**
   * @param kv the store
   * @param options whether rooms' newest messages may be in shared log values
   */
  constructor(kv: Deno.Kv, options: { sharedLog: boolean }) {
    this.#kv = kv;
    this.#sharedLog = options.sharedLog;
  }

  /**
   * Finds the messages already stored under the appends' client ids, by {@link storedKey}: each
   * room's recent ids name the candidates, whose messages are read to compare the ids, from
   * `ledger` where the room holds them and from their keys otherwise. A room whose appends carry
   * no ids needs no window.
   */
  async find(appends: readonly RoomAppends[], ledger: LogLedger): Promise<Map<string, Message>> {
    const found = new Map<string, Message>();
    const keep = (message: Message) => found.set(storedKey(message.room, message.id), message);
    // Every commit looks up its batch's ids, so the common case (every window current, no hash
    // matching) makes no promise, and no array per room or per id.
    const withIds = appends.filter(({ inputs }) => inputs.some(({ id }) => id !== undefined));
    const current = withIds.map(({ room }) => this.#currentWindow(room.id, room.head));
    const windows = current.every((window) => window !== undefined) ? current : await Promise.all(
      withIds.map(({ room }, i) => current[i] ?? this.#windowOf(room.id, room.head, room.trimmed)),
    );
    const keys: Deno.KvKey[] = [];
    withIds.forEach(({ room, inputs }, i) => {
      let candidates: Set<number> | undefined;
      for (const { id } of inputs) {
        if (id === undefined) continue;
        for (const seq of windows[i].candidates(id)) (candidates ??= new Set()).add(seq);
      }
      if (candidates === undefined) return;
      // Retention may have deleted held messages: those are gone, wherever they are still kept.
      const held = new Map(
        ledger.held(room.id).flatMap((message) =>
          message.seq > room.trimmed ? [[message.seq, message]] : []
        ),
      );
      for (const seq of candidates) {
        const message = held.get(seq);
        if (message === undefined) keys.push(messageKey(room.id, seq));
        else keep(message);
      }
    });
    if (keys.length === 0) return found;
    for (const { value } of await getAll<Message>(this.#kv, keys)) if (value) keep(value);
    return found;
  }

  /**
   * Adds the ids a commit stored to their room's window, if it knows the seqs before them (a
   * window behind is caught up from the log when next needed; one that read these messages from
   * the log before the commit's answer came already has them).
   */
  record(room: string, messages: readonly Message[]): void {
    const window = this.#windows.get(room);
    if (window === undefined) return;
    for (const message of messages) {
      if (message.seq === window.head + 1) window.push(message.id);
    }
  }

  /** The recent ids of `room` if they reach its head `head` already, marked as recently used. */
  #currentWindow(room: string, head: number): RecentIds | undefined {
    const window = this.#windows.get(room);
    if (window === undefined || window.head < head) return undefined;
    useRecent(this.#windows, room, window, MAX_ID_WINDOWS);
    return window;
  }

  /**
   * The recent ids of `room`, caught up from the log to its head where this committer's own
   * commits did not already bring them.
   */
  async #windowOf(room: string, head: number, trimmed: number): Promise<RecentIds> {
    const current = this.#currentWindow(room, head);
    if (current !== undefined) return current;
    const window = this.#windows.get(room);
    let catchUp = this.#catchingUp.get(room);
    if (catchUp === undefined) {
      catchUp = this.#catchUp(room, head, trimmed, window).finally(() =>
        this.#catchingUp.delete(room)
      );
      this.#catchingUp.set(room, catchUp);
    }
    const caughtUp = await catchUp;
    return caughtUp.head >= head ? caughtUp : await this.#windowOf(room, head, trimmed);
  }

  /** Reads the ids of `room`'s messages after what `window` knows, up to `head`. */
  async #catchUp(
    room: string,
    head: number,
    trimmed: number,
    window: RecentIds | undefined,
  ): Promise<RecentIds> {
    const start = Math.max(window?.head ?? 0, trimmed, head - ID_WINDOW);
    const read = await readMessages(this.#kv, room, {
      after: start,
      before: head + 1,
      limit: head - start,
    }, { sharedLog: this.#sharedLog });
    // Applied at once, so no landing interleaves. A window that knows nothing from `start` on
    // (its newest ids are too old to keep) starts afresh there.
    let caughtUp = window !== undefined && window.head >= start ? window : new RecentIds(start);
    for (const message of read) {
      // What a landing already added is skipped; messages retention deleted meanwhile leave a
      // gap, after which the window restarts.
      if (message.seq <= caughtUp.head) continue;
      if (message.seq !== caughtUp.head + 1) caughtUp = new RecentIds(message.seq - 1);
      caughtUp.push(message.id);
    }
    if (caughtUp.head < head) caughtUp = new RecentIds(head);
    useRecent(this.#windows, room, caughtUp, MAX_ID_WINDOWS);
    return caughtUp;
  }
}
