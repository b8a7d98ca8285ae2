import assert from "node:assert/strict";
import { holdEvents, listenTo, MAX_HELD_BYTES } from "./socket_events.ts";

/** An event target standing in for a server-side WebSocket, and the event types it got. */
function fakeSocket(): { socket: WebSocket; seen: string[]; listener: EventListenerObject } {
  const seen: string[] = [];
  const listener = {
    handleEvent: (event: Event) =>
      void seen.push(event instanceof MessageEvent ? `message ${event.data}` : event.type),
  };
  return { socket: new EventTarget() as WebSocket, seen, listener };
}

Deno.test("holdEvents - gives the listener what happened before it came, in order, then the rest", () => {
  const { socket, seen, listener } = fakeSocket();
  const attach = holdEvents(socket);
  socket.dispatchEvent(new Event("open"));
  socket.dispatchEvent(new MessageEvent("message", { data: "first" }));
  assert.deepEqual(seen, []);
  attach(listener);
  assert.deepEqual(seen, ["open", "message first"]);
  socket.dispatchEvent(new MessageEvent("message", { data: "second" }));
  socket.dispatchEvent(new Event("close"));
  assert.deepEqual(seen, ["open", "message first", "message second", "close"]);
});

Deno.test("listenTo - gives the listener the socket's events from then on", () => {
  const { socket, seen, listener } = fakeSocket();
  socket.dispatchEvent(new Event("open"));
  listenTo(socket)(listener);
  socket.dispatchEvent(new Event("error"));
  socket.dispatchEvent(new Event("close"));
  assert.deepEqual(seen, ["error", "close"]);
});

Deno.test("holdEvents - closes a socket that sends too much before its listener comes, and drops the rest", () => {
  const { socket, seen, listener } = fakeSocket();
  const closes: number[] = [];
  socket.close = (code?: number) => void closes.push(code ?? 0);
  const attach = holdEvents(socket);
  const frame = "x".repeat(MAX_HELD_BYTES / 4);
  for (let i = 0; i < 6; i++) socket.dispatchEvent(new MessageEvent("message", { data: frame }));
  assert.deepEqual(closes, [1008]);
  attach(listener);
  assert.equal(seen.length, 4);
});
