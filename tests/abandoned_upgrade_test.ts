/**
 * WebSocket upgrades whose client hangs up before the answer: Deno keeps the connection of an
 * upgrade answered after an `await` once its client is gone (in `CLOSE-WAIT`, until the process
 * ends), so a client that asks and hangs up at once, again and again, could use up the server's
 * file descriptors. These tests count such connections on a real server's port.
 *
 * @module
 */
import { upgradeRequest } from "./raw_socket.ts";
import { type TestServer, withLobby } from "./server.ts";
import { waitFor } from "./wait_for.ts";

/** TCP state `CLOSE_WAIT` in `/proc/net/tcp`: the peer has closed, this side has not. */
const CLOSE_WAIT = "08";

/** How many connections to `port` on 127.0.0.1 this process holds in `CLOSE-WAIT`. */
function closeWaitOn(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  return Deno.readTextFileSync("/proc/net/tcp").split("\n").slice(1).filter((line) => {
    const [, address, , state] = line.trim().split(/\s+/);
    return address === local && state === CLOSE_WAIT;
  }).length;
}

/** Sends a WebSocket upgrade request for `path` and hangs up without reading the answer. */
async function askAndHangUp(port: number, path: string): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(upgradeRequest(port, path).request);
  conn.close();
}

/** Abandons `count` upgrades of `path`, then waits for the server to let go of every one. */
async function assertNoneKept(server: TestServer, path: string, count = 20): Promise<void> {
  const port = Number(new URL(server.origin).port);
  for (let i = 0; i < count; i++) await askAndHangUp(port, path);
  await waitFor(
    () => `the server to close the abandoned upgrades of ${path} (${closeWaitOn(port)} kept)`,
    () => closeWaitOn(port) === 0,
    3_000,
  );
}

Deno.test("ws - an upgrade whose client hangs up at once leaves no connection behind", async () => {
  await withLobby(async (server) => {
    await assertNoneKept(server, "/api/rooms/lobby/ws");
    await assertNoneKept(server, "/api/rooms/lobby/ws?after=0");
    // A room that does not exist is refused after the upgrade, and must not keep one either.
    await assertNoneKept(server, "/api/rooms/nope/ws");
  });
});
