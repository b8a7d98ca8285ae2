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

/**
 * Resolves with `promise`, or fails naming `what` once `ms` pass; clears its timer either way. The
 * timer also keeps the event loop running meanwhile, which a promise that only unref'd timers
 * would settle needs.
 */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
  what: string | (() => string),
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out waiting for ${typeof what === "string" ? what : what()}`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
