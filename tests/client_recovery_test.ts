/**
 * The client library (`lib/client.ts`) recovering from what goes wrong between it and the server:
 * a lost session, dropped sockets, and wake-ups while it is already reconnecting. Scripted with a
 * fake room, so each case happens every time.
 *
 * @module
 */
import assert from "node:assert/strict";
import { connect } from "../lib/client.ts";
import type { Message } from "../lib/types.ts";
import { type FakeRoom, type FakeSocket, withFakeRoom } from "./fake_room.ts";
import { waitFor } from "./wait_for.ts";

const WELCOME = { type: "welcome", room: "r", head: 0, epoch: "e" };

/** A message of room "r", by "ada". */
function messageAt(seq: number, id: string, text: string): Message {
  return { seq, id, room: "r", author: "ada", text, at: 1 };
}

/** The frames a server answers a send stored at `seq` with: its ack, then the message itself. */
function stored(frame: Record<string, unknown>, seq = 1): unknown[] {
  const id = String(frame.id);
  const message = messageAt(seq, id, String(frame.text));
  return [{ type: "ack", id, seq }, { type: "messages", messages: [message] }];
}

function sessionRequired(frame: Record<string, unknown>): unknown[] {
  return [{ type: "error", id: frame.id, code: "session_required", message: "Pick a name" }];
}

/** Connects to `room` as "ada", with a token for a session the room no longer knows. */
function connectWithExpiredToken(room: FakeRoom) {
  return connect("r", { transport: "ws", baseUrl: room.baseUrl, name: "ada", token: "expired" });
}

/** A room that stores sends on sockets `knows` a session of, and refuses the rest. */
function roomKnowing(knows: (from: FakeSocket) => boolean) {
  return {
    onOpen: () => [WELCOME],
    onFrame: (frame: Record<string, unknown>, from: FakeSocket) => {
      if (frame.type !== "send") return [];
      return knows(from) ? stored(frame) : sessionRequired(frame);
    },
  };
}

Deno.test("client - a wake-up while a transport opens does not open a second one", async () => {
  // The first socket fails at once; the next never says welcome, so the client stays connecting.
  const script = { onOpen: (index: number) => index === 0 ? "close" as const : [] };
  await withFakeRoom(script, async (room) => {
    const connection = connect("r", { transport: "ws", baseUrl: room.baseUrl, token: "t" });
    try {
      await waitFor("the second socket", () => room.sockets.length === 2);
      assert.equal(connection.status.state, "connecting");
      for (let i = 0; i < 3; i++) globalThis.dispatchEvent(new Event("online"));
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(room.sockets.length, 2);
      assert.equal(room.sockets[1].readyState, WebSocket.OPEN);
    } finally {
      connection.close();
    }
  });
});

Deno.test("client - reconnectNow ends the countdown: the status no longer says it waits", async () => {
  // The first socket fails at once; the next never says welcome, so the client stays connecting.
  const script = { onOpen: (index: number) => index === 0 ? "close" as const : [] };
  const random = Math.random;
  // The longest first backoff (250 ms), so the countdown is still on when the test asks.
  Math.random = () => 0.999;
  try {
    await withFakeRoom(script, async (room) => {
      const connection = connect("r", { transport: "ws", baseUrl: room.baseUrl, token: "t" });
      try {
        await waitFor("the countdown", () => connection.status.retryAt !== undefined, 5000, 1);
        connection.reconnectNow();
        // Told it is trying now, a page shows "Connecting…", not a countdown and "Try now".
        const { state, retryAt } = connection.status;
        assert.equal(state, "connecting");
        assert.ok((retryAt ?? 0) <= Date.now(), `still counting down to ${retryAt}`);
        await waitFor("the second socket", () => room.sockets.length === 2);
      } finally {
        connection.close();
      }
    });
  } finally {
    Math.random = random;
  }
});

Deno.test("client - a first try that fails leaves it connecting; only a connection once live is reconnecting", async () => {
  const script = { onOpen: (index: number) => index === 0 ? "close" as const : [WELCOME] };
  await withFakeRoom(script, async (room) => {
    const connection = connect("r", { transport: "ws", baseUrl: room.baseUrl, token: "t" });
    const states: string[] = [];
    connection.on("status", ({ state }) => states.push(state));
    try {
      await waitFor("the connection to go live", () => connection.status.state === "live");
      assert.equal(states[0], "connecting");
      assert.deepEqual(new Set(states), new Set(["connecting", "live"]));
      room.sockets[1].close(1011);
      await waitFor("live again", () => room.sockets.length === 3 && states.at(-1) === "live");
      assert.equal(states.at(-2), "reconnecting");
    } finally {
      connection.close();
    }
  });
});

Deno.test("client - a connection taking over from a live one reconnects from its first try", async () => {
  const script = { onOpen: (index: number) => index === 0 ? "close" as const : [WELCOME] };
  await withFakeRoom(script, async (room) => {
    const connection = connect("r", {
      transport: "ws",
      baseUrl: room.baseUrl,
      token: "t",
      wasLive: true,
    });
    const states = [connection.status.state];
    connection.on("status", ({ state }) => states.push(state));
    try {
      await waitFor("the connection to go live", () => connection.status.state === "live");
      // The first try failed: the countdown to the second says reconnecting, as before it.
      assert.deepEqual(new Set(states), new Set(["reconnecting", "live"]));
      assert.ok(states.indexOf("live") > 1, `states: ${states.join(", ")}`);
    } finally {
      connection.close();
    }
  });
});

Deno.test("client - a send refused for want of a session makes a new session and goes again", async () => {
  const script = roomKnowing(({ url }) => url.searchParams.get("token") === "token-1");
  await withFakeRoom(script, async (room) => {
    const connection = connectWithExpiredToken(room);
    const texts: string[] = [];
    connection.on("messages", (messages) => texts.push(...messages.map(({ text }) => text)));
    try {
      connection.send("hello");
      await waitFor("the message to be stored", () => connection.outbox.length === 0);
      assert.deepEqual(texts, ["hello"]);
      assert.equal(room.sessions, 1);
      assert.equal(connection.status.state, "live");
    } finally {
      connection.close();
    }
  });
});

/** Runs `test` as if on a page of `origin` that takes cookies, as the room page is. */
async function onCookiePage(origin: string, test: () => Promise<void>): Promise<void> {
  const location = Object.getOwnPropertyDescriptor(globalThis, "location");
  Object.defineProperty(globalThis, "location", { value: new URL(origin), configurable: true });
  Object.defineProperty(navigator, "cookieEnabled", { value: true, configurable: true });
  try {
    await test();
  } finally {
    if (location) Object.defineProperty(globalThis, "location", location);
    delete (navigator as { cookieEnabled?: boolean }).cookieEnabled;
  }
}

/**
 * Sends one message as "ada" from a cookie page, to a room that knows the sessions of the sockets
 * `knows` says; resolves, once it is stored, to what the room saw.
 */
async function sendFromCookiePage(knows: (from: FakeSocket) => boolean): Promise<FakeRoom> {
  let seen: FakeRoom | undefined;
  await withFakeRoom(roomKnowing(knows), (room) =>
    onCookiePage(room.baseUrl, async () => {
      seen = room;
      const connection = connect("r", { transport: "ws", baseUrl: room.baseUrl, name: "ada" });
      try {
        connection.send("hello");
        await waitFor("the message to be stored", () => connection.outbox.length === 0);
      } finally {
        connection.close();
      }
    }));
  return seen!;
}

Deno.test("client - on a cookie page, a lost session is made again and the cookie still used", async () => {
  // The server lost the first session (its data was reset, say); the second one is known.
  const room = await sendFromCookiePage(({ index }) => index > 0);
  assert.equal(room.sessions, 2);
  // No token in any URL: the new session's cookie carries it.
  assert.deepEqual(room.urls.map((url) => url.searchParams.has("token")), [false, false]);
});

Deno.test("client - on a page whose cookie never comes, the token goes in the URL", async () => {
  // Cookies are blocked or dropped on the way: only a token in the URL names the session.
  const room = await sendFromCookiePage(({ url }) => url.searchParams.has("token"));
  assert.equal(room.sessions, 2);
  assert.deepEqual(room.urls.map((url) => url.searchParams.get("token")), [null, null, "token-2"]);
});

Deno.test("client - a send still refused after a new session fails, and a retry tries one more", async () => {
  const script = {
    onOpen: () => [WELCOME],
    onFrame: (frame: Record<string, unknown>) =>
      frame.type === "send" ? sessionRequired(frame) : [],
  };
  await withFakeRoom(script, async (room) => {
    const connection = connectWithExpiredToken(room);
    const failed = () => connection.outbox[0]?.state === "failed";
    try {
      const id = connection.send("hello");
      await waitFor("the send to fail", failed);
      assert.equal(connection.outbox[0].error, "Pick a name (session_required)");
      assert.deepEqual(connection.outbox[0].failure, {
        code: "session_required",
        message: "Pick a name",
      });
      assert.equal(room.sessions, 1);
      connection.retry(id);
      await waitFor("the retry to fail", failed);
      assert.equal(room.sessions, 2);
    } finally {
      connection.close();
    }
  });
});

Deno.test("client - a session that is never made is asked for again", async () => {
  // The first POST /api/session goes unanswered; the second is answered.
  const script = { onOpen: () => [WELCOME], holdSession: (index: number) => index === 0 };
  await withFakeRoom(script, async (room) => {
    const connection = connect("r", { transport: "ws", baseUrl: room.baseUrl, name: "ada" });
    try {
      await waitFor("the connection to go live", () => connection.status.state === "live", 10_000);
      assert.equal(room.sessionRequests, 2);
      assert.deepEqual(room.urls.map((url) => url.searchParams.get("token")), ["token-1"]);
    } finally {
      connection.close();
    }
  });
});

Deno.test("client - typing after a message is stored tells the room again at once", async () => {
  // Over HTTP a keystroke's signal can overtake the message that ends the spell: the first
  // keystroke after the message is stored must be told again, not dropped as too soon.
  const frames: string[] = [];
  let ack: ((frames: unknown[]) => void) | undefined;
  const script = {
    onOpen: () => [WELCOME],
    onFrame: (frame: Record<string, unknown>, { socket }: FakeSocket) => {
      frames.push(String(frame.type));
      if (frame.type === "send") {
        ack = (answers) => answers.forEach((answer) => socket.send(JSON.stringify(answer)));
      }
      return [];
    },
  };
  await withFakeRoom(script, async (room) => {
    const connection = connect("r", { transport: "ws", baseUrl: room.baseUrl, token: "t" });
    try {
      await waitFor("the connection to go live", () => connection.status.state === "live");
      connection.send("hello");
      connection.typing();
      await waitFor("the send and the typing", () => frames.length === 2);
      ack!(stored({ type: "send", id: connection.outbox[0].id, text: "hello" }));
      await waitFor("the message to be stored", () => connection.outbox.length === 0);
      connection.typing();
      await waitFor("typing told again", () => frames.length === 3);
      assert.deepEqual(frames, ["send", "typing", "typing"]);
    } finally {
      connection.close();
    }
  });
});

Deno.test("client - sockets dropped while a send is in flight do not use up its tries", async () => {
  // The first 12 sockets drop on a send, more than the 10 "later" answers a message may have.
  const script = {
    onOpen: () => [WELCOME],
    onFrame: (frame: Record<string, unknown>, { socket, index }: FakeSocket) => {
      if (frame.type !== "send") return [];
      if (index >= 12) return stored(frame);
      socket.close(1011);
      return [];
    },
  };
  await withFakeRoom(script, async (fake) => {
    const connection = connect("r", { transport: "ws", baseUrl: fake.baseUrl, token: "t" });
    try {
      connection.send("hello");
      await waitFor("the message to be stored", () => connection.outbox.length === 0, 15_000);
      assert.equal(fake.sockets.length, 13);
    } finally {
      connection.close();
    }
  });
});

Deno.test("client - a resync below a message acknowledged but not yet delivered (a backup restored since) sends it again under its id", async () => {
  const sends: { socket: number; id: unknown }[] = [];
  const restored = [messageAt(1, "a", "one"), messageAt(2, "b", "two")];
  const script = {
    onOpen: (index: number) =>
      index === 0 ? [{ ...WELCOME, head: 4 }] : [{ ...WELCOME, head: 2 }, {
        type: "resync",
        room: "r",
        epoch: "e",
        head: 2,
        messages: restored,
      }],
    onFrame: (frame: Record<string, unknown>, { socket, index }: FakeSocket) => {
      if (frame.type !== "send") return [];
      sends.push({ socket: index, id: frame.id });
      if (index > 0) return stored(frame, 3);
      // Stored at 5 and acknowledged; the server stops before delivering it, and comes back
      // restored from a backup whose head is 2.
      setTimeout(() => socket.close(1012), 50);
      return [{ type: "ack", id: frame.id, seq: 5 }];
    },
  };
  await withFakeRoom(script, async (room) => {
    const connection = connect("r", { transport: "ws", baseUrl: room.baseUrl, token: "t" });
    const resyncs: Message[][] = [];
    connection.on("resync", (messages) => resyncs.push(messages));
    try {
      await waitFor("the connection to go live", () => connection.status.state === "live");
      const id = connection.send("lost in the restore");
      await waitFor("the message stored again", () => connection.outbox.length === 0, 10_000);
      assert.deepEqual(sends, [{ socket: 0, id }, { socket: 1, id }]);
      assert.deepEqual(resyncs, [restored]);
      assert.equal(connection.last, 3);
    } finally {
      connection.close();
    }
  });
});
