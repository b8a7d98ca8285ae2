/**
 * Test helper: what the code under test logs with `console.error`, kept from the test output.
 *
 * @module
 */

/** Runs `fn` with `console.error` recording each call's arguments in `logged`, then restores it. */
export async function withConsoleErrors<T>(fn: (logged: unknown[][]) => Promise<T>): Promise<T> {
  const logged: unknown[][] = [];
  const consoleError = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    return await fn(logged);
  } finally {
    console.error = consoleError;
  }
}
