import type { Message } from "../types.ts";

/** The transports a client can use, in fallback order. */
export type TransportName = "ws" | "sse" | "poll";

/** What a transport reports to the connection that owns it. */
export interface TransportEvents {
  /** The transport is live; `head` is the room's head as the server saw it. */
  open(head: number): void;
  /** Messages after the cursor, in seq order (a transport may repeat some after a reconnect). */
  messages(messages: Message[]): void;
  /** The server stored the message with this client id. */
  ack(id: string, seq: number): void;
  /** The server refused the message with this client id for good. */
  rejected(id: string, code: string, message: string): void;
  /** The transport ended; `fatal` is an error code when reconnecting cannot help. */
  closed(reason: { opened: boolean; fatal?: string }): void;
}

/** Where a transport connects: the server origin, the room, who is speaking and the cursor. */
export interface TransportTarget {
  baseUrl: URL;
  room: string;
  name: string;
  /** Resume after this seq; undefined to start from the head. */
  after?: number;
}

/** One live connection over one transport. */
export interface Transport {
  /** Sends a message; the outcome arrives as `ack` or `rejected`, or never if the link drops. */
  send(message: { id: string; text: string }): void;
  close(): void;
}

/** Opens a transport to a target, reporting to `events`. */
export type OpenTransport = (target: TransportTarget, events: TransportEvents) => Transport;
