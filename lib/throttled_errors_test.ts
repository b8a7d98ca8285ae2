import assert from "node:assert/strict";
import { THROTTLE_MS, ThrottledErrors } from "./throttled_errors.ts";

Deno.test("ThrottledErrors - the first failure is written, then one a second, counting the rest", () => {
  let now = 0;
  const lines: unknown[][] = [];
  const errors = new ThrottledErrors({ now: () => now, write: (...args) => lines.push(args) });
  const full = new TypeError("database or disk is full");
  errors.write('Cannot append to "a"', full);
  for (let i = 0; i < 5; i++) {
    now += 10;
    errors.write('Cannot append to "b"', full);
  }
  now = THROTTLE_MS;
  errors.write('Cannot append to "c"', full);
  now += THROTTLE_MS;
  errors.write('Cannot append to "d"', full);
  assert.deepEqual(lines, [
    ['Cannot append to "a":', full],
    ['Cannot append to "c" (5 more like it left out since the last line):', full],
    ['Cannot append to "d":', full],
  ]);
});
