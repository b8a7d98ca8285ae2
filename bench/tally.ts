import { LatencyRecorder } from "./latency.ts";
import { type MessageStamp, now } from "./message_text.ts";

/** One receiving client: its room and the last seq it saw, to spot repeats. */
export interface Receiver {
  readonly room: string;
  last: number;
}

/**
 * The books of one measured phase: sends, acks, deliveries expected (each send times the
 * receivers in its room) and delivered, repeats, and end-to-end and ack latencies. Only
 * messages whose text carries the phase's tag count, so stragglers of a warm-up or of an
 * earlier sweep step are ignored.
 */
export class Tally {
  /** Messages sent in this phase. */
  sent = 0;
  /** Sends the server confirmed as stored. */
  acked = 0;
  /** Sends the server refused or failed. */
  rejected = 0;
  /** Deliveries owed: every send times the receivers in its room when it was sent. */
  expected = 0;
  /** Deliveries of this phase's messages that arrived. */
  delivered = 0;
  /** Messages a receiver got again (a seq not above the last it saw). */
  duplicates = 0;
  /** When the last counted delivery arrived, in ms since the epoch; 0 before any. */
  lastDeliveryAt = 0;
  /** Send-to-delivery latency of every delivery, in ms. */
  latency = new LatencyRecorder();
  /** Send-to-ack latency of every acknowledged send, in ms. */
  ackLatency = new LatencyRecorder();
  #tag: string;
  #receivers = new Map<string, number>();

  /** @param tag the tag in the text of the messages this phase counts */
  constructor(tag: string) {
    this.#tag = tag;
  }

  /** The tag of the messages counted now. */
  get tag(): string {
    return this.#tag;
  }

  /** Starts a new phase: zero counters and latencies, count only messages tagged `tag`. */
  restart(tag: string): void {
    this.#tag = tag;
    this.sent = this.acked = this.rejected = 0;
    this.expected =
      this.delivered =
      this.duplicates =
      this.lastDeliveryAt =
        0;
    this.latency = new LatencyRecorder();
    this.ackLatency = new LatencyRecorder();
  }

  /** Registers a receiver in a room; sends to the room owe it a delivery from now on. */
  addReceiver(room: string): Receiver {
    this.#receivers.set(room, (this.#receivers.get(room) ?? 0) + 1);
    return { room, last: -1 };
  }

  /** Records a send to a room tagged `tag`. */
  recordSend(room: string, tag: string): void {
    if (tag !== this.#tag) return;
    this.sent++;
    this.expected += this.#receivers.get(room) ?? 0;
  }

  /** Records the server's confirmation of a send made at `sentAt` tagged `tag`. */
  recordAck(tag: string, sentAt: number): void {
    if (tag !== this.#tag) return;
    this.acked++;
    this.ackLatency.add(now() - sentAt);
  }

  /** The first refusal's reason, for the notes. */
  firstRejection: string | undefined;

  /** Records the server's refusal of a send tagged `tag`, and why. */
  recordReject(tag: string, reason: string): void {
    if (tag !== this.#tag) return;
    this.rejected++;
    this.firstRejection ??= reason;
  }

  /**
   * Records one message arriving at a receiver at `at` (ms since the epoch), with what its text
   * says (`parseMessageText`).
   */
  deliver(receiver: Receiver, seq: number, stamp: MessageStamp | undefined, at: number): void {
    if (seq <= receiver.last) {
      this.duplicates++;
      return;
    }
    receiver.last = seq;
    if (stamp === undefined || stamp.tag !== this.#tag) return;
    this.delivered++;
    this.lastDeliveryAt = at;
    this.latency.add(at - stamp.sentAt);
  }
}
