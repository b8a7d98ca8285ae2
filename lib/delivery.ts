import type { Message } from "./types.ts";

const encoder = new TextEncoder();

/** The largest batch, in estimated bytes, sent as one frame or event chunk. */
export const MAX_DELIVERY_BYTES = 256 * 1024;
/** The most messages sent as one frame or event chunk. */
export const MAX_DELIVERY_MESSAGES = 500;

/** About how many bytes a message takes in a delivery, in any of its forms. */
function deliveryBytes(message: Message): number {
  // UTF-8 takes up to 3 bytes per UTF-16 unit; the other fields add about 200.
  return 3 * (message.text.length + message.author.length) + 200;
}

/**
 * Splits consecutive messages into deliveries of at most {@link MAX_DELIVERY_MESSAGES} and about
 * {@link MAX_DELIVERY_BYTES}.
 */
export function toDeliveries(messages: Message[]): Delivery[] {
  const deliveries: Delivery[] = [];
  let start = 0;
  let bytes = 0;
  messages.forEach((message, i) => {
    const size = deliveryBytes(message);
    const full = bytes + size > MAX_DELIVERY_BYTES || i - start === MAX_DELIVERY_MESSAGES;
    if (i > start && full) {
      deliveries.push(new Delivery(messages.slice(start, i)));
      start = i;
      bytes = 0;
    }
    bytes += size;
  });
  if (start < messages.length) deliveries.push(new Delivery(messages.slice(start)));
  return deliveries;
}

/**
 * A batch of consecutive messages of one room, serialised lazily and at most once per form,
 * however many sockets, streams and polls of this worker it goes out to.
 */
export class Delivery {
  #json: string | undefined;
  #frame: string | undefined;
  #events: Uint8Array | undefined;
  #bytes: number | undefined;

  /** @param messages consecutive messages in seq order, at least one */
  constructor(readonly messages: Message[]) {}

  /** The seq of the last message in the batch. */
  get last(): number {
    return this.messages[this.messages.length - 1].seq;
  }

  /** About how many bytes the batch takes, by {@link deliveryBytes}. */
  get bytes(): number {
    return this.#bytes ??= this.messages.reduce((sum, message) => sum + deliveryBytes(message), 0);
  }

  /** The messages as a JSON array. */
  get json(): string {
    return this.#json ??= JSON.stringify(this.messages);
  }

  /** The WebSocket frame `{"type":"messages","messages":[...]}`. */
  get frame(): string {
    return this.#frame ??= `{"type":"messages","messages":${this.json}}`;
  }

  /** The Server-Sent Events for the batch: `id`, `event: message` and `data` per message. */
  get events(): Uint8Array {
    return this.#events ??= encoder.encode(
      this.messages.map((message) =>
        `id: ${message.seq}\nevent: message\ndata: ${JSON.stringify(message)}\n\n`
      ).join(""),
    );
  }

  /** The part of this batch after `seq`: itself when all of it is, or a new batch. */
  after(seq: number): Delivery | undefined {
    if (this.messages[0].seq > seq) return this;
    const fresh = this.messages.filter((message) => message.seq > seq);
    return fresh.length === 0 ? undefined : new Delivery(fresh);
  }
}
