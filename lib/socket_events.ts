/**
 * Handing a server-side WebSocket's events to its listener: at once, or after holding them while
 * the server decides what the socket is for.
 *
 * @module
 */

/** The events a served WebSocket's listener handles. */
const SOCKET_EVENTS = ["open", "message", "close", "error"] as const;

/**
 * The most frame data {@link holdEvents} keeps, in UTF-16 code units or bytes: a client that
 * waits for its welcome sends nothing, and one that does not has no need for more.
 */
export const MAX_HELD_BYTES = 1024 * 1024;
/** The most frames {@link holdEvents} keeps. */
export const MAX_HELD_FRAMES = 256;
/** The close code of a socket that sent more than {@link holdEvents} keeps (policy violation). */
const HELD_TOO_MUCH = 1008;

/** Gives a socket's events to a listener (see {@link listenTo} and {@link holdEvents}). */
export type AttachListener = (listener: EventListenerObject) => void;

/** Gives `socket`'s events from now on to the listener it is given. */
export function listenTo(socket: WebSocket): AttachListener {
  return (listener) => {
    for (const type of SOCKET_EVENTS) socket.addEventListener(type, listener);
  };
}

/** The size of a frame's data, in UTF-16 code units for text and bytes for binary. */
function frameSize(data: unknown): number {
  if (typeof data === "string") return data.length;
  if (data instanceof Blob) return data.size;
  return (data as ArrayBuffer | undefined)?.byteLength ?? 0;
}

/**
 * Holds `socket`'s events until a listener is attached, then gives it those, in order, and every
 * one after. The WebSocket route answers an upgrade before it reads the room (Deno keeps the
 * connection of an upgrade answered after an `await` once its client has hung up), so the socket
 * may open, take frames and even close before the route knows what to do with it. A client that
 * sends more than {@link MAX_HELD_FRAMES} frames or {@link MAX_HELD_BYTES} meanwhile is closed
 * with 1008, and its frames past those are dropped. Like Deno, the listener gets no held frame
 * once it has closed the socket itself.
 */
export function holdEvents(socket: WebSocket): AttachListener {
  const held: Event[] = [];
  let frames = 0;
  let bytes = 0;
  let overflowed = false;
  const hold: EventListenerObject = {
    handleEvent(event) {
      if (event.type === "message") {
        if (overflowed) return;
        bytes += frameSize((event as MessageEvent).data);
        if (++frames > MAX_HELD_FRAMES || bytes > MAX_HELD_BYTES) {
          overflowed = true;
          socket.close(HELD_TOO_MUCH, "too much sent before the welcome");
          return;
        }
      }
      held.push(event);
    },
  };
  listenTo(socket)(hold);
  return (listener) => {
    for (const type of SOCKET_EVENTS) socket.removeEventListener(type, hold);
    listenTo(socket)(listener);
    const open = socket.readyState === WebSocket.OPEN;
    for (const event of held.splice(0)) {
      if (event.type === "message" && open && socket.readyState !== WebSocket.OPEN) continue;
      listener.handleEvent(event);
    }
  };
}
