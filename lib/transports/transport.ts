import type { Message } from "../types.ts";
import type { PresenceUpdate } from "./presence_update.ts";

/** The transports a client can use, in fallback order. */
export type TransportName = "ws" | "sse" | "poll";

/** Why a transport ended (see {@link TransportEvents.closed}). */
export interface ClosedReason {
  opened: boolean;
  fatal?: string;
  busy?: boolean;
  renew?: boolean;
}

/** What a transport reports to the connection that owns it. */
export interface TransportEvents {
  /**
   * The transport is live; `head` is the room's head, `epoch` its log's epoch, and `authorId`
   * the session's author id in the room (none without a session).
   */
  open(head: number, epoch: string, authorId?: string): void;
  /**
   * The cursor could not resume (trimmed history or another epoch): `messages` are the latest,
   * to replace what the client shows, and delivery continues after `head`.
   */
  resync(head: number, messages: Message[]): void;
  /** Messages after the cursor, in seq order (a transport may repeat some after a reconnect). */
  messages(messages: Message[]): void;
  /** The server stored the message with this client id. */
  ack(id: string, seq: number): void;
  /** The server refused the message with this client id for good. */
  rejected(id: string, code: string, message: string): void;
  /**
   * The server could not take the message now (rate limit, storage busy) or did not answer: send
   * it again later. `code` is the server's error code, when it gave one.
   */
  retryLater(id: string, afterMs: number, code?: string): void;
  /** Who is online and typing in the room now. */
  presence(presence: PresenceUpdate): void;
  /**
   * The transport ended; `fatal` is an error code when reconnecting cannot help, `busy` means
   * the server asked to try again later (no reason to fall back to another transport), `renew`
   * that the server ended it to be opened again at once (an event stream's age).
   */
  closed(reason: ClosedReason): void;
}

/** Where a transport connects: the server origin, the room, who is speaking and the cursor. */
export interface TransportTarget {
  baseUrl: URL;
  room: string;
  /** The session token, sent in an `Authorization` header where a request can carry one. */
  token?: string;
  /**
   * Put the token in WebSocket and event-stream URLs, which cannot carry headers: for clients
   * without the session cookie. URLs end up in proxies' access logs, so browsers that have the
   * cookie leave it out.
   */
  tokenInUrl?: boolean;
  /** Resume after this seq; undefined to start from the head. */
  after?: number;
  /** The epoch `after` was issued in. */
  epoch?: string;
  /**
   * The id of the message at `after`, sent when the transport opens: the server resyncs a
   * cursor whose seq a log restored from a backup has given to another message since.
   */
  last?: string;
}

/** A URL under the target's room (`/api/rooms/:room/<path>`), with the resume cursor if asked. */
export function roomUrl(
  target: TransportTarget,
  path: "ws" | "events" | "messages" | "typing",
  options: { cursor?: boolean } = {},
): URL {
  const url = new URL(`/api/rooms/${encodeURIComponent(target.room)}/${path}`, target.baseUrl);
  if (target.token && target.tokenInUrl && (path === "ws" || path === "events")) {
    url.searchParams.set("token", target.token);
  }
  if (options.cursor && target.after !== undefined) {
    url.searchParams.set("after", String(target.after));
    if (target.epoch !== undefined) url.searchParams.set("epoch", target.epoch);
    if (target.last !== undefined) url.searchParams.set("last", target.last);
  }
  return url;
}

/** One live connection over one transport. */
export interface Transport {
  /** Sends a message; the outcome arrives as `ack` or `rejected`, or never if the link drops. */
  send(message: { id: string; text: string }): void;
  /** Tells the room this client is typing. */
  typing(): void;
  /**
   * The link may have stopped carrying without closing: the tab is shown again (a laptop was
   * asleep), or a send went unanswered. A transport that can ask the server for a word (a
   * WebSocket's ping) does, and gives the link up without one; the others give it up if it has
   * been silent longer than one that carries ever is.
   */
  check?(): void;
  close(): void;
}

/** Opens a transport to a target, reporting to `events`. */
export type OpenTransport = (target: TransportTarget, events: TransportEvents) => Transport;

/** Refusals of a room or a cursor, after which reconnecting the same way cannot help. */
export const FATAL_CODES: ReadonlySet<string> = new Set([
  "room_not_found",
  "invalid_cursor",
  "invalid_epoch",
]);
