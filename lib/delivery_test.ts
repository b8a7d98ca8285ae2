import assert from "node:assert/strict";
import { MAX_DELIVERY_BYTES, MAX_DELIVERY_MESSAGES, toDeliveries } from "./delivery.ts";
import type { Message } from "./types.ts";

function messages(count: number, text: string): Message[] {
  return Array.from({ length: count }, (_, i) => ({
    seq: i + 1,
    id: `m-${i + 1}`,
    room: "lobby",
    author: "ann",
    text,
    at: 1,
  }));
}

const sizes = (count: number, text: string) =>
  toDeliveries(messages(count, text)).map((delivery) => delivery.messages.length);

Deno.test("toDeliveries - short messages go at most 500 to a delivery, in order", () => {
  assert.deepEqual(sizes(1236, "hi"), [MAX_DELIVERY_MESSAGES, MAX_DELIVERY_MESSAGES, 236]);
  const seqs = toDeliveries(messages(1001, "hi")).flatMap((delivery) =>
    delivery.messages.map((message) => message.seq)
  );
  assert.deepEqual(seqs, Array.from({ length: 1001 }, (_, i) => i + 1));
});

Deno.test("toDeliveries - long messages go about 256 KiB to a delivery", () => {
  const text = "x".repeat(4000);
  const perDelivery = Math.floor(MAX_DELIVERY_BYTES / (3 * (text.length + 3) + 200));
  assert.deepEqual(sizes(50, text), [perDelivery, perDelivery, 50 - 2 * perDelivery]);
  // One message over the size still goes, alone.
  assert.deepEqual(sizes(1, "x".repeat(100_000)), [1]);
});
