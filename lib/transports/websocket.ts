import type { Message } from "../types.ts";
import { Liveness, SILENCE } from "./liveness.ts";
import type { PresenceUpdate } from "./presence_update.ts";
import { type OpenTransport, roomUrl } from "./transport.ts";

/** Close codes after which reconnecting cannot help; the close reason is the error code. */
const FATAL_CLOSES = new Set([4400, 4404]);
/** The standard close code for "the server is busy, come back later" (a connection cap). */
const TRY_AGAIN_LATER = 1013;
/** Error codes after which the same message may succeed later. */
const RETRY_LATER = new Set([
  "rate_limited",
  "storage_busy",
  "storage_unavailable",
  "internal_error",
]);

type ServerFrame =
  | { type: "welcome"; head: number; epoch: string; authorId?: string }
  | { type: "resync"; head: number; messages: Message[] }
  | { type: "messages"; messages: Message[] }
  | { type: "ack"; id: string; seq: number }
  | { type: "presence" } & PresenceUpdate
  | { type: "error"; id?: string; code: string; message: string; retryAfterMs?: number }
  | { type: "pong" };

/** The WebSocket transport: one socket carries both directions. */
export const openWebSocket: OpenTransport = (target, events) => {
  const url = roomUrl(target, "ws", { cursor: true });
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(url);
  let opened = false;
  let closed = false;
  const liveness = new Liveness({
    askAfterMs: SILENCE.pingAfterMs,
    answerMs: SILENCE.pongWithinMs,
    ask: () => {
      if (socket.readyState !== WebSocket.OPEN) return false;
      socket.send('{"type":"ping"}');
      return true;
    },
    // Its close would wait on the dead link: the socket is reported closed now.
    onDead: () => {
      if (closed) return;
      closed = true;
      socket.close();
      events.closed({ opened });
    },
  });

  socket.onmessage = (event) => {
    liveness.heard();
    const frame = JSON.parse(event.data) as ServerFrame;
    switch (frame.type) {
      case "welcome":
        opened = true;
        events.open(frame.head, frame.epoch, frame.authorId);
        break;
      case "resync":
        events.resync(frame.head, frame.messages);
        break;
      case "messages":
        events.messages(frame.messages);
        break;
      case "ack":
        events.ack(frame.id, frame.seq);
        break;
      case "presence":
        events.presence({
          online: frame.online,
          onlineAuthorIds: frame.onlineAuthorIds,
          typing: frame.typing,
          typingAuthorIds: frame.typingAuthorIds,
        });
        break;
      case "error":
        if (frame.id === undefined) break;
        if (RETRY_LATER.has(frame.code)) {
          events.retryLater(frame.id, frame.retryAfterMs ?? 1000, frame.code);
        } else events.rejected(frame.id, frame.code, frame.message);
        break;
    }
  };
  socket.onclose = (event) => {
    liveness.stop();
    if (closed) return;
    closed = true;
    events.closed({
      opened,
      fatal: FATAL_CLOSES.has(event.code) ? event.reason : undefined,
      busy: event.code === TRY_AGAIN_LATER,
    });
  };

  return {
    send(message) {
      if (socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ type: "send", ...message }));
      }
    },
    typing() {
      if (socket.readyState === WebSocket.OPEN) socket.send('{"type":"typing"}');
    },
    check() {
      liveness.suspect();
    },
    close() {
      closed = true;
      liveness.stop();
      socket.close(1000);
    },
  };
};
