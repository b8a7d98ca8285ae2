import assert from "node:assert/strict";
import { appendShapes } from "./append.ts";

const options = { appendSenders: 500, appendRooms: 500, appendWindow: 8 };

Deno.test("appendShapes - over WebSocket the many rooms run again with the window in flight", () => {
  assert.deepEqual(appendShapes(options, "ws"), [
    { target: "hot room", rooms: 1, sendersPerRoom: 500, via: "ws", window: 1 },
    { target: "many rooms", rooms: 500, sendersPerRoom: 1, via: "ws", window: 1 },
    { target: "many rooms", rooms: 500, sendersPerRoom: 1, via: "ws", window: 8 },
  ]);
});

Deno.test("appendShapes - POST and a window of 1 keep one message in flight", () => {
  const oneInFlight = [
    { target: "hot room", rooms: 1, sendersPerRoom: 500, window: 1 },
    { target: "many rooms", rooms: 500, sendersPerRoom: 1, window: 1 },
  ];
  assert.deepEqual(
    appendShapes(options, "post"),
    oneInFlight.map((shape) => ({ ...shape, via: "post" })),
  );
  assert.deepEqual(
    appendShapes({ ...options, appendWindow: 1 }, "ws"),
    oneInFlight.map((shape) => ({ ...shape, via: "ws" })),
  );
});
