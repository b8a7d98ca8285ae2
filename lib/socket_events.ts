/**
 * Handing a server-side WebSocket's events to its listener: at once, or after holding them while
 * the server decides what the socket is for.
 *
 * @module
 */

/** The events a served WebSocket's listener handles. */
const SOCKET_EVENTS = ["open", "message", "close", "error"] as const;

/** Gives a socket's events to a listener (see {@link listenTo} and {@link holdEvents}). */
export type AttachListener = (listener: EventListenerObject) => void;

/** Gives `socket`'s events from now on to the listener it is given. */
export function listenTo(socket: WebSocket): AttachListener {
  return (listener) => {
    for (const type of SOCKET_EVENTS) socket.addEventListener(type, listener);
  };
}

/**
 * Holds `socket`'s events until a listener is attached, then gives it those, in order, and every
 * one after. The WebSocket route answers an upgrade before it reads the room (Deno keeps the
 * connection of an upgrade answered after an `await` once its client has hung up), so the socket
 * may open, take frames and even close before the route knows what to do with it.
 */
export function holdEvents(socket: WebSocket): AttachListener {
  const held: Event[] = [];
  const hold: EventListenerObject = { handleEvent: (event) => void held.push(event) };
  listenTo(socket)(hold);
  return (listener) => {
    for (const type of SOCKET_EVENTS) socket.removeEventListener(type, hold);
    listenTo(socket)(listener);
    for (const event of held.splice(0)) listener.handleEvent(event);
  };
}
