import { ParleyError } from "./errors.ts";
import { roomKey } from "./keys.ts";
import type { MessageLog } from "./message_log.ts";
import type { Message, Room } from "./types.ts";

/** A batch of consecutive messages, with its wire frame serialised once for every socket. */
export interface Delivery {
  messages: Message[];
  /** `{"type":"messages","messages":[...]}` for exactly these messages. */
  frame: string;
}

/** A live subscription to a room; `close()` stops delivery and frees the room's watch when last. */
export interface Subscription {
  /** The room's head when the subscription started. */
  readonly head: number;
  close(): void;
}

/** Called with each batch, in seq order, with no gaps and no repeats. */
export type DeliveryListener = (delivery: Delivery) => void;

const PAGE = 500;

/** Serialises a batch of messages into the frame every transport shares. */
export function toDelivery(messages: Message[]): Delivery {
  return { messages, frame: JSON.stringify({ type: "messages", messages }) };
}

class Subscriber {
  #buffer: Delivery[] | null = [];

  constructor(public last: number, readonly listener: DeliveryListener) {}

  /** Delivers what is new to this subscriber; holds it while the backlog is still loading. */
  offer(delivery: Delivery): void {
    if (this.#buffer) {
      this.#buffer.push(delivery);
      return;
    }
    const { messages } = delivery;
    if (messages.length === 0 || messages[messages.length - 1].seq <= this.last) return;
    const fresh = messages[0].seq > this.last ? delivery : toDelivery(
      messages.filter((message) => message.seq > this.last),
    );
    this.last = fresh.messages[fresh.messages.length - 1].seq;
    try {
      this.listener(fresh);
    } catch (error) {
      console.error("A subscriber failed to take a delivery:", error);
    }
  }

  /** Ends the backlog phase and hands over what arrived meanwhile. */
  goLive(): void {
    const held = this.#buffer ?? [];
    this.#buffer = null;
    for (const delivery of held) this.offer(delivery);
  }
}

/** One room watched by this worker: one `kv.watch`, shared by all local subscribers. */
class RoomFeed {
  readonly subscribers = new Set<Subscriber>();
  closed = false;
  #cursor: number;
  #reader: ReadableStreamDefaultReader<Deno.KvEntryMaybe<unknown>[]>;

  constructor(
    readonly room: string,
    head: number,
    kv: Deno.Kv,
    readonly log: MessageLog,
  ) {
    this.#cursor = head;
    this.#reader = kv.watch([roomKey(room)]).getReader();
    this.#pump();
  }

  async #pump(): Promise<void> {
    try {
      while (!this.closed) {
        const { done, value } = await this.#reader.read();
        if (done) break;
        const room = value[0].value as Room | null;
        if (room && room.head > this.#cursor) await this.#catchUp(room.head);
      }
    } catch (error) {
      if (!this.closed) console.error(`The watch on room "${this.room}" failed:`, error);
    }
  }

  async #catchUp(head: number): Promise<void> {
    while (this.#cursor < head && !this.closed) {
      const messages = await this.log.readAfter(this.room, this.#cursor, PAGE);
      if (messages.length === 0) break;
      this.#cursor = messages[messages.length - 1].seq;
      const delivery = toDelivery(messages);
      for (const subscriber of this.subscribers) subscriber.offer(delivery);
    }
  }

  close(): void {
    this.closed = true;
    this.#reader.cancel().catch(() => {});
  }
}

/**
 * The per-worker fan-out: one KV watch per room that has local subscribers, each wake-up read
 * once with `list` and serialised once, then handed to every subscriber of that room.
 */
export class Hub {
  #kv: Deno.Kv;
  #log: MessageLog;
  #feeds = new Map<string, Promise<RoomFeed>>();

  /**
   * @param kv the store whose room records are watched
   * @param log the log messages are read from
   */
  constructor(kv: Deno.Kv, log: MessageLog) {
    this.#kv = kv;
    this.#log = log;
  }

  /** How many rooms this worker is watching now. */
  get watchedRooms(): number {
    return this.#feeds.size;
  }

  /**
   * Subscribes to a room: first every message after `after` (default: the head now), then
   * every new one. Throws `room_not_found` for an unknown room.
   */
  async subscribe(
    room: string,
    listener: DeliveryListener,
    options: { after?: number } = {},
  ): Promise<Subscription> {
    const feed = await this.#joinFeed(room);
    const subscriber = new Subscriber(0, listener);
    feed.subscribers.add(subscriber);
    // The head is read after joining, so it is at least the feed's cursor: backlog and live
    // deliveries overlap rather than leave a gap, and the overlap is filtered by seq.
    const head = (await this.#log.getRoom(room))?.head ?? 0;
    subscriber.last = Math.min(options.after ?? head, head);
    const subscription = { head, close: () => this.#leave(feed, subscriber) };
    try {
      await this.#sendBacklog(room, subscriber, head);
    } catch (error) {
      subscription.close();
      throw error;
    }
    subscriber.goLive();
    return subscription;
  }

  /** Stops every watch; subscribers receive nothing more. */
  close(): void {
    for (const feed of this.#feeds.values()) feed.then((f) => f.close(), () => {});
    this.#feeds.clear();
  }

  async #sendBacklog(room: string, subscriber: Subscriber, head: number): Promise<void> {
    let cursor = subscriber.last;
    while (cursor < head) {
      const messages = await this.#log.readAfter(room, cursor, PAGE);
      if (messages.length === 0) break;
      cursor = messages[messages.length - 1].seq;
      subscriber.last = cursor;
      subscriber.listener(toDelivery(messages));
    }
  }

  async #joinFeed(room: string): Promise<RoomFeed> {
    for (;;) {
      let pending = this.#feeds.get(room);
      if (!pending) {
        pending = this.#openFeed(room);
        this.#feeds.set(room, pending);
        pending.catch(() => this.#feeds.delete(room));
      }
      const feed = await pending;
      if (!feed.closed) return feed;
    }
  }

  async #openFeed(room: string): Promise<RoomFeed> {
    const record = await this.#log.getRoom(room);
    if (record === null) {
      throw new ParleyError(404, "room_not_found", `Room "${room}" does not exist`);
    }
    return new RoomFeed(room, record.head, this.#kv, this.#log);
  }

  #leave(feed: RoomFeed, subscriber: Subscriber): void {
    feed.subscribers.delete(subscriber);
    if (feed.subscribers.size > 0 || feed.closed) return;
    feed.close();
    this.#feeds.delete(feed.room);
  }
}
