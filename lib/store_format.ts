/**
 * Which store formats this version of Parley reads: the one decision about the layout of
 * `lib/keys.ts` that a store's marker (`["meta", "format"]`) is checked against at start. A layout
 * that changes gets the next number; a version that can bring an older format up to date says so
 * here, and one that cannot read a format refuses the store rather than misread it.
 *
 * @module
 */

/** The format of the layout this version writes: the newest it reads. */
export const STORE_FORMAT = 1;

/** Whether this version reads a store whose marker holds `format` (any value KV holds there). */
export function readsFormat(format: unknown): boolean {
  return typeof format === "number" && Number.isInteger(format) && 1 <= format &&
    format <= STORE_FORMAT;
}
