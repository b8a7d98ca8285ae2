import assert from "node:assert/strict";
import { serveChatSocket } from "./chat_socket.ts";
import { readConfig } from "./config.ts";
import { EventLog } from "./event_log.ts";
import { closeServices, closeStore, createServices, type Services } from "./services.ts";
import type { Session } from "./session.ts";
import type { Room } from "./types.ts";

const IP = "192.0.2.1";

/**
 * Stands in for the socket `Deno.upgradeWebSocket` hands out: left alone it neither opens nor
 * closes, which is what Deno does when the client hung up before the upgrade was answered.
 */
class StandInSocket extends EventTarget {
  readyState: number = WebSocket.CONNECTING;
  bufferedAmount = 0;
  readonly sent: string[] = [];
  closeCalls = 0;

  /** Completes the handshake, as Deno does once the client has the answer. */
  open(): void {
    this.readyState = WebSocket.OPEN;
    this.dispatchEvent(new Event("open"));
  }

  send(frame: string): void {
    this.sent.push(frame);
  }

  close(): void {
    this.closeCalls++;
    this.readyState = WebSocket.CLOSING;
  }
}

/** Runs `fn` with services that allow one connection per IP, and the room "lobby". */
async function withServices(fn: (services: Services, room: Room) => Promise<void>) {
  const env: Record<string, string> = { PARLEY_LOG: "off", PARLEY_CONNECTIONS_PER_IP: "1" };
  const kv = await Deno.openKv(":memory:");
  const services = await createServices(kv, readConfig((name) => env[name]));
  try {
    const { room } = await services.log.createRoom("lobby", "Lobby");
    await fn(services, room);
  } finally {
    closeServices(services);
    closeStore(services);
  }
}

/** Serves `socket` as the ws route does, on the IP's only connection slot, as `session` if given. */
function serve(services: Services, room: Room, socket: StandInSocket, session?: Session): void {
  const release = services.limits.openConnection(IP);
  assert.ok(release, "the IP's connection slot is free");
  serveChatSocket(socket as unknown as WebSocket, services, {
    room,
    session,
    resume: { resync: false },
    ip: IP,
    onClose: release,
    handshakeTimeoutMs: 50,
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("serveChatSocket - a socket that never opens gives its slot back after the handshake timeout", async () => {
  await withServices(async (services, room) => {
    const socket = new StandInSocket();
    serve(services, room, socket);
    assert.equal(services.connections.count("ws"), 1);
    assert.equal(services.limits.openConnection(IP), null);
    await pause(150);
    assert.equal(services.connections.count("ws"), 0);
    assert.equal(socket.closeCalls, 1);
    const slot = services.limits.openConnection(IP);
    assert.ok(slot, "the slot is free again");
    slot();
  });
});

Deno.test("serveChatSocket - a socket that opens in time outlives the handshake timeout", async () => {
  await withServices(async (services, room) => {
    const socket = new StandInSocket();
    serve(services, room, socket);
    socket.open();
    await pause(150);
    assert.equal(services.connections.count("ws"), 1);
    assert.equal(socket.closeCalls, 0);
    assert.equal(JSON.parse(socket.sent[0]).type, "welcome");
    socket.readyState = WebSocket.CLOSED;
    socket.dispatchEvent(new CloseEvent("close", { code: 1000 }));
    assert.equal(services.connections.count("ws"), 0);
  });
});

Deno.test("serveChatSocket - a rate-limited send that waited as told is no strike; one that did not wait is", async () => {
  await withServices(async (services, room) => {
    // The address's rate is always spent by others: every send is told to wait 5 ms (and the
    // socket's own rate, which would tell it to wait longer, is left out).
    services.limits.message = () => 5;
    services.limits.connectionBucket = () => undefined;
    const socket = new StandInSocket();
    serve(services, room, socket, { sid: "s-1", name: "ann", iat: Date.now() });
    socket.open();
    const send = (n: number) =>
      socket.dispatchEvent(
        new MessageEvent("message", {
          data: JSON.stringify({ type: "send", id: `m-${n}`, text: "hi" }),
        }),
      );
    for (let n = 0; n < 15; n++) {
      send(n);
      await pause(10);
    }
    const codes = () =>
      socket.sent.map((sent) => JSON.parse(sent)).filter(({ type }) => type === "error")
        .map(({ code }) => code);
    assert.equal(codes().length, 15);
    assert.ok(codes().every((code) => code === "rate_limited"));
    assert.equal(socket.closeCalls, 0);
    // Sends that do not wait are strikes (all but the first, which did): the tenth closes it.
    // Each is refused as it is dispatched, within the 5 ms the one before was told to wait.
    for (let n = 15; n < 25; n++) send(n);
    assert.equal(socket.closeCalls, 0);
    send(25);
    // It closes once the sends it took before are answered (none here): a turn later.
    await pause(0);
    assert.equal(socket.closeCalls, 1);
    socket.readyState = WebSocket.CLOSED;
    socket.dispatchEvent(new CloseEvent("close", { code: 1008 }));
  });
});

Deno.test("serveChatSocket - a send that fails unexpectedly is still answered, as internal_error", async () => {
  await withServices(async (services, room) => {
    const socket = new StandInSocket();
    serve(services, room, socket, { sid: "s-1", name: "ann", iat: Date.now() });
    socket.open();
    services.limits.message = () => {
      throw new Error("a bug in the limits");
    };
    const logged = console.error;
    console.error = () => {};
    try {
      const frame = JSON.stringify({ type: "send", id: "m-1", text: "hello" });
      socket.dispatchEvent(new MessageEvent("message", { data: frame }));
      await pause(20);
    } finally {
      console.error = logged;
    }
    const answers = socket.sent.map((sent) => JSON.parse(sent)).filter(({ type }) =>
      type === "error"
    );
    assert.deepEqual(answers.map(({ id, code }) => [id, code]), [["m-1", "internal_error"]]);
    socket.readyState = WebSocket.CLOSED;
    socket.dispatchEvent(new CloseEvent("close", { code: 1000 }));
  });
});

Deno.test("serveChatSocket - a socket the server closes is logged with the server's code, whatever the client answers", async () => {
  await withServices(async (services, room) => {
    const lines: Record<string, unknown>[] = [];
    services.events = new EventLog(true, (line) => lines.push(JSON.parse(line)));
    const socket = new StandInSocket();
    serve(services, room, socket);
    socket.open();
    // Open for good: its welcome has gone out.
    while (socket.sent.length === 0) await pause(5);
    services.connections.closeAll(1001, "server shutting down");
    assert.equal(socket.closeCalls, 1);
    // The client answered without a code.
    socket.readyState = WebSocket.CLOSED;
    socket.dispatchEvent(new CloseEvent("close", { code: 1005 }));
    const closed = lines.find(({ event }) => event === "connection_close");
    assert.equal(closed?.code, 1001);
  });
});

Deno.test("serveChatSocket - a message ends its session's spell of typing begun over another socket (a rename)", async () => {
  await withServices(async (services, room) => {
    const iat = Date.now();
    const frame = (data: unknown) => new MessageEvent("message", { data: JSON.stringify(data) });
    // The visitor types as "alice"...
    const before = new StandInSocket();
    serve(services, room, before, { sid: "s-1", name: "alice", iat });
    before.open();
    before.dispatchEvent(frame({ type: "typing" }));
    await pause(50);
    assert.deepEqual((await services.presence.read(room.id)).presence.typing, ["alice"]);
    // ...renames, so the page's socket is replaced by one under the new name...
    before.readyState = WebSocket.CLOSED;
    before.dispatchEvent(new CloseEvent("close", { code: 1000 }));
    await pause(20);
    const after = new StandInSocket();
    serve(services, room, after, { sid: "s-1", name: "alicia", iat });
    after.open();
    // ...and sends what was typed: the session is no longer typing, under either name.
    after.dispatchEvent(frame({ type: "send", id: "m-1", text: "typed as alice" }));
    await pause(300);
    assert.ok(after.sent.some((sent) => JSON.parse(sent).type === "ack"));
    assert.deepEqual((await services.presence.read(room.id)).presence.typing, []);
    after.readyState = WebSocket.CLOSED;
    after.dispatchEvent(new CloseEvent("close", { code: 1000 }));
    await pause(20);
  });
});

Deno.test("serveChatSocket - a frame without a type is told that it needs one", async () => {
  await withServices((services, room) => {
    const socket = new StandInSocket();
    serve(services, room, socket);
    socket.open();
    socket.dispatchEvent(new MessageEvent("message", { data: '{"id":"x1","text":"hi"}' }));
    const error = socket.sent.map((frame) => JSON.parse(frame)).find((f) => f.type === "error");
    assert.deepEqual(error, {
      type: "error",
      id: "x1",
      code: "invalid_frame",
      message: 'A frame needs a type: "send", "typing" or "ping"',
    });
    socket.dispatchEvent(new Event("close"));
    return Promise.resolve();
  });
});
