/**
 * Backpressure for a connection's backlog: a long history is read from the store no faster than
 * the client takes it, so a client that asks for it all and never reads holds one output cap of
 * it, not the whole history.
 *
 * @module
 */

/** How often a full connection's output is checked again. */
const CHECK_MS = 10;

/**
 * Resolves to true once `hasRoom()` holds (at once if it does now), or to false once `ended()`
 * does: the connection was closed, as a slow consumer if it stayed full past its grace period.
 */
export async function roomToWrite(hasRoom: () => boolean, ended: () => boolean): Promise<boolean> {
  while (!hasRoom()) {
    if (ended()) return false;
    await new Promise((resolve) => setTimeout(resolve, CHECK_MS));
  }
  return !ended();
}
