import assert from "node:assert/strict";
import { connect } from "../lib/client.ts";
import { requestJson, sessionToken, startServer, TestSocket } from "./server.ts";

type PresenceFrame = { type: string; online?: string[]; typing?: string[] };

function latestPresence(socket: TestSocket): PresenceFrame | undefined {
  return socket.frames.filter((frame) => frame.type === "presence").at(-1) as PresenceFrame;
}

function onlineIs(names: string[]) {
  return (socket: TestSocket) =>
    JSON.stringify(latestPresence(socket)?.online) === JSON.stringify(names);
}

Deno.test("presence - joins and leaves show across two workers and all three transports", async () => {
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/parley.kv`;
  const first = await startServer({ kvPath });
  const second = await startServer({ kvPath });
  await requestJson(first, "/api/rooms", { body: { id: "lobby", title: "Lobby" } });
  const observer = TestSocket.open(first, "lobby", { name: "ann" });
  let bobOnSse: AbortController | undefined;
  const cat = connect("lobby", { name: "cat", transport: "poll", baseUrl: second.origin });
  try {
    // Cat polls the other worker: the poll's presence shows here too.
    await observer.until(onlineIs(["ann", "cat"]), 8000);

    bobOnSse = new AbortController();
    const sse = await fetch(`${second.origin}/api/rooms/lobby/events`, {
      headers: { authorization: `Bearer ${sessionToken(second, "bob")}` },
      signal: bobOnSse.signal,
    });
    const reader = sse.body!.getReader();
    reader.read().catch(() => {});
    await observer.until(onlineIs(["ann", "bob", "cat"]), 8000);

    bobOnSse.abort();
    await reader.cancel().catch(() => {});
    await observer.until(onlineIs(["ann", "cat"]), 8000);
  } finally {
    cat.close();
    bobOnSse?.abort();
    await observer.close();
    await first.close();
    await second.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("presence - two tabs of one session count once", async () => {
  const server = await startServer();
  try {
    await requestJson(server, "/api/rooms", { body: { id: "lobby", title: "Lobby" } });
    const token = sessionToken(server, "ann");
    const tabs = [0, 1].map(() => TestSocket.open(server, "lobby", { token }));
    const observer = TestSocket.open(server, "lobby", { name: "bob" });
    try {
      await observer.until(onlineIs(["ann", "bob"]), 5000);
      await tabs[0].close();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.deepEqual(latestPresence(observer)?.online, ["ann", "bob"]);
      await tabs[1].close();
      await observer.until(onlineIs(["bob"]), 5000);
    } finally {
      for (const tab of tabs) await tab.close();
      await observer.close();
    }
  } finally {
    await server.close();
  }
});

Deno.test("typing - shows on every transport for about 5 s and is never stored", async () => {
  const server = await startServer();
  await requestJson(server, "/api/rooms", { body: { id: "lobby", title: "Lobby" } });
  const observer = TestSocket.open(server, "lobby", { name: "bob" });
  const typists = [connect("lobby", { name: "sam", transport: "sse", baseUrl: server.origin })];
  try {
    const ann = TestSocket.open(server, "lobby", { name: "ann" });
    try {
      await ann.until((s) => s.frames.some((frame) => frame.type === "welcome"));
      ann.send({ type: "typing" });
      await observer.until((s) => latestPresence(s)?.typing?.includes("ann") ?? false, 4000);
      const shownAt = Date.now();
      if (typists[0].status.state !== "live") {
        await new Promise<void>((resolve) =>
          typists[0].on("status", (status) => status.state === "live" && resolve())
        );
      }
      typists[0].typing();
      await observer.until((s) => latestPresence(s)?.typing?.includes("sam") ?? false, 4000);
      await observer.until((s) => latestPresence(s)?.typing?.length === 0, 10_000);
      const shownFor = Date.now() - shownAt;
      assert.ok(shownFor >= 4000 && shownFor <= 9000, `typing showed for ${shownFor} ms`);
      const { body } = await requestJson(server, "/api/rooms/lobby/messages");
      assert.deepEqual(body.messages, []);
    } finally {
      await ann.close();
    }
  } finally {
    for (const typist of typists) typist.close();
    await observer.close();
    await server.close();
  }
});

function typingIs(names: string[]) {
  return (socket: TestSocket) =>
    JSON.stringify(latestPresence(socket)?.typing) === JSON.stringify(names);
}

Deno.test("typing - a message ends its sender's spell, and typing on shows again at once", async () => {
  const server = await startServer();
  await requestJson(server, "/api/rooms", { body: { id: "lobby", title: "Lobby" } });
  const observer = TestSocket.open(server, "lobby", { name: "bob" });
  const ann = TestSocket.open(server, "lobby", { name: "ann" });
  const token = sessionToken(server, "cy");
  const asCy = (path: string, body?: unknown) =>
    requestJson(server, `/api/rooms/lobby/${path}`, {
      body,
      headers: { authorization: `Bearer ${token}` },
    });
  try {
    await ann.until((s) => s.frames.some((frame) => frame.type === "welcome"));
    // Over a WebSocket: typing, a message, typing on.
    ann.send({ type: "typing" });
    await observer.until(typingIs(["ann"]), 4000);
    ann.send({ type: "send", id: "ann-1", text: "first" });
    // Well before the 5 s the spell would last by itself.
    await observer.until(typingIs([]), 2000);
    ann.send({ type: "typing" });
    await observer.until(typingIs(["ann"]), 2000);
    // Over HTTP, the same.
    assert.equal((await asCy("typing", {})).status, 204);
    await observer.until(typingIs(["ann", "cy"]), 4000);
    assert.equal((await asCy("messages", { id: "cy-1", text: "second" })).status, 201);
    await observer.until(typingIs(["ann"]), 2000);
    assert.equal((await asCy("typing", {})).status, 204);
    await observer.until(typingIs(["ann", "cy"]), 2000);
  } finally {
    await ann.close();
    await observer.close();
    await server.close();
  }
});

Deno.test("typing - POST /api/rooms/:room/typing needs a session", async () => {
  const server = await startServer();
  try {
    await requestJson(server, "/api/rooms", { body: { id: "lobby", title: "Lobby" } });
    const anonymous = await fetch(`${server.origin}/api/rooms/lobby/typing`, { method: "POST" });
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
    const named = await fetch(`${server.origin}/api/rooms/lobby/typing`, {
      method: "POST",
      headers: { authorization: `Bearer ${sessionToken(server, "ann")}` },
    });
    assert.equal(named.status, 204);
  } finally {
    await server.close();
  }
});

Deno.test("presence - one address shows no more sessions online, by polls or typing, than it may connect", async () => {
  const server = await startServer({ env: { PARLEY_CONNECTIONS_PER_IP: "3" } });
  try {
    await requestJson(server, "/api/rooms", { body: { id: "lobby", title: "Lobby" } });
    const observer = TestSocket.open(server, "lobby");
    try {
      await observer.until((socket) => latestPresence(socket) !== undefined, 5000);
      // Sessions made for the purpose, each shown by a poll that does not wait, or by typing.
      for (const name of ["p1", "p2", "p3", "p4"]) {
        const headers = { authorization: `Bearer ${sessionToken(server, name)}` };
        await fetch(`${server.origin}/api/rooms/lobby/messages?after=0&wait=0`, { headers })
          .then((response) => response.body?.cancel());
      }
      for (const name of ["t1", "t2"]) {
        const headers = { authorization: `Bearer ${sessionToken(server, name)}` };
        await fetch(`${server.origin}/api/rooms/lobby/typing`, { method: "POST", headers })
          .then((response) => response.body?.cancel());
      }
      await observer.until(onlineIs(["p1", "p2", "p3"]), 5000);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.deepEqual(latestPresence(observer)?.online, ["p1", "p2", "p3"]);
      assert.deepEqual(latestPresence(observer)?.typing, []);
    } finally {
      await observer.close();
    }
  } finally {
    await server.close();
  }
});
