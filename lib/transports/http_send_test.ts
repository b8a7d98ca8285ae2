import assert from "node:assert/strict";
import { sessionToken, withLobby } from "../../tests/server.ts";
import { postMessage } from "./http_send.ts";
import type { TransportEvents } from "./transport.ts";

type SendEvents = Pick<TransportEvents, "ack" | "rejected" | "retryLater">;

/** Posts one message to the test server's lobby and returns the one event it ended with. */
async function postOne(origin: string, token: string, id: string, text: string) {
  const heard: unknown[][] = [];
  const events: SendEvents = {
    ack: (...args) => heard.push(["ack", ...args]),
    rejected: (...args) => heard.push(["rejected", ...args]),
    retryLater: (...args) => heard.push(["retryLater", ...args]),
  };
  const target = { baseUrl: new URL(origin), room: "lobby", token };
  await postMessage(target, { id, text }, events, new AbortController().signal);
  assert.equal(heard.length, 1, `one event for ${id}`);
  return heard[0];
}

Deno.test("postMessage - stored is an ack, over the rate is later with Retry-After and the code, bad text is refused", async () => {
  await withLobby(async (server) => {
    const token = sessionToken(server, "ann");
    assert.deepEqual(await postOne(server.origin, token, "first", "hello"), ["ack", "first", 1]);
    // The burst of one is spent: the server answers 429 with Retry-After: 1.
    assert.deepEqual(
      await postOne(server.origin, token, "second", "again"),
      ["retryLater", "second", 1000, "rate_limited"],
    );
    assert.deepEqual(
      await postOne(server.origin, token, "third", "a\u0007b"),
      [
        "rejected",
        "third",
        "invalid_text",
        "The text must not contain control characters other than tab and newline",
      ],
    );
  }, { env: { PARLEY_MESSAGE_BURST: "1", PARLEY_MESSAGE_RATE: "1" } });
});

Deno.test("postMessage - a server that cannot be reached is tried again in 2 s", async () => {
  const listener = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const { port } = listener.addr;
  listener.close();
  assert.deepEqual(
    await postOne(`http://127.0.0.1:${port}`, "t", "lost", "hello"),
    ["retryLater", "lost", 2000],
  );
});
