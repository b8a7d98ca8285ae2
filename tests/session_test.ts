import assert from "node:assert/strict";
import { connect, createSession, type Message } from "../lib/client.ts";
import type { TransportName } from "../lib/transports/transport.ts";
import { requestJson, startServer, type TestServer, TestSocket, withLobby } from "./server.ts";

function sessionPost(server: TestServer, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${server.origin}/api/session`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

function cookieOf(response: Response): string {
  const cookie = response.headers.get("set-cookie") ?? "";
  return cookie.slice(0, cookie.indexOf(";"));
}

Deno.test("POST /api/session - sets an HttpOnly, SameSite=Lax cookie and returns the token", async () => {
  await withLobby(async (server) => {
    const response = await sessionPost(server, { name: "  ann " });
    assert.equal(response.status, 201);
    const body = await response.json();
    assert.deepEqual(body.session, { name: "ann" });
    const setCookie = response.headers.get("set-cookie") ?? "";
    assert.match(
      setCookie,
      /^parley_session=v1\.[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/,
    );
    assert.equal(cookieOf(response), `parley_session=${body.token}`);
    const me = await fetch(`${server.origin}/api/session`, {
      headers: { cookie: cookieOf(response) },
    });
    assert.deepEqual(await me.json(), { session: body.session });
  });
});

Deno.test("POST /api/session - Secure behind a trusted https proxy; bad names are 400", async () => {
  const server = await startServer({ env: { PARLEY_TRUST_PROXY: "on" } });
  try {
    const secure = await sessionPost(server, { name: "ann" }, { "x-forwarded-proto": "https" });
    await secure.body?.cancel();
    assert.match(secure.headers.get("set-cookie") ?? "", /; Secure$/);
    for (const name of ["", "   ", "a".repeat(33), "bell\u0007", 7]) {
      const response = await sessionPost(server, { name });
      assert.equal(response.status, 400);
      assert.equal((await response.json()).error.code, "invalid_author");
    }
  } finally {
    await server.close();
  }
});

Deno.test("POST /api/session - renaming keeps the session; later messages show the new name", async () => {
  await withLobby(async (server) => {
    const first = await sessionPost(server, { name: "ann" });
    await first.body?.cancel();
    const post = (cookie: string, text: string) =>
      fetch(`${server.origin}/api/rooms/lobby/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie },
        body: JSON.stringify({ text, author: "mallory" }),
      }).then((response) => response.json());
    const before = await post(cookieOf(first), "before");
    const renamed = await sessionPost(server, { name: "annie" }, { cookie: cookieOf(first) });
    assert.equal(renamed.status, 200);
    const after = await post(cookieOf(renamed), "after");
    assert.equal(before.message.author, "ann");
    assert.equal(after.message.author, "annie");
    const { body } = await requestJson(server, "/api/rooms/lobby/messages");
    assert.deepEqual((body.messages as Message[]).map((m) => m.author), ["ann", "annie"]);
    // Still one person: the same author id before and after.
    assert.match(before.message.authorId, /^[\w-]{8}$/);
    assert.equal(after.message.authorId, before.message.authorId);
  });
});

Deno.test("authorId - one per session and room: two people of one name differ, one person's rooms do not link", async () => {
  await withLobby(async (server) => {
    await requestJson(server, "/api/rooms", { body: { id: "den", title: "Den" } });
    const sams = [];
    for (let i = 0; i < 2; i++) {
      const response = await sessionPost(server, { name: "sam" });
      await response.body?.cancel();
      sams.push(cookieOf(response));
    }
    const authorId = async (cookie: string, room: string) => {
      const response = await fetch(`${server.origin}/api/rooms/${room}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie },
        body: JSON.stringify({ text: "hi" }),
      });
      assert.equal(response.status, 201);
      return (await response.json()).message.authorId;
    };
    const [first, second] = [await authorId(sams[0], "lobby"), await authorId(sams[1], "lobby")];
    assert.notEqual(first, second);
    assert.equal(await authorId(sams[0], "lobby"), first);
    assert.notEqual(await authorId(sams[0], "den"), first);
  });
});

Deno.test("POST messages - a tampered cookie or no session is 401 and stores nothing", async () => {
  await withLobby(async (server) => {
    const real = await sessionPost(server, { name: "ann" });
    await real.body?.cancel();
    const [name, token] = cookieOf(real).split("=");
    const [version, , signature] = token.split(".");
    const mallory = btoa(JSON.stringify({ sid: "x", name: "ann", iat: Date.now() }))
      .replace(/=+$/, "");
    for (const cookie of [`${name}=${version}.${mallory}.${signature}`, "", "parley_session="]) {
      const response = await fetch(`${server.origin}/api/rooms/lobby/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie },
        body: JSON.stringify({ author: "ann", text: "forged" }),
      });
      assert.equal(response.status, 401);
      assert.equal((await response.json()).error.code, "session_required");
    }
    const { body } = await requestJson(server, "/api/rooms/lobby/messages");
    assert.deepEqual(body.messages, []);
  });
});

for (const transport of ["ws", "sse", "poll"] as TransportName[]) {
  Deno.test(`author - stamped from the session over ${transport}, whatever the client claims`, async () => {
    await withLobby(async (server) => {
      const { token } = await createSession(server.origin, "carol");
      const chat = connect("lobby", { token, transport, baseUrl: server.origin, after: 0 });
      const watcher = TestSocket.open(server, "lobby", { after: 0 });
      try {
        await new Promise<void>((resolve) =>
          chat.on("status", (s) => s.state === "live" && resolve())
        );
        chat.send("it is me");
        await watcher.until((s) => s.messages.length === 1);
        assert.equal(watcher.messages[0].author, "carol");
      } finally {
        chat.close();
        await watcher.close();
      }
    });
  });
}

Deno.test("sessions - a session survives a restart: the secret is kept in KV", async () => {
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/parley.kv`;
  try {
    let issued = { token: "", session: {} };
    await withLobby(async (server) => {
      issued = await (await sessionPost(server, { name: "ann" })).json();
    }, { kvPath });
    const server = await startServer({ kvPath });
    try {
      const me = await fetch(`${server.origin}/api/session`, {
        headers: { authorization: `Bearer ${issued.token}` },
      });
      // The same name and the same public id.
      assert.deepEqual(await me.json(), { session: issued.session });
    } finally {
      await server.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
