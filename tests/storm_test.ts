import assert from "node:assert/strict";
import { waitFor as waitUntil } from "./wait_for.ts";
import { type ChatConnection, connect, type Message } from "../lib/client.ts";
import { requestJson, startServer } from "./server.ts";

const CLIENTS = 1000;
const BEFORE = 20;
const DURING = 30;

/** {@link waitUntil} for a thousand clients: giving up after 30 s, checking every 20 ms. */
function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  return waitUntil(what, condition, timeoutMs, 20);
}

Deno.test("reconnect storm - 1,000 dropped clients reconnect with jitter and miss nothing", async () => {
  // Limits stay on (with room for everyone twice over, as old sockets close while new ones
  // open) so the connection slots are counted too.
  const server = await startServer({
    env: { PARLEY_CONNECTIONS_PER_IP: String(2 * CLIENTS), PARLEY_MESSAGE_BURST: "1000" },
  });
  const clients: ChatConnection[] = [];
  const received = new Map<ChatConnection, number[]>();
  const post = (text: string) =>
    requestJson(server, "/api/rooms/lobby/messages", { body: { author: "host", text } });
  try {
    await requestJson(server, "/api/rooms", { body: { id: "lobby", title: "Lobby" } });
    for (let i = 0; i < CLIENTS; i++) {
      const client = connect("lobby", {
        name: `c${i}`,
        after: 0,
        transport: "ws",
        baseUrl: server.origin,
      });
      received.set(client, []);
      client.on(
        "messages",
        (messages: Message[]) => received.get(client)!.push(...messages.map((m) => m.seq)),
      );
      clients.push(client);
    }
    await waitFor("every client live", () => clients.every((c) => c.status.state === "live"));
    for (let i = 1; i <= BEFORE; i++) await post(`before ${i}`);
    await waitFor("the first messages", () => clients.every((c) => c.last === BEFORE));

    const reconnecting = new Set<ChatConnection>();
    for (const client of clients) {
      client.on("status", (status) => status.state === "reconnecting" && reconnecting.add(client));
    }
    server.services.connections.closeAll(1012, "service restart");
    const sending = (async () => {
      for (let i = 1; i <= DURING; i++) await post(`during ${i}`);
    })();
    await sending;
    const total = BEFORE + DURING;
    await waitFor("every client caught up", () => clients.every((c) => c.last === total));

    assert.equal(reconnecting.size, CLIENTS, "every client noticed the drop");
    const expected = Array.from({ length: total }, (_, i) => i + 1);
    for (const client of clients) assert.deepEqual(received.get(client), expected);
    assert.ok(clients.every((c) => c.status.state === "live"));
    assert.equal(server.services.connections.count("ws"), CLIENTS, "no socket left behind");
    assert.equal(server.services.hub.watchedRooms, 1);

    // When everyone leaves, the server keeps nothing of them: no socket, no connection slot.
    for (const client of clients) client.close();
    await waitFor("every socket to close", () => server.services.connections.count("ws") === 0);
    for (let i = 0; i < server.services.config.limits!.connectionsPerIp; i++) {
      assert.ok(server.services.limits.openConnection("127.0.0.1"), "a connection slot leaked");
    }
  } finally {
    for (const client of clients) client.close();
    await server.close();
  }
});
