import assert from "node:assert/strict";
import { MAX_REFUSING_PER_IP } from "../lib/limits.ts";
import { OPCODE_CLOSE, OPCODE_TEXT, RawSocket } from "./raw_socket.ts";
import { requestJson, sessionToken, type TestServer, TestSocket, withLobby } from "./server.ts";

// Buckets refill at one message a second, not the default ten: a test that empties one expects a
// refusal, and at ten a second a machine slow enough to take 100 ms over the sends would see none.
const SLOW_REFILL = { PARLEY_MESSAGE_RATE: "1" };

function post(server: TestServer, text: string, headers: Record<string, string> = {}) {
  return fetch(`${server.origin}/api/rooms/lobby/messages`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${sessionToken(server, "ann")}`,
      ...headers,
    },
    body: JSON.stringify({ text }),
  });
}

Deno.test("POST messages - past the burst an IP gets 429 rate_limited with Retry-After", async () => {
  await withLobby(async (server) => {
    for (let i = 1; i <= 20; i++) {
      const response = await post(server, `m${i}`);
      await response.body?.cancel();
      assert.equal(response.status, 201, `message ${i}`);
    }
    const refused = await post(server, "one too many");
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
    assert.equal((await refused.json()).error.code, "rate_limited");
    const { body } = await requestJson(server, "/api/rooms/lobby/messages?limit=200");
    assert.equal((body.messages as unknown[]).length, 20);
  }, { env: SLOW_REFILL });
});

Deno.test("POST messages - behind a trusted proxy each forwarded IP has its own bucket", async () => {
  await withLobby(async (server) => {
    const statuses = [];
    for (const ip of ["10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.2"]) {
      const response = await post(server, "hi", { "x-forwarded-for": `1.2.3.4, ${ip}` });
      await response.body?.cancel();
      statuses.push(response.status);
    }
    assert.deepEqual(statuses, [201, 201, 429, 201]);
  }, { env: { ...SLOW_REFILL, PARLEY_TRUST_PROXY: "on", PARLEY_MESSAGE_BURST: "2" } });
});

Deno.test("PARLEY_LIMITS=off - a burst of 100 posts is stored whole", async () => {
  await withLobby(async (server) => {
    const statuses = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const response = await post(server, `m${i}`);
        await response.body?.cancel();
        return response.status;
      }),
    );
    assert.deepEqual(new Set(statuses), new Set([201]));
  }, { env: { PARLEY_LIMITS: "off" } });
});

Deno.test("ws - a flood gets rate_limited error frames, then a 1008 close", async () => {
  await withLobby(async (server) => {
    const socket = TestSocket.open(server, "lobby", { name: "flood" });
    const bystander = TestSocket.open(server, "lobby", { name: "calm" });
    try {
      await socket.until((s) => s.frames.some((frame) => frame.type === "welcome"));
      for (let i = 0; i < 5; i++) socket.send({ type: "send", id: `ok-${i}`, text: "hi" });
      await socket.until((s) => s.frames.filter((frame) => frame.type === "ack").length === 5);
      socket.send({ type: "send", id: "over", text: "too fast" });
      await socket.until((s) => s.frames.some((frame) => frame.type === "error"));
      const error = socket.frames.find((frame) => frame.type === "error")!;
      assert.equal(error.code, "rate_limited");
      assert.equal(error.id, "over");
      assert.ok(Number(error.retryAfterMs) > 0);
      // That first refusal is no strike (the socket had not been told to wait); ten more sends
      // without waiting are ten strikes in a row, and the server closes.
      for (let i = 0; i < 10; i++) socket.send({ type: "send", id: `flood-${i}`, text: "x" });
      const closed = await socket.closed;
      assert.equal(closed.code, 1008);
      assert.equal(bystander.socket.readyState, WebSocket.OPEN);
      // The five stored messages reach the bystander (with the room's next delivery); none of the
      // refused ones ever does.
      await bystander.until((s) => s.messages.length >= 5);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(bystander.messages.map((message) => message.id), [
        "ok-0",
        "ok-1",
        "ok-2",
        "ok-3",
        "ok-4",
      ]);
    } finally {
      await socket.close();
      await bystander.close();
    }
  }, { env: { ...SLOW_REFILL, PARLEY_MESSAGE_BURST: "5" } });
});

Deno.test("ws - a flood sent at once has every stored send acknowledged before the close", async () => {
  await withLobby(async (server) => {
    const socket = TestSocket.open(server, "lobby", { name: "flood" });
    try {
      await socket.until((s) => s.frames.some((frame) => frame.type === "welcome"));
      // Five fit the burst and are stored; the sixth is refused, and the next ten are strikes.
      for (let i = 0; i < 20; i++) socket.send({ type: "send", id: `f-${i}`, text: `x ${i}` });
      // 1008, or 1006 (0 in Deno's client) when frames still on their way reach the server after
      // it (PROTOCOL.md, note 24).
      const { code } = await socket.closed;
      assert.ok([1008, 1006, 0].includes(code), `closed with ${code}`);
      const acked = socket.frames.filter((frame) => frame.type === "ack").map(({ id }) => id);
      const { body } = await requestJson(server, "/api/rooms/lobby/messages");
      const stored = (body.messages as { id: string }[]).map(({ id }) => id);
      assert.deepEqual(stored, ["f-0", "f-1", "f-2", "f-3", "f-4"]);
      assert.deepEqual(acked, stored, "a stored send was never acknowledged");
    } finally {
      await socket.close();
    }
  }, { env: { ...SLOW_REFILL, PARLEY_MESSAGE_BURST: "5" } });
});

Deno.test("connection cap - past the cap WS closes 1013, SSE and long-poll get 429", async () => {
  await withLobby(async (server) => {
    // Opened one after another: opened together, any one of the three may be the one refused.
    const sockets: TestSocket[] = [];
    const open = () => {
      const socket = TestSocket.open(server, "lobby");
      sockets.push(socket);
      return socket;
    };
    try {
      const first = open();
      await first.until((s) => s.frames.length > 0);
      await open().until((s) => s.frames.length > 0);
      const refused = await open().closed;
      assert.equal(refused.code, 1013);
      assert.equal(refused.reason, "too_many_connections");
      const sse = await fetch(`${server.origin}/api/rooms/lobby/events`);
      assert.equal(sse.status, 429);
      assert.equal((await sse.json()).error.code, "too_many_connections");
      // A HEAD tells an EventSource's client why its stream did not open.
      const head = await fetch(`${server.origin}/api/rooms/lobby/events`, { method: "HEAD" });
      assert.equal(head.status, 429);
      const poll = await requestJson(server, "/api/rooms/lobby/messages?after=0&wait=5");
      assert.equal(poll.status, 429);
      await first.close();
      await open().until((s) => s.frames.some((frame) => frame.type === "welcome"));
    } finally {
      for (const socket of sockets) await socket.close();
    }
  }, { env: { PARLEY_CONNECTIONS_PER_IP: "2" } });
});

Deno.test("room creation - past the limit the API gets 429 and the form a 429 page", async () => {
  await withLobby(async (server) => {
    // "lobby" used the first creation.
    const ok = await requestJson(server, "/api/rooms", { body: { id: "two", title: "Two" } });
    assert.equal(ok.status, 201);
    const api = await requestJson(server, "/api/rooms", { body: { id: "three", title: "Three" } });
    assert.equal(api.status, 429);
    assert.deepEqual((api.body.error as { code: string }).code, "rate_limited");
    const form = await fetch(`${server.origin}/`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "id=four&title=Four",
      redirect: "manual",
    });
    assert.equal(form.status, 429);
    assert.match(await form.text(), /Too many new rooms/);
    const { body } = await requestJson(server, "/api/rooms");
    assert.deepEqual((body.rooms as Array<{ id: string }>).map((room) => room.id).sort(), [
      "lobby",
      "two",
    ]);
  }, { env: { PARLEY_ROOMS_PER_MINUTE: "2" } });
});

Deno.test("ws - refusals a client leaves unanswered are capped per address, then plain HTTP", async () => {
  await withLobby(async (server) => {
    const port = Number(new URL(server.origin).port);
    // No room can have this address, so it is refused before the upgrade.
    const path = "/api/rooms/No-Such/ws";
    const held: RawSocket[] = [];
    try {
      // Each gets the 101 and the 4404 close, and never answers it.
      for (let i = 0; i < MAX_REFUSING_PER_IP; i++) {
        const socket = await RawSocket.open(port, path);
        held.push(socket);
        assert.equal(socket.status, 101);
        const close = await socket.readMessage();
        assert.equal(close?.opcode, OPCODE_CLOSE);
        assert.equal((close!.payload[0] << 8) | close!.payload[1], 4404);
      }
      const refused = await RawSocket.open(port, path);
      held.push(refused);
      assert.equal(refused.status, 404);
      assert.match(refused.headers.get("content-type") ?? "", /^application\/json/);
      // Live connections are a separate count: the lobby still opens.
      const lobby = await RawSocket.open(port, "/api/rooms/lobby/ws");
      held.push(lobby);
      assert.equal(lobby.status, 101);
      // One that hangs up gives its place back.
      held.shift()!.close();
      let status = 0;
      for (let tries = 0; status !== 101 && tries < 100; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const socket = await RawSocket.open(port, path);
        held.push(socket);
        status = socket.status;
      }
      assert.equal(status, 101, "the place of the socket that hung up never came back");
    } finally {
      for (const socket of held) socket.close();
    }
  });
});

Deno.test("ws - a missing room is refused after the upgrade, sparing live places while it can", async () => {
  await withLobby(async (server) => {
    const port = Number(new URL(server.origin).port);
    const held: RawSocket[] = [];
    const open = async (path: string) => {
      const socket = await RawSocket.open(port, path);
      held.push(socket);
      return socket;
    };
    try {
      // The room is read after the upgrade, so even past the cap on refusals its absence comes
      // as a close: the first five move to the places for refusals, the sixth keeps its own.
      for (let i = 0; i <= MAX_REFUSING_PER_IP; i++) {
        const socket = await open("/api/rooms/nope/ws");
        assert.equal(socket.status, 101);
        const close = await socket.readMessage();
        assert.equal(close?.opcode, OPCODE_CLOSE);
        assert.equal((close!.payload[0] << 8) | close!.payload[1], 4404);
      }
      const lobby = await open("/api/rooms/lobby/ws");
      assert.equal(lobby.status, 101);
      assert.equal((await lobby.readAnswer())?.opcode, OPCODE_TEXT, "the lobby's welcome");
      // Two places: the lobby's and the sixth refusal's.
      assert.equal((await open("/api/rooms/lobby/ws")).status, 429);
    } finally {
      for (const socket of held) socket.close();
    }
  }, { env: { PARLEY_CONNECTIONS_PER_IP: "2" } });
});
