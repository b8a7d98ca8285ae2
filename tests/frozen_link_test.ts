/**
 * A link that stops carrying without closing (a laptop asleep, a Wi-Fi network left): the client
 * notices the silence, reconnects, and sends what waited, through a proxy that can freeze the
 * connections it carries. The client's silence limits are shortened for the test.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type ChatConnection, connect } from "../lib/client.ts";
import { SILENCE } from "../lib/transports/liveness.ts";
import type { TransportName } from "../lib/transports/transport.ts";
import { STREAM_TIMING } from "../lib/event_stream.ts";
import { LIMITS_OFF, requestJson, startServer, type TestServer } from "./server.ts";
import { withTiming } from "./timing.ts";
import { waitFor } from "./wait_for.ts";

/**
 * A TCP proxy whose live connections (WebSockets, event streams, long polls) can be frozen, or
 * every connection, those opened later included, until it thaws.
 */
class FreezingProxy {
  readonly #listener: Deno.TcpListener;
  readonly #links = new Set<{ live: boolean; frozen: boolean; conns: Deno.Conn[] }>();
  /** Every connection stops carrying, as over a network gone silent. */
  #allFrozen = false;
  /** Live connections opened so far. */
  liveOpened = 0;

  constructor(readonly target: number) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accept();
  }

  get origin(): string {
    return `http://127.0.0.1:${this.#listener.addr.port}`;
  }

  /** Every live connection open now stops carrying, both ways, and stays open. */
  freeze(): void {
    for (const link of this.#links) if (link.live) link.frozen = true;
  }

  /** Every connection, open now or later, stops carrying until {@link thaw}. */
  freezeAll(): void {
    this.#allFrozen = true;
    for (const link of this.#links) link.frozen = true;
  }

  /** Connections opened from now on carry (those frozen stay so, as on a network left). */
  thaw(): void {
    this.#allFrozen = false;
  }

  close(): void {
    this.#listener.close();
    for (const link of this.#links) for (const conn of link.conns) conn.close();
  }

  async #accept(): Promise<void> {
    for await (const client of this.#listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port: this.target });
      const link = { live: false, frozen: this.#allFrozen, conns: [client, server] };
      this.#links.add(link);
      this.#pipe(client, server, link, true);
      this.#pipe(server, client, link, false);
    }
  }

  async #pipe(
    from: Deno.Conn,
    to: Deno.Conn,
    link: { live: boolean; frozen: boolean },
    request: boolean,
  ): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const read = await from.read(buffer);
        if (read === null) break;
        const chunk = buffer.subarray(0, read);
        const text = request && !link.live ? new TextDecoder().decode(chunk) : "";
        if (/\/(ws|events)\?|[?&]wait=/.test(text)) {
          link.live = true;
          this.liveOpened++;
        }
        if (link.frozen) continue;
        await to.write(chunk);
      }
    } catch {
      // Closed.
    }
  }
}

/**
 * Runs `test` with the client's silence limits about a second, and the server's event stream
 * pings at a fraction of them (as 15 s of pings are to 35 s of silence). A WebSocket pings no
 * more often than the server answers (once a second).
 */
function withShortSilences(test: () => Promise<void>): Promise<void> {
  const silences = {
    checkMs: 50,
    pingAfterMs: 1_100,
    pongWithinMs: 400,
    streamMs: 700,
    pollWaitMs: 1_000,
    pollGraceMs: 500,
  };
  return withTiming(SILENCE, silences, () => withTiming(STREAM_TIMING, { heartbeatMs: 200 }, test));
}

/** A live connection as "ann" to the lobby through a {@link FreezingProxy}, for a test's body. */
interface ProxiedClient {
  server: TestServer;
  proxy: FreezingProxy;
  connection: ChatConnection;
  /** The states the connection reported, from its first "live" on. */
  states: string[];
}

/** Runs `body` with a connection over `transport` that has gone live through a freezing proxy. */
async function withProxiedClient(
  transport: TransportName,
  body: (client: ProxiedClient) => Promise<void>,
): Promise<void> {
  const server = await startServer(LIMITS_OFF);
  const proxy = new FreezingProxy(Number(new URL(server.origin).port));
  let connection: ChatConnection | undefined;
  try {
    await requestJson(server, "/api/rooms", { body: { id: "lobby", title: "Lobby" } });
    connection = connect("lobby", { transport, baseUrl: proxy.origin, name: "ann" });
    const states: string[] = [];
    connection.on("status", (status) => states.push(status.state));
    await waitFor("live", () => connection!.status.state === "live");
    await body({ server, proxy, connection, states });
  } finally {
    connection?.close();
    proxy.close();
    await server.close();
  }
}

/** The ids of the lobby's stored messages, oldest first. */
async function storedIds(server: TestServer): Promise<string[]> {
  const { body } = await requestJson(server, "/api/rooms/lobby/messages");
  return (body.messages as { id: string }[]).map(({ id }) => id);
}

for (const transport of ["ws", "sse", "poll"] as TransportName[]) {
  Deno.test(`client (${transport}) - a link that stops carrying is given up, and deliveries go on over the next`, async () => {
    await withShortSilences(() =>
      withProxiedClient(transport, async ({ server, proxy, connection, states }) => {
        // A quiet link that carries is kept: the server answers pings, or sends its own.
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        assert.deepEqual(states, ["live"]);
        assert.equal(proxy.liveOpened, 1);
        proxy.freeze();
        connection.send("sent into the silence", "silent-1");
        await waitFor("a new live connection", () => proxy.liveOpened === 2, 10_000);
        await waitFor("the message delivered", () => connection.outbox.length === 0, 10_000);
        assert.deepEqual(states, ["live", "reconnecting", "live"]);
        assert.deepEqual(await storedIds(server), ["silent-1"]);
      })
    );
  });
}

/**
 * Runs `body` with a stand-in `document` whose tab is shown, for the client's `visibilitychange`
 * listener (Deno has no document); `show` tells it the tab was shown again.
 */
async function withShownTab(body: (show: () => void) => Promise<void>): Promise<void> {
  const document = Object.assign(new EventTarget(), { visibilityState: "visible" });
  Object.defineProperty(globalThis, "document", { value: document, configurable: true });
  try {
    await body(() => document.dispatchEvent(new Event("visibilitychange")));
  } finally {
    Reflect.deleteProperty(globalThis, "document");
  }
}

for (const transport of ["ws", "sse", "poll"] as TransportName[]) {
  Deno.test(`client (${transport}) - shown again, a link that stopped carrying is given up at once, not after its silence runs out; one that carries is kept`, async () => {
    // The silence alone would take a minute to tell. Shown again, a WebSocket asks for a ping;
    // an event stream silent past its pings, or a poll unanswered past its wait, is given up.
    const silences = {
      checkMs: 50,
      pingAfterMs: 60_000,
      pongWithinMs: 400,
      streamMs: 60_000,
      streamPingMs: 200,
      pollWaitMs: 1_000,
      pollGraceMs: 60_000,
      shownGraceMs: 800,
    };
    await withTiming(
      SILENCE,
      silences,
      () =>
        withTiming(
          STREAM_TIMING,
          { heartbeatMs: 200 },
          () =>
            withShownTab((show) =>
              withProxiedClient(transport, async ({ server, proxy, connection, states }) => {
                // A link that carries is kept, however often the tab is shown.
                for (let i = 0; i < 3; i++) {
                  show();
                  await new Promise((resolve) => setTimeout(resolve, 600));
                }
                assert.deepEqual([states, proxy.liveOpened], [["live"], 1]);
                proxy.freeze();
                const { body } = await requestJson(server, "/api/rooms/lobby/messages", {
                  body: { author: "bob", text: "while the link was down" },
                });
                // Hidden longer than a link that carries is ever silent.
                await new Promise((resolve) => setTimeout(resolve, 2_500));
                show();
                await waitFor("a new live connection", () => proxy.liveOpened === 2, 3_000);
                await waitFor(
                  "the missed message",
                  () => connection.last === (body.message as { seq: number }).seq,
                  3_000,
                );
                assert.deepEqual(states, ["live", "reconnecting", "live"]);
              })
            ),
        ),
    );
  });
}

Deno.test("client (ws) - a send that goes unanswered on a link that stopped carrying reconnects and goes again, long before the silence would", async () => {
  // The silence alone would take a minute to tell; the unanswered send has the link checked.
  const silences = { checkMs: 50, pingAfterMs: 60_000, pongWithinMs: 400 };
  await withTiming(
    SILENCE,
    silences,
    () =>
      withProxiedClient("ws", async ({ server, proxy, connection, states }) => {
        proxy.freeze();
        connection.send("sent into the silence", "silent-1");
        connection.send("and after it", "silent-2");
        await waitFor("a new live connection", () => proxy.liveOpened === 2, 10_000);
        await waitFor("the messages delivered", () => connection.outbox.length === 0, 5_000);
        assert.deepEqual(states, ["live", "reconnecting", "live"]);
        assert.deepEqual(await storedIds(server), ["silent-1", "silent-2"]);
      }),
  );
});

for (const transport of ["sse", "poll"] as TransportName[]) {
  Deno.test(`client (${transport}) - a send over HTTP unanswered on a network gone silent gives the link up, and goes again once, in order`, async () => {
    // The silence alone would take a minute to tell; the send's time limit tells sooner.
    const silences = { streamMs: 60_000, pollGraceMs: 60_000, sendAnswerMs: 1_000 };
    await withTiming(
      SILENCE,
      silences,
      () =>
        withProxiedClient(transport, async ({ server, proxy, connection, states }) => {
          proxy.freezeAll();
          const sentAt = performance.now();
          connection.send("sent into the silence", "silent-1");
          connection.send("and after it", "silent-2");
          await waitFor("the link given up", () => states.includes("reconnecting"), 5_000);
          const took = performance.now() - sentAt;
          assert.ok(took < 3_000, `the link was given up ${took} ms after the send`);
          proxy.thaw();
          await waitFor("the messages delivered", () => connection.outbox.length === 0, 10_000);
          assert.equal(connection.status.state, "live");
          assert.deepEqual(await storedIds(server), ["silent-1", "silent-2"]);
        }),
    );
  });
}

for (const transport of ["sse", "poll"] as TransportName[]) {
  Deno.test(`client (${transport}) - a send whose POST is never answered fails after ten tries, and the ones after it go`, async () => {
    await withTiming(SILENCE, { sendAnswerMs: 200 }, async () => {
      const server = await startServer(LIMITS_OFF);
      // The store never answers this one message, over every link; the server answers the rest.
      const log = server.services.log;
      const append = log.append.bind(log);
      const hung: Array<() => void> = [];
      log.append = (room, input) => {
        if (input.text !== "never answered") return append(room, input);
        return new Promise((_resolve, reject) => hung.push(() => reject(new Error("Test over"))));
      };
      let connection: ChatConnection | undefined;
      try {
        await requestJson(server, "/api/rooms", { body: { id: "lobby", title: "Lobby" } });
        connection = connect("lobby", { transport, baseUrl: server.origin, name: "ann" });
        await waitFor("live", () => connection!.status.state === "live");
        connection.send("never answered", "hung-1");
        connection.send("after it", "next-1");
        await waitFor(
          "the first failed and the next delivered",
          () =>
            connection!.outbox.map(({ id, state }) => `${id} ${state}`).join() === "hung-1 failed",
          20_000,
        );
        assert.equal(connection.outbox[0].failure?.code, "retry_limit");
      } finally {
        connection?.close();
        for (const fail of hung) fail();
        await server.close();
      }
    });
  });
}
