import { ParleyError } from "./errors.ts";
import type { Delivery, Subscription } from "./hub.ts";
import { endTypingSpell, type Services } from "./services.ts";
import { MAX_BODY_BYTES } from "./body.ts";
import { rateLimited } from "./limits.ts";
import type { PresenceJoin } from "./presence.ts";
import { readResyncMessages, type Resume } from "./resume.ts";
import type { Session, Speaker } from "./session.ts";
import type { Room } from "./types.ts";
import { roomToWrite } from "./room_to_write.ts";
import { type AttachListener, listenTo } from "./socket_events.ts";
import { parseSend } from "./validation.ts";

/** WebSocket close codes Parley uses beyond the standard ones; listed in docs/PROTOCOL.md. */
export const CloseCode = {
  goingAway: 1001,
  unsupportedData: 1003,
  /** Never sent: recorded for a socket that ended without a close frame. */
  abnormal: 1006,
  policyViolation: 1008,
  tooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
  badRequest: 4400,
  roomNotFound: 4404,
  /** Retention passed the socket's cursor while it was being served: reconnect to be resynced. */
  historyTrimmed: 4409,
  slowConsumer: 4008,
} as const;

/** A socket whose unsent output stays above this many bytes is closed as a slow consumer. */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
/** How long a socket may stay over {@link MAX_BUFFERED_BYTES} before it is closed. */
export const SLOW_CONSUMER_GRACE_MS = 1_000;
/** Consecutive refused frames (malformed, or sends refused) tolerated before a 1008 close. */
export const MAX_STRIKES = 10;

const encoder = new TextEncoder();

/** Whether a text frame is over the limit in UTF-8 bytes (a UTF-16 code unit is 1 to 3 bytes). */
function frameTooBig(text: string): boolean {
  if (text.length > MAX_BODY_BYTES) return true;
  return text.length * 3 > MAX_BODY_BYTES && encoder.encode(text).byteLength > MAX_BODY_BYTES;
}

/**
 * How long a socket may stay unopened after its upgrade was answered. Deno neither opens nor
 * closes the socket of a client that hung up before an answer that came late (the route answers
 * at once, so none should), and without this such a socket would hold its connection slot for
 * good.
 */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Typing frames closer together than this are ignored. */
const TYPING_MIN_INTERVAL_MS = 1_000;
/** A socket's pings are answered at most this often. */
const PONG_MIN_INTERVAL_MS = 1_000;

/** Who is on the socket and where they resume from. */
export interface ChatSocketOptions {
  room: Room;
  /** Who is speaking (sends are stamped with its name); undefined for a read-only socket. */
  session?: Session;
  resume: Resume;
  /** The client's IP, for its rate limit. */
  ip: string;
  /** Called once the socket has closed (to release its connection slot). */
  onClose?: () => void;
  /** How long the socket may take to open; default {@link HANDSHAKE_TIMEOUT_MS}. */
  handshakeTimeoutMs?: number;
}

/**
 * Runs one chat WebSocket: welcome, backlog and live frames out; `send` frames in, each
 * answered with `ack` once durable or with an `error` frame. `attach` gives it the socket's
 * events (by default from now on; `holdEvents` also those it held until now).
 */
export function serveChatSocket(
  socket: WebSocket,
  services: Services,
  options: ChatSocketOptions,
  attach: AttachListener = listenTo(socket),
): void {
  attach(new ChatSocket(socket, services, options));
}

/**
 * One socket's state, with its behaviour on the prototype: an idle server holds thousands of
 * these, so each keeps only the fields it needs and no closures of its own.
 */
class ChatSocket implements EventListenerObject {
  #socket: WebSocket;
  #services: Services;
  #room: string;
  #epoch: string;
  #session: Session | undefined;
  /** The session's name and author id in the room, made on the first send. */
  #speaker: Speaker | undefined;
  #ip: string;
  #onClose: (() => void) | undefined;
  #after: number | undefined;
  #resync: boolean;
  #forget: () => void;
  #bucket: ReturnType<Services["limits"]["connectionBucket"]>;
  #opened = Date.now();
  #subscription: Subscription | undefined;
  #strikes = 0;
  /** The code this server closed the socket with, if it closed it. */
  #closedWith: number | undefined;
  /** Struck out: frames are no longer read, and the socket closes once its appends are answered. */
  #struckOut = false;
  /** Appends this socket sent that are not stored (or refused) yet. */
  #appending = new Set<Promise<unknown>>();
  /** When the last `rate_limited` answer said this socket could send again (performance.now()). */
  #mayRetryAt = 0;
  #lastTyping = 0;
  #lastPong = -Infinity;
  #joined: PresenceJoin | undefined;
  #stopped = false;
  #released = false;
  #handshake: ReturnType<typeof setTimeout>;
  // A burst (a long backlog) may pass the cap for a moment; a consumer that stays over it is
  // too slow, and is closed rather than allowed to eat memory.
  #overCap: ReturnType<typeof setTimeout> | undefined;

  constructor(socket: WebSocket, services: Services, options: ChatSocketOptions) {
    this.#socket = socket;
    this.#services = services;
    // Only what the socket needs is kept: the room record and the options object can go.
    this.#room = options.room.id;
    this.#epoch = options.room.epoch;
    this.#session = options.session;
    this.#ip = options.ip;
    this.#onClose = options.onClose;
    this.#after = options.resume.after;
    this.#resync = options.resume.resync;
    this.#forget = services.connections.add(this, "ws");
    this.#bucket = services.limits.connectionBucket();
    services.events.write("connection_open", { transport: "ws", room: this.#room, ip: this.#ip });
    this.#handshake = setTimeout(
      () => this.#abandon(),
      options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
    );
  }

  /** Dispatches the socket's events. */
  handleEvent(event: Event): void {
    switch (event.type) {
      case "open":
        clearTimeout(this.#handshake);
        if (this.#released) return this.close(CloseCode.goingAway, "handshake timed out");
        this.#open();
        return;
      case "message":
        return this.#message(event as MessageEvent);
      case "close": {
        // Deno reports a connection that ended without a close frame as 0; RFC 6455 says 1006.
        const { code } = event as CloseEvent;
        return this.#release(code === 0 ? CloseCode.abnormal : code);
      }
    }
  }

  #reject(reason: string): void {
    this.#services.metrics.rejected.inc(reason);
    this.#services.events.write("rejected", {
      transport: "ws",
      room: this.#room,
      ip: this.#ip,
      reason,
    });
  }

  /** Lets go of a socket that never opened (see {@link HANDSHAKE_TIMEOUT_MS}). */
  #abandon(): void {
    if (this.#socket.readyState !== WebSocket.CONNECTING) return;
    this.#reject("handshake_timeout");
    this.#socket.close();
    this.#release(CloseCode.abnormal);
  }

  #closeFor(code: number, reason: string, text: string): void {
    this.#reject(reason);
    this.close(code, text);
    // A peer that stopped reading may never finish the close handshake. The socket stops being
    // served now, and keeps its connection slot until its connection ends: a client that
    // abandons socket after socket would otherwise pile up what each still has queued.
    this.#stop();
  }

  /** Retention deleted messages this socket was yet to send: its client must resync. */
  #closeForTrimmedHistory(): void {
    this.#closeFor(CloseCode.historyTrimmed, "history_trimmed", "history_trimmed");
  }

  /** Stops serving the socket: no more deliveries, and its session leaves the room. */
  #stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#overCap);
    clearTimeout(this.#handshake);
    this.#subscription?.close();
    const room = this.#room;
    this.#joined?.leave().then(() => this.#services.hub.refreshPresence(room)).catch(() => {});
  }

  /** The socket served. */
  get socket(): WebSocket {
    return this.#socket;
  }

  /**
   * Closes the socket with `code`, which its `connection_close` line then gives (the client's
   * answer may carry another code, or none).
   */
  close(code: number, reason: string): void {
    this.#closedWith ??= code;
    this.#socket.close(code, reason);
  }

  /** The connection has ended: the socket gives up its connection slot. */
  #release(code: number): void {
    if (this.#released) return;
    this.#released = true;
    this.#stop();
    this.#services.events.write("connection_close", {
      transport: "ws",
      room: this.#room,
      ip: this.#ip,
      code: this.#closedWith ?? code,
      seconds: Math.round((Date.now() - this.#opened) / 1000),
    });
    this.#forget();
    this.#onClose?.();
  }

  /** Whether the socket's unsent output is within {@link MAX_BUFFERED_BYTES}. */
  #hasRoom(): boolean {
    return this.#socket.bufferedAmount <= MAX_BUFFERED_BYTES;
  }

  #send(frame: string): void {
    const socket = this.#socket;
    if (socket.readyState !== WebSocket.OPEN) return;
    socket.send(frame);
    if (this.#hasRoom() || this.#overCap) return;
    this.#overCap = setTimeout(() => {
      this.#overCap = undefined;
      if (socket.readyState === WebSocket.OPEN && !this.#hasRoom()) {
        this.#closeFor(CloseCode.slowConsumer, "slow_consumer", "slow consumer");
      }
    }, SLOW_CONSUMER_GRACE_MS);
  }

  #sendError(code: string, message: string, id?: unknown, retryAfterMs?: number): void {
    const frame = {
      type: "error",
      id: typeof id === "string" ? id : undefined,
      code,
      message,
      retryAfterMs,
    };
    this.#send(JSON.stringify(frame));
  }

  #strike(code: string, message: string, id?: unknown, retryAfterMs?: number): void {
    this.#reject(code);
    this.#sendError(code, message, id, retryAfterMs);
    if (code === "rate_limited") {
      // A send that waited as it was told is no strike, even when refused again: behind one
      // address (an office, a school) several people share the address's rate.
      const now = performance.now();
      const waited = now >= this.#mayRetryAt;
      this.#mayRetryAt = now + (retryAfterMs ?? 0);
      if (waited) return;
    }
    if (++this.#strikes < MAX_STRIKES) return;
    // The sends it made before are still answered: a client that sent them at once learns
    // which were stored, by their acks, before the close.
    this.#struckOut = true;
    Promise.allSettled(this.#appending).then(() =>
      this.close(CloseCode.policyViolation, "too many refused frames")
    );
  }

  async #handleSend(frame: Record<string, unknown>): Promise<void> {
    const services = this.#services;
    let input;
    try {
      const session = this.#session;
      if (session === undefined) {
        throw new ParleyError(401, "session_required", "Pick a display name to send messages");
      }
      input = parseSend(frame, this.#speaker ??= services.sessions.speaker(session, this.#room));
      // Sending ends the spell of typing, whether the message is taken now or after a wait.
      this.#stoppedTyping(session);
      const wait = Math.max(this.#bucket?.take() ?? 0, services.limits.message(this.#ip));
      if (wait > 0) throw rateLimited("messages", wait);
    } catch (error) {
      if (!(error instanceof ParleyError)) {
        // A bug, not the client's doing: it still hears back, and may send again.
        console.error("A send frame failed unexpectedly:", error);
        return this.#sendError("internal_error", "The message could not be stored", frame.id);
      }
      return this.#strike(error.code, error.message, frame.id, error.options.retryAfterMs);
    }
    this.#strikes = 0;
    const appended = services.log.append(this.#room, input);
    this.#appending.add(appended);
    try {
      const { message } = await appended;
      this.#send(JSON.stringify({ type: "ack", id: message.id, seq: message.seq }));
    } catch (error) {
      const failure = error instanceof ParleyError
        ? error
        : new ParleyError(500, "internal_error", "The message could not be stored");
      // Counted and logged as a refused POST is: a full disk must show in the metrics.
      this.#reject(failure.code);
      this.#sendError(failure.code, failure.message, input.id);
    } finally {
      this.#appending.delete(appended);
    }
  }

  async #welcome(head: number): Promise<void> {
    const room = this.#room;
    const epoch = this.#epoch;
    // The session's author id in the room: its sender knows its own messages' colour at once.
    const session = this.#session;
    const authorId = session &&
      (this.#speaker ??= this.#services.sessions.speaker(session, room)).authorId;
    this.#send(JSON.stringify({ type: "welcome", room, head, epoch, authorId }));
    if (!this.#resync) return;
    const messages = await readResyncMessages(this.#services.log, room, head);
    this.#send(JSON.stringify({ type: "resync", room, epoch, head, messages }));
  }

  #typing(): void {
    const now = Date.now();
    const session = this.#session;
    if (!session || now - this.#lastTyping < TYPING_MIN_INTERVAL_MS) return;
    this.#lastTyping = now;
    const room = this.#room;
    this.#services.presence.typing(room, session)
      .then(() => this.#services.hub.refreshPresence(room))
      .catch(() => {});
  }

  /**
   * Answers a client that heard nothing for a while and asks whether the connection still
   * carries: at most once a second, so a flood of pings costs nothing but reading them.
   */
  #pong(): void {
    const now = performance.now();
    if (now - this.#lastPong < PONG_MIN_INTERVAL_MS) return;
    this.#lastPong = now;
    this.#send('{"type":"pong"}');
  }

  /**
   * Ends the sender's spell of typing, so its next keystroke shows at once: also one its session
   * began over another socket of this worker (the page's socket before a rename, another tab), which
   * no message over that socket will end. `stoppedTyping` costs nothing when this worker wrote none.
   */
  #stoppedTyping(session: Session): void {
    this.#lastTyping = 0;
    endTypingSpell(this.#services, this.#room, session);
  }

  async #open(): Promise<void> {
    const { hub, metrics, presence } = this.#services;
    const room = this.#room;
    if (this.#session) this.#joined = presence.join(room, this.#session, crypto.randomUUID());
    let subscription: Subscription;
    try {
      subscription = this.#subscription = await hub.subscribe(room, (delivery: Delivery) => {
        metrics.deliveries.inc("ws", delivery.messages.length);
        this.#send(delivery.frame);
      }, {
        after: this.#after,
        onStart: (head) => this.#welcome(head),
        onPresence: (presence) => this.#send(JSON.stringify({ type: "presence", ...presence })),
        joined: this.#joined?.written,
        onGap: () => this.#closeForTrimmedHistory(),
        backlogRoom: () =>
          roomToWrite(() => this.#hasRoom(), () => this.#socket.readyState !== WebSocket.OPEN),
      });
    } catch (error) {
      const code = error instanceof ParleyError ? error.code : "internal_error";
      if (code === "shutting_down") {
        return this.close(CloseCode.goingAway, "server shutting down");
      }
      if (code === "history_trimmed") return this.#closeForTrimmedHistory();
      if (code !== "room_not_found") console.error(`Cannot subscribe to room "${room}":`, error);
      this.close(
        code === "room_not_found" ? CloseCode.roomNotFound : CloseCode.internalError,
        code === "room_not_found" ? "room_not_found" : "internal_error",
      );
      return;
    }
    if (this.#socket.readyState !== WebSocket.OPEN) subscription.close();
  }

  #message(event: MessageEvent): void {
    if (this.#struckOut) return;
    if (typeof event.data !== "string") {
      this.#closeFor(CloseCode.unsupportedData, "binary_frame", "binary frames are not supported");
      return;
    }
    if (frameTooBig(event.data)) {
      this.#closeFor(CloseCode.tooBig, "frame_too_large", "frame too large");
      return;
    }
    let frame: unknown;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return this.#strike("invalid_json", "The frame is not valid JSON");
    }
    if (typeof frame !== "object" || frame === null || Array.isArray(frame)) {
      return this.#strike("invalid_frame", "A frame must be a JSON object");
    }
    const fields = frame as Record<string, unknown>;
    if (fields.type === "typing") return this.#typing();
    if (fields.type === "ping") return this.#pong();
    if (fields.type !== "send") {
      const message = fields.type === undefined
        ? 'A frame needs a type: "send", "typing" or "ping"'
        : `Unknown frame type ${JSON.stringify(fields.type)}`;
      return this.#strike("invalid_frame", message, fields.id);
    }
    this.#handleSend(fields).catch((error) => {
      console.error("A send frame failed unexpectedly:", error);
    });
  }
}
