import assert from "node:assert/strict";
import { requestJson, sessionToken, withLobby } from "../../tests/server.ts";
import { withTiming } from "../../tests/timing.ts";
import { postMessage, type SendEvents } from "./http_send.ts";
import { SILENCE } from "./liveness.ts";

/** Posts one message to the test server's lobby and returns the events it ended with, in order. */
async function post(origin: string, token: string, id: string, text: string) {
  const heard: unknown[][] = [];
  const events: SendEvents = {
    ack: (...args) => heard.push(["ack", ...args]),
    rejected: (...args) => heard.push(["rejected", ...args]),
    retryLater: (...args) => heard.push(["retryLater", ...args]),
    unanswered: () => heard.push(["unanswered"]),
  };
  const target = { baseUrl: new URL(origin), room: "lobby", token };
  await postMessage(target, { id, text }, events, new AbortController().signal);
  return heard;
}

/** Posts one message to the test server's lobby and returns the one event it ended with. */
async function postOne(origin: string, token: string, id: string, text: string) {
  const heard = await post(origin, token, id, text);
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

/**
 * Runs `test` with the origin of a server that passes each request on to `origin` after
 * `delayMs`, as a slow link or a busy server would.
 */
async function withDelay(
  origin: string,
  delayMs: number,
  test: (delayedOrigin: string) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: controller.signal, onListen() {} },
    async (request) => {
      const body = await request.text();
      await new Promise((resolve) => timers.add(setTimeout(resolve, delayMs)));
      const url = new URL(new URL(request.url).pathname, origin);
      return await fetch(url, { method: request.method, headers: request.headers, body });
    },
  );
  try {
    await test(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    for (const timer of timers) clearTimeout(timer);
    controller.abort();
    await server.finished;
  }
}

Deno.test("postMessage - a send whose answer has not started in time is a try answered later, then reported unanswered, and sent again is stored once", async () => {
  await withTiming(SILENCE, { sendAnswerMs: 300 }, async () => {
    await withLobby(async (server) => {
      const token = sessionToken(server, "ann");
      await withDelay(server.origin, 2_000, async (origin) => {
        const started = performance.now();
        assert.deepEqual(await post(origin, token, "lost", "hello"), [
          ["retryLater", "lost", 0],
          ["unanswered"],
        ]);
        const took = performance.now() - started;
        assert.ok(took < 1_500, `it took ${took} ms`);
        // It may still land, as a request given up on a link may: the same message sent again
        // is that one, not a second copy.
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        assert.deepEqual(await postOne(server.origin, token, "lost", "hello"), ["ack", "lost", 1]);
        const { body } = await requestJson(server, "/api/rooms/lobby/messages");
        assert.deepEqual((body.messages as { id: string }[]).map(({ id }) => id), ["lost"]);
      });
    });
  });
});

Deno.test("postMessage - a server that answers after 2 s (a slow link that works) is waited for", async () => {
  await withLobby(async (server) => {
    const token = sessionToken(server, "ann");
    await withDelay(server.origin, 2_000, async (origin) => {
      assert.deepEqual(await postOne(origin, token, "slow", "hello"), ["ack", "slow", 1]);
    });
  });
});
