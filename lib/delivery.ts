import type { Message } from "./types.ts";

const encoder = new TextEncoder();

/**
 * A batch of consecutive messages of one room, serialised lazily and at most once per form,
 * however many sockets, streams and polls of this worker it goes out to.
 */
export class Delivery {
  #json: string | undefined;
  #frame: string | undefined;
  #events: Uint8Array | undefined;

  /** @param messages consecutive messages in seq order, at least one */
  constructor(readonly messages: Message[]) {}

  /** The seq of the last message in the batch. */
  get last(): number {
    return this.messages[this.messages.length - 1].seq;
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
