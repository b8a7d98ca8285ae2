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

Deno.test("ThrottledErrors - when failures stop, the last one is written with the count of the others", async () => {
  const lines: unknown[][] = [];
  const written = Promise.withResolvers<void>();
  const errors = new ThrottledErrors({
    write: (...args) => {
      lines.push(args);
      if (lines.length === 2) written.resolve();
    },
  });
  const full = new TypeError("database or disk is full");
  for (const room of ["a", "b", "c", "d"]) errors.write(`Cannot append to "${room}"`, full);
  // The line's timer does not keep a process up: this one does, and fails the test if none comes.
  const guard = setTimeout(
    () => written.reject(new Error("No line for the failures counted")),
    10_000,
  );
  try {
    await written.promise;
  } finally {
    clearTimeout(guard);
  }
  assert.deepEqual(lines, [
    ['Cannot append to "a":', full],
    ['Cannot append to "d" (2 more like it left out since the last line):', full],
  ]);
});

Deno.test("ThrottledErrors - a flush writes what was counted at once, and nothing twice", () => {
  let now = 0;
  const lines: unknown[][] = [];
  const errors = new ThrottledErrors({ now: () => now, write: (...args) => lines.push(args) });
  const full = new TypeError("database or disk is full");
  errors.flush();
  errors.write('Cannot append to "a"', full);
  now += 10;
  errors.write('Cannot append to "b"', full);
  errors.flush();
  errors.flush();
  assert.deepEqual(lines, [
    ['Cannot append to "a":', full],
    ['Cannot append to "b":', full],
  ]);
});
