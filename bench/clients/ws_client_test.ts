import assert from "node:assert/strict";
import { toDeliveries } from "../../lib/delivery.ts";
import { MESSAGES_FRAME } from "./ws_client.ts";

Deno.test("WsClient - Parley's messages frames are the ones parsed once for every client", () => {
  const message = { seq: 1, id: "m1", room: "r", author: "ada", text: "bench m t=1", at: 1 };
  const [delivery] = toDeliveries([message]);
  assert.ok(delivery.frame.startsWith(MESSAGES_FRAME), delivery.frame);
  assert.equal(JSON.stringify({ type: "ack", id: "m1", seq: 1 }).startsWith(MESSAGES_FRAME), false);
});
