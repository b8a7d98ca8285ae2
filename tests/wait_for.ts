/**
 * Test helper: waiting for something another task, socket or process makes true.
 *
 * @module
 */

/**
 * Waits until `condition` holds, checking every `pollMs`, or fails naming `what` once
 * `timeoutMs` pass.
 */
export async function waitFor(
  what: string | (() => string),
  condition: () => boolean,
  timeoutMs = 5_000,
  pollMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${typeof what === "string" ? what : what()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
