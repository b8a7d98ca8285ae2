/**
 * Test helper: runs a test with some of a module's timings (`SILENCE` in
 * `lib/transports/liveness.ts`, `STREAM_TIMING` in `lib/event_stream.ts`) shortened.
 *
 * @module
 */

/** Runs `test` with `values` in place of those of `timing`, and puts them back after. */
export async function withTiming<T extends Record<string, number>>(
  timing: T,
  values: Partial<T>,
  test: () => Promise<void>,
): Promise<void> {
  const saved = { ...timing };
  Object.assign(timing, values);
  try {
    await test();
  } finally {
    Object.assign(timing, saved);
  }
}
