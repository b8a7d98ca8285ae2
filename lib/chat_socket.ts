import { ParleyError } from "./errors.ts";
import type { Delivery, Subscription } from "./hub.ts";
import type { Services } from "./services.ts";
import { MAX_BODY_BYTES } from "./body.ts";
import { rateLimited } from "./limits.ts";
import { readResyncMessages, type Resume } from "./resume.ts";
import type { Session } from "./session.ts";
import type { Room } from "./types.ts";
import { parseClientId, parseText } from "./validation.ts";

/** WebSocket close codes Parley uses beyond the standard ones; listed in docs/PROTOCOL.md. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
  policyViolation: 1008,
  tooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
  badRequest: 4400,
  roomNotFound: 4404,
  slowConsumer: 4008,
} as const;

/** A socket whose unsent output stays above this many bytes is closed as a slow consumer. */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
/** How long a socket may stay over {@link MAX_BUFFERED_BYTES} before it is closed. */
export const SLOW_CONSUMER_GRACE_MS = 1_000;
/** Consecutive malformed frames tolerated before the socket is closed with 1008. */
export const MAX_STRIKES = 10;

const encoder = new TextEncoder();

/** Whether a text frame is over the limit in UTF-8 bytes (a UTF-16 code unit is 1 to 3 bytes). */
function frameTooBig(text: string): boolean {
  if (text.length > MAX_BODY_BYTES) return true;
  return text.length * 3 > MAX_BODY_BYTES && encoder.encode(text).byteLength > MAX_BODY_BYTES;
}

/** Typing frames closer together than this are ignored. */
const TYPING_MIN_INTERVAL_MS = 1_000;

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
}

/**
 * Runs one chat WebSocket: welcome, backlog and live frames out; `send` frames in, each
 * answered with `ack` once durable or with an `error` frame.
 */
export function serveChatSocket(
  socket: WebSocket,
  services: Services,
  options: ChatSocketOptions,
): void {
  let subscription: Subscription | undefined;
  let strikes = 0;
  let lastTyping = 0;
  let leave: (() => Promise<void>) | undefined;
  const forget = services.connections.add(socket, "ws");
  const bucket = services.limits.connectionBucket();
  const { metrics, events } = services;
  // Only what the socket needs is kept: the room record and the options object can go.
  const { id: room, epoch } = options.room;
  const { session, ip, onClose } = options;
  const { after, resync } = options.resume;
  const opened = Date.now();
  events.write("connection_open", { transport: "ws", room, ip: ip });

  function reject(reason: string): void {
    metrics.rejected.inc(reason);
    events.write("rejected", { transport: "ws", room, ip: ip, reason });
  }

  function closeFor(code: number, reason: string, text: string): void {
    reject(reason);
    socket.close(code, text);
    // A peer that stopped reading may never finish the close handshake: let go of it now.
    release(code);
  }

  let released = false;
  function release(code: number): void {
    if (released) return;
    released = true;
    clearTimeout(overCap);
    events.write("connection_close", {
      transport: "ws",
      room,
      ip: ip,
      code,
      seconds: Math.round((Date.now() - opened) / 1000),
    });
    forget();
    onClose?.();
    subscription?.close();
    leave?.().then(() => services.hub.refreshPresence(room)).catch(() => {});
  }

  // A burst (a long backlog) may pass the cap for a moment; a consumer that stays over it is
  // too slow, and is closed rather than allowed to eat memory.
  let overCap: ReturnType<typeof setTimeout> | undefined;
  function send(frame: string): void {
    if (socket.readyState !== WebSocket.OPEN) return;
    socket.send(frame);
    if (socket.bufferedAmount <= MAX_BUFFERED_BYTES || overCap) return;
    overCap = setTimeout(() => {
      overCap = undefined;
      if (socket.readyState === WebSocket.OPEN && socket.bufferedAmount > MAX_BUFFERED_BYTES) {
        closeFor(CloseCode.slowConsumer, "slow_consumer", "slow consumer");
      }
    }, SLOW_CONSUMER_GRACE_MS);
  }

  function sendError(code: string, message: string, id?: unknown, retryAfterMs?: number): void {
    const frame = {
      type: "error",
      id: typeof id === "string" ? id : undefined,
      code,
      message,
      retryAfterMs,
    };
    send(JSON.stringify(frame));
  }

  function strike(code: string, message: string, id?: unknown, retryAfterMs?: number): void {
    reject(code);
    sendError(code, message, id, retryAfterMs);
    if (++strikes >= MAX_STRIKES) {
      socket.close(CloseCode.policyViolation, "too many malformed frames");
    }
  }

  async function handleSend(frame: Record<string, unknown>): Promise<void> {
    let input;
    try {
      if (session === undefined) {
        throw new ParleyError(401, "session_required", "Pick a display name to send messages");
      }
      const author = session.name;
      input = { id: parseClientId(frame.id), author, text: parseText(frame.text) };
      const wait = Math.max(bucket?.take() ?? 0, services.limits.message(ip));
      if (wait > 0) throw rateLimited("messages", wait);
    } catch (error) {
      if (!(error instanceof ParleyError)) throw error;
      return strike(error.code, error.message, frame.id, error.options.retryAfterMs);
    }
    strikes = 0;
    try {
      const { message } = await services.log.append(room, input);
      send(JSON.stringify({ type: "ack", id: message.id, seq: message.seq }));
    } catch (error) {
      const failure = error instanceof ParleyError
        ? error
        : new ParleyError(500, "internal_error", "The message could not be stored");
      sendError(failure.code, failure.message, input.id);
    }
  }

  async function welcome(head: number): Promise<void> {
    send(JSON.stringify({ type: "welcome", room, head, epoch }));
    if (!resync) return;
    const messages = await readResyncMessages(services.log, room, head);
    send(JSON.stringify({ type: "resync", room, epoch, head, messages }));
  }

  function typing(): void {
    const now = Date.now();
    if (!session || now - lastTyping < TYPING_MIN_INTERVAL_MS) return;
    lastTyping = now;
    services.presence.typing(room, session)
      .then(() => services.hub.refreshPresence(room))
      .catch(() => {});
  }

  socket.onopen = async () => {
    if (session) {
      leave = services.presence.join(room, session, crypto.randomUUID());
    }
    try {
      const deliver = (delivery: Delivery) => {
        metrics.deliveries.inc("ws", delivery.messages.length);
        send(delivery.frame);
      };
      subscription = await services.hub.subscribe(room, deliver, {
        after: after,
        onStart: welcome,
        onPresence: ({ online, typing }) =>
          send(JSON.stringify({ type: "presence", online, typing })),
      });
      if (session) services.hub.refreshPresence(room).catch(() => {});
    } catch (error) {
      const code = error instanceof ParleyError ? error.code : "internal_error";
      if (code === "shutting_down") {
        return socket.close(CloseCode.goingAway, "server shutting down");
      }
      if (code !== "room_not_found") console.error(`Cannot subscribe to room "${room}":`, error);
      socket.close(
        code === "room_not_found" ? CloseCode.roomNotFound : CloseCode.internalError,
        code === "room_not_found" ? "room_not_found" : "internal_error",
      );
      return;
    }
    if (socket.readyState !== WebSocket.OPEN) subscription.close();
  };

  socket.onmessage = (event: MessageEvent) => {
    if (typeof event.data !== "string") {
      closeFor(CloseCode.unsupportedData, "binary_frame", "binary frames are not supported");
      return;
    }
    if (frameTooBig(event.data)) {
      closeFor(CloseCode.tooBig, "frame_too_large", "frame too large");
      return;
    }
    let frame: unknown;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return strike("invalid_json", "The frame is not valid JSON");
    }
    if (typeof frame !== "object" || frame === null || Array.isArray(frame)) {
      return strike("invalid_frame", "A frame must be a JSON object");
    }
    const fields = frame as Record<string, unknown>;
    if (fields.type === "typing") return typing();
    if (fields.type !== "send") {
      return strike(
        "invalid_frame",
        `Unknown frame type ${JSON.stringify(fields.type)}`,
        fields.id,
      );
    }
    handleSend(fields).catch((error) => {
      console.error("A send frame failed unexpectedly:", error);
    });
  };

  socket.onclose = (event) => release(event.code);
  socket.onerror = () => {};
}
