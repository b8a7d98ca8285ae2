import assert from "node:assert/strict";
import {
  loadSecret,
  readCookie,
  SESSION_MAX_AGE_SECONDS,
  sessionCookie,
  Sessions,
} from "./session.ts";

const SECRET = "a-test-secret-that-is-long-enough-0123456789";

Deno.test("Sessions - a token issued for a name verifies to that session", () => {
  const sessions = new Sessions(SECRET);
  const { session, token } = sessions.issue("ann");
  assert.deepEqual(sessions.verify(token), session);
  assert.equal(session.name, "ann");
  assert.match(session.sid, /^[0-9a-f-]{36}$/);
});

Deno.test("Sessions - renaming keeps the session id", () => {
  const sessions = new Sessions(SECRET);
  const first = sessions.issue("ann").session;
  const renamed = sessions.issue("annie", first.sid).session;
  assert.equal(renamed.sid, first.sid);
  assert.equal(renamed.name, "annie");
});

Deno.test("Sessions - tampered, foreign, malformed and stale tokens are refused", () => {
  const sessions = new Sessions(SECRET);
  const { token } = sessions.issue("ann");
  const [version, payload, signature] = token.split(".");
  const forgedPayload = btoa(JSON.stringify({ sid: "x", name: "mallory", iat: Date.now() }))
    .replace(/=+$/, "");
  const stale = new Sessions(SECRET);
  const realNow = Date.now;
  Date.now = () => realNow() - 401 * 24 * 60 * 60 * 1000;
  const old = stale.issue("ann").token;
  Date.now = realNow;
  for (
    const bad of [
      `${version}.${forgedPayload}.${signature}`,
      `${version}.${payload}.${signature.slice(0, -2)}AA`,
      new Sessions(`${SECRET}-other`).issue("ann").token,
      `v2.${payload}.${signature}`,
      `${token}.extra`,
      "garbage",
      "",
      old,
    ]
  ) {
    assert.equal(sessions.verify(bad), null, bad);
  }
});

Deno.test("Sessions - a token verified once is still refused when it grows stale", () => {
  const sessions = new Sessions(SECRET);
  const { token, session } = sessions.issue("ada");
  assert.deepEqual(sessions.verify(token), session);
  const now = Date.now;
  Date.now = () => now() + SESSION_MAX_AGE_SECONDS * 1000 + 1;
  try {
    assert.equal(sessions.verify(token), null);
  } finally {
    Date.now = now;
  }
  assert.deepEqual(sessions.verify(token), session);
});

Deno.test("Sessions.fromRequest - reads the cookie, then a bearer token, then ?token=", () => {
  const sessions = new Sessions(SECRET);
  const ann = sessions.issue("ann").token;
  const bob = sessions.issue("bob").token;
  const name = (init: { url?: string; headers?: HeadersInit }) =>
    sessions.fromRequest(new Request(init.url ?? "http://x/", { headers: init.headers }))?.name;
  assert.equal(name({ headers: { cookie: `a=1; parley_session=${ann}; b=2` } }), "ann");
  assert.equal(name({ headers: { authorization: `Bearer ${bob}` } }), "bob");
  assert.equal(name({ url: `http://x/api/rooms/a/ws?token=${bob}` }), "bob");
  assert.equal(name({ url: `http://x/api/rooms/a/events?token=${bob}` }), "bob");
  assert.equal(name({ url: `http://x/api/rooms/a/messages?token=${bob}` }), undefined);
  assert.equal(
    name({ headers: { cookie: "parley_session=stale", authorization: `Bearer ${bob}` } }),
    "bob",
  );
  assert.equal(
    name({ headers: { cookie: `parley_session=${ann}`, authorization: `Bearer ${bob}` } }),
    "ann",
  );
  assert.equal(name({ headers: { cookie: "parley_session=forged" } }), undefined);
  assert.equal(name({}), undefined);
});

Deno.test("sessionCookie - HttpOnly, SameSite=Lax, Secure only over https, cleared with Max-Age=0", () => {
  assert.equal(
    sessionCookie("t", { secure: false }),
    "parley_session=t; Path=/; Max-Age=34560000; HttpOnly; SameSite=Lax",
  );
  assert.match(sessionCookie("t", { secure: true }), /; Secure$/);
  assert.match(sessionCookie("", { secure: false }), /^parley_session=; Path=\/; Max-Age=0;/);
  assert.equal(readCookie("a=1; parley_session=x=y", "parley_session"), "x=y");
});

Deno.test("loadSecret - generates one secret and keeps it in KV, or takes PARLEY_SECRET", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const first = await loadSecret(kv, undefined);
    assert.ok(first.length >= 40);
    assert.equal(await loadSecret(kv, undefined), first);
    assert.equal(await loadSecret(kv, SECRET), SECRET);
  } finally {
    kv.close();
  }
});

Deno.test("Sessions.fromRequest - ?token= counts only on a room's WebSocket and event-stream URLs", () => {
  const sessions = new Sessions(SECRET);
  const token = sessions.issue("ann").token;
  const name = (path: string) =>
    sessions.fromRequest(new Request(`http://x${path}?token=${token}`))?.name;
  assert.equal(name("/api/rooms/lobby/ws"), "ann");
  assert.equal(name("/api/rooms/lobby/events"), "ann");
  assert.equal(name("/rooms/events"), undefined);
  assert.equal(name("/rooms/ws"), undefined);
  assert.equal(name("/api/rooms/lobby/messages"), undefined);
});
