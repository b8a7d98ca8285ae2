import assert from "node:assert/strict";
import { waitFor } from "../../tests/wait_for.ts";
import { toDeliveries } from "../../lib/delivery.ts";
import { Tally } from "../tally.ts";
import { MESSAGES_FRAME, WsClient } from "./ws_client.ts";

Deno.test("WsClient - Parley's messages frames are the ones parsed once for every client", () => {
  const message = { seq: 1, id: "m1", room: "r", author: "ada", text: "bench m t=1", at: 1 };
  const [delivery] = toDeliveries([message]);
  assert.ok(delivery.frame.startsWith(MESSAGES_FRAME), delivery.frame);
  assert.equal(JSON.stringify({ type: "ack", id: "m1", seq: 1 }).startsWith(MESSAGES_FRAME), false);
});

/** A server that welcomes each socket and hands every frame it receives to `onFrame`. */
function frameServer(onFrame: (socket: WebSocket) => void): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onopen = () => socket.send(JSON.stringify({ type: "welcome", head: 0 }));
    socket.onmessage = () => onFrame(socket);
    return response;
  });
}

/** A client of `server` with a tally of its own, once welcomed. */
async function welcomedClient(
  server: Deno.HttpServer<Deno.NetAddr>,
): Promise<{ client: WsClient; tally: Tally }> {
  const tally = new Tally("m");
  const origin = `ws://127.0.0.1:${server.addr.port}`;
  const client = new WsClient({ origin, room: "r", name: "n", tally });
  await client.ready;
  return { client, tally };
}

Deno.test("WsClient - sends in flight when the server closes the socket count as refused", async () => {
  const server = frameServer((socket) => socket.close(1011, "boom"));
  const { client, tally } = await welcomedClient(server);
  client.send("a", "bench m t=1", "m");
  client.send("b", "bench m t=1", "m");
  await waitFor("the sends to be settled", () => client.pending === 0);
  assert.equal(tally.rejected, 2);
  assert.equal(tally.firstRejection, "ws closed 1011 boom");
  await client.close();
  await server.shutdown();
});

Deno.test("WsClient - closing the client leaves its sends in flight uncounted", async () => {
  const server = frameServer(() => {});
  const { client, tally } = await welcomedClient(server);
  client.send("a", "bench m t=1", "m");
  await client.close();
  assert.equal(client.pending, 1);
  assert.equal(tally.rejected, 0);
  await server.shutdown();
});
