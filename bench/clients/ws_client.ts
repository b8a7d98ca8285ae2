import { type MessageStamp, now, parseMessageText } from "../message_text.ts";
import type { Receiver, Tally } from "../tally.ts";
import { FrameCache } from "./frame_cache.ts";
import type { InFlight, Sender } from "./sender.ts";

/** A chat message as delivered in a `messages` frame. */
interface WireMessage {
  seq: number;
  id: string;
  text: string;
}

type Frame =
  | { type: "welcome"; head: number }
  | { type: "ack"; id: string; seq: number }
  | { type: "error"; id?: string; code: string; message?: string };

/** How every `messages` frame begins, on Parley and on the ceiling. */
export const MESSAGES_FRAME = '{"type":"messages",';

/** The messages of a `messages` frame, each with what its text says. */
const messageFrames = new FrameCache((data: string) =>
  (JSON.parse(data) as { messages: WireMessage[] }).messages.map((
    { seq, text },
  ): [number, MessageStamp | undefined] => [seq, parseMessageText(text)])
);

/** Where a {@link WsClient} connects and what it reports to. */
export interface WsClientOptions {
  /** The server's `ws://host:port` origin. */
  origin: string;
  room: string;
  /** The display name (sent as `?name=` for servers without sessions). */
  name: string;
  /** The session token (from {@link sessionToken}) sends need on Parley. */
  token?: string;
  tally: Tally;
  /** Called after each ack or error for a send, e.g. to send the next one (closed loop). */
  onSettled?: () => void;
}

/**
 * A benchmark client on the chat WebSocket (`/api/rooms/:room/ws`), speaking the frames
 * Parley and the ceiling server share: `welcome`, `messages`, `send` → `ack`/`error`.
 */
export class WsClient implements Sender {
  /** The room this client is in. */
  readonly room: string;
  /** Resolves with the head once the `welcome` frame arrives; rejects if the socket closes first. */
  readonly ready: Promise<number>;
  #socket: WebSocket;
  #receiver: Receiver;
  #inFlight = new Map<string, InFlight>();
  #options: WsClientOptions;
  #closed: Promise<void>;
  /** Whether {@link close} was called: the sends still in flight then are simply left. */
  #closing = false;

  /** @param options see {@link WsClientOptions} */
  constructor(options: WsClientOptions) {
    this.room = options.room;
    this.#options = options;
    this.#receiver = options.tally.addReceiver(options.room);
    const url = new URL(`/api/rooms/${options.room}/ws`, options.origin);
    url.searchParams.set("name", options.name);
    if (options.token) url.searchParams.set("token", options.token);
    this.#socket = new WebSocket(url);
    const welcome = Promise.withResolvers<number>();
    const closed = Promise.withResolvers<void>();
    this.ready = welcome.promise;
    this.#closed = closed.promise;
    this.#socket.onmessage = (event) => {
      const data = event.data as string;
      if (data.startsWith(MESSAGES_FRAME)) {
        const at = now();
        for (const [seq, stamp] of messageFrames.get(data)) {
          this.#options.tally.deliver(this.#receiver, seq, stamp, at);
        }
        return;
      }
      const frame = JSON.parse(data) as Frame;
      if (frame.type === "ack" || (frame.type === "error" && frame.id !== undefined)) {
        this.#settle(frame.id ?? "", frame.type === "ack" ? undefined : frame.code);
      } else if (frame.type === "welcome") {
        welcome.resolve(frame.head);
      }
    };
    this.#socket.onclose = (event) => {
      welcome.reject(new Error(`WebSocket closed before welcome: ${event.code} ${event.reason}`));
      // Closed by the server or the network: what is in flight will never be answered.
      if (!this.#closing) this.#abandon(`ws closed ${event.code} ${event.reason}`.trim());
      closed.resolve();
    };
    this.#socket.onerror = () => {};
    this.ready.catch(() => {});
  }

  /** Sends a `send` frame, if the socket is open. */
  send(id: string, text: string, tag: string): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    this.#inFlight.set(id, { tag, sentAt: now() });
    this.#socket.send(JSON.stringify({ type: "send", id, text }));
  }

  /** Sends not yet acknowledged. */
  get pending(): number {
    return this.#inFlight.size;
  }

  /** Closes the socket and waits until it is closed. */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.#socket.readyState <= WebSocket.OPEN) this.#socket.close(1000);
    await this.#closed;
  }

  /** Counts every send in flight as refused; nothing more can be sent on this socket. */
  #abandon(reason: string): void {
    for (const { tag } of this.#inFlight.values()) this.#options.tally.recordReject(tag, reason);
    this.#inFlight.clear();
  }

  #settle(id: string, error: string | undefined): void {
    const sent = this.#inFlight.get(id);
    if (sent === undefined) return;
    this.#inFlight.delete(id);
    if (error === undefined) this.#options.tally.recordAck(sent.tag, sent.sentAt);
    else this.#options.tally.recordReject(sent.tag, `ws error ${error}`);
    this.#options.onSettled?.();
  }
}
