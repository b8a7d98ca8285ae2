import assert from "node:assert/strict";
import { FrameCache } from "./frame_cache.ts";

Deno.test("FrameCache - a frame every client gets is parsed once, whatever string holds it", () => {
  const parsed: string[] = [];
  const cache = new FrameCache((text: string) => {
    parsed.push(text);
    return { length: text.length };
  }, 2);
  const frame = JSON.stringify({ type: "messages", messages: [{ seq: 1 }] });
  const first = cache.get(frame);
  // Each socket's copy of a frame is a string of its own: equal text is what finds it.
  const copy = [...frame].join("");
  assert.equal(cache.get(copy), first, "the same value for an equal text");
  cache.get("other");
  assert.equal(cache.get(frame), first, "still kept beside one other text");
  cache.get("third");
  cache.get("fourth");
  assert.notEqual(cache.get(frame), first, "parsed again once two newer texts came");
  assert.deepEqual(parsed, [frame, "other", "third", "fourth", frame]);
});
