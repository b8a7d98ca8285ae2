/**
 * Origin check tests against a real server on port 0: one row per method, path, `Origin`
 * header and expected status. Requests are written by hand over TCP so every row can send the
 * exact `Origin` (WebSocket clients cannot) and a `Host` of `localhost:PORT`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { EventLog } from "../lib/event_log.ts";
import { rawRequest } from "./raw_http.ts";
import { requestJson, sessionToken, startServer } from "./server.ts";

const ALLOWLIST = "https://chat.example.com, http://Partner.Example:8080/";

type Endpoint = "ws" | "events" | "create room" | "post message" | "form" | "list rooms" | "poll";

/** How each endpoint is called, and the status it answers when the origin passes. */
const ENDPOINTS: Record<
  Endpoint,
  { method: string; path: string; ok: number; headers?: Array<[string, string]>; body?: string }
> = {
  "ws": {
    method: "GET",
    path: "/api/rooms/lobby/ws",
    ok: 101,
    headers: [
      ["Upgrade", "websocket"],
      ["Connection", "Upgrade"],
      ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="],
      ["Sec-WebSocket-Version", "13"],
    ],
  },
  "events": {
    method: "GET",
    path: "/api/rooms/lobby/events",
    ok: 200,
    headers: [["Accept", "text/event-stream"]],
  },
  "create room": {
    method: "POST",
    path: "/api/rooms",
    ok: 201,
    headers: [["Content-Type", "application/json"]],
    body: JSON.stringify({ id: "fresh", title: "Fresh" }),
  },
  "post message": {
    method: "POST",
    path: "/api/rooms/lobby/messages",
    ok: 201,
    headers: [["Content-Type", "application/json"]],
    body: JSON.stringify({ text: "hello" }),
  },
  "form": {
    method: "POST",
    path: "/",
    ok: 303,
    headers: [["Content-Type", "application/x-www-form-urlencoded"]],
    body: "id=fresh&title=Fresh",
  },
  "list rooms": { method: "GET", path: "/api/rooms", ok: 200 },
  "poll": { method: "GET", path: "/api/rooms/lobby/messages?after=0", ok: 200 },
};

/**
 * One request and its expected status. In `origin`, `{host}` is `localhost:PORT` (the `Host`
 * every request sends), `{port}` is PORT and `{other}` another port; undefined sends none.
 */
interface Row {
  endpoint: Endpoint;
  origin: string | undefined;
  status: number | "ok";
  /** Start the server with `PARLEY_ALLOWED_ORIGINS` set to `ALLOWLIST`. */
  allowlist?: boolean;
}

const SAME = "http://{host}";
const FOREIGN = "https://evil.example";

const ROWS: Row[] = [
  // WebSocket upgrades: same host, no Origin, and an allowlisted origin pass; nothing else does.
  { endpoint: "ws", origin: SAME, status: "ok" },
  { endpoint: "ws", origin: "https://{host}", status: "ok" }, // TLS ends at a proxy
  { endpoint: "ws", origin: undefined, status: "ok" },
  { endpoint: "ws", origin: FOREIGN, status: 403 },
  { endpoint: "ws", origin: "null", status: 403 },
  { endpoint: "ws", origin: "", status: 403 },
  { endpoint: "ws", origin: "http://{host}.evil.com", status: 403 },
  { endpoint: "ws", origin: "http://evil-{host}", status: 403 },
  { endpoint: "ws", origin: "http://{host}1", status: 403 },
  { endpoint: "ws", origin: "http://{host}0", status: 403 },
  { endpoint: "ws", origin: "http://{host}/", status: 403 },
  { endpoint: "ws", origin: "http://{host}/chat", status: 403 },
  { endpoint: "ws", origin: "http://{host}.", status: 403 },
  { endpoint: "ws", origin: "http://{host}@evil.com", status: 403 },
  { endpoint: "ws", origin: "http://evil.com@{host}", status: 403 },
  { endpoint: "ws", origin: "http://evil.com/{host}", status: 403 },
  { endpoint: "ws", origin: "http://evil.com?{host}", status: 403 },
  { endpoint: "ws", origin: "http://localhost:{other}", status: 403 },
  { endpoint: "ws", origin: "http://localhost", status: 403 },
  { endpoint: "ws", origin: "http://127.0.0.1:{port}", status: 403 },
  { endpoint: "ws", origin: "http://LOCALHOST:{port}", status: 403 },
  { endpoint: "ws", origin: "ws://{host}", status: 403 },
  { endpoint: "ws", origin: "{host}", status: 403 },
  { endpoint: "ws", origin: "http://{host} http://evil.example", status: 403 },
  { endpoint: "ws", origin: "http://{host}, http://evil.example", status: 403 },
  { endpoint: "ws", origin: "https://chat.example.com", status: 403 },
  { endpoint: "ws", origin: "https://chat.example.com", status: "ok", allowlist: true },
  { endpoint: "ws", origin: "http://partner.example:8080", status: "ok", allowlist: true },
  { endpoint: "ws", origin: SAME, status: "ok", allowlist: true },
  { endpoint: "ws", origin: "http://chat.example.com", status: 403, allowlist: true },
  { endpoint: "ws", origin: "https://chat.example.com:8443", status: 403, allowlist: true },
  { endpoint: "ws", origin: "https://chat.example.com.evil.com", status: 403, allowlist: true },
  { endpoint: "ws", origin: "https://evil-chat.example.com", status: 403, allowlist: true },
  { endpoint: "ws", origin: "https://chat.example.com/", status: 403, allowlist: true },
  { endpoint: "ws", origin: "http://partner.example:8080/", status: 403, allowlist: true },
  { endpoint: "ws", origin: FOREIGN, status: 403, allowlist: true },
  // Server-Sent Events.
  { endpoint: "events", origin: SAME, status: "ok" },
  { endpoint: "events", origin: undefined, status: "ok" },
  { endpoint: "events", origin: FOREIGN, status: 403 },
  { endpoint: "events", origin: "null", status: 403 },
  { endpoint: "events", origin: "http://{host}.evil.com", status: 403 },
  { endpoint: "events", origin: "https://chat.example.com", status: "ok", allowlist: true },
  // State-changing requests.
  { endpoint: "create room", origin: SAME, status: "ok" },
  { endpoint: "create room", origin: undefined, status: "ok" },
  { endpoint: "create room", origin: FOREIGN, status: 403 },
  { endpoint: "create room", origin: "null", status: 403 },
  { endpoint: "create room", origin: "http://evil-{host}", status: 403 },
  { endpoint: "create room", origin: "https://chat.example.com", status: "ok", allowlist: true },
  { endpoint: "post message", origin: SAME, status: "ok" },
  { endpoint: "post message", origin: undefined, status: "ok" },
  { endpoint: "post message", origin: FOREIGN, status: 403 },
  { endpoint: "post message", origin: "http://localhost:{other}", status: 403 },
  { endpoint: "post message", origin: "https://chat.example.com", status: "ok", allowlist: true },
  { endpoint: "form", origin: SAME, status: "ok" },
  { endpoint: "form", origin: undefined, status: "ok" },
  { endpoint: "form", origin: FOREIGN, status: 403 },
  { endpoint: "form", origin: "null", status: 403 }, // a sandboxed iframe's form
  { endpoint: "form", origin: "https://chat.example.com", status: "ok", allowlist: true },
  // Reads change nothing: any origin may make them (the browser still keeps the answer from
  // other sites, since Parley sends no CORS headers).
  { endpoint: "list rooms", origin: FOREIGN, status: "ok" },
  { endpoint: "list rooms", origin: "null", status: "ok" },
  { endpoint: "poll", origin: FOREIGN, status: "ok" },
];

function describe(row: Row): string {
  const { method, path } = ENDPOINTS[row.endpoint];
  const origin = row.origin === undefined ? "no Origin" : `Origin ${JSON.stringify(row.origin)}`;
  const expected = row.status === "ok" ? ENDPOINTS[row.endpoint].ok : row.status;
  const allowlist = row.allowlist ? " with an allowlist" : "";
  return `origin check - ${method} ${path} with ${origin}${allowlist} answers ${expected}`;
}

for (const row of ROWS) {
  Deno.test(describe(row), async () => {
    const endpoint = ENDPOINTS[row.endpoint];
    const env: Record<string, string> = row.allowlist ? { PARLEY_ALLOWED_ORIGINS: ALLOWLIST } : {};
    const server = await startServer({ env });
    try {
      await requestJson(server, "/api/rooms", { body: { id: "lobby", title: "The lobby" } });
      const port = Number(new URL(server.origin).port);
      const host = `localhost:${port}`;
      const other = String(port === 65535 ? port - 1 : port + 1);
      const headers: Array<[string, string]> = [["Host", host], ...endpoint.headers ?? []];
      if (row.origin !== undefined) {
        const origin = row.origin.replaceAll("{host}", host).replaceAll("{port}", String(port))
          .replaceAll("{other}", other);
        headers.push(["Origin", origin]);
      }
      if (row.endpoint !== "ws") headers.push(["Connection", "close"]);
      if (row.endpoint === "post message") {
        headers.push(["Authorization", `Bearer ${sessionToken(server, "ann")}`]);
      }
      // A live stream's welcome means its subscription is done before the server closes.
      const readUntil = row.endpoint === "ws" || row.endpoint === "events" ? "welcome" : undefined;
      const response = await rawRequest(port, { ...endpoint, headers, readUntil });
      const expected = row.status === "ok" ? endpoint.ok : row.status;
      assert.equal(response.status, expected, response.body);
      if (expected === 403) {
        assert.equal(response.headers.get("content-type"), "application/json");
        const body = JSON.parse(response.body ?? "");
        assert.equal(body.error.code, "forbidden_origin");
        assert.equal(typeof body.error.message, "string");
      }
    } finally {
      await server.close();
    }
  });
}

Deno.test("origin check - a refused request changes nothing", async () => {
  const server = await startServer();
  try {
    await requestJson(server, "/api/rooms", { body: { id: "lobby", title: "The lobby" } });
    const port = Number(new URL(server.origin).port);
    for (const endpoint of [ENDPOINTS["create room"], ENDPOINTS["post message"], ENDPOINTS.form]) {
      const response = await rawRequest(port, {
        ...endpoint,
        headers: [
          ["Host", `localhost:${port}`],
          ["Origin", FOREIGN],
          ["Connection", "close"],
          ...endpoint.headers ?? [],
        ],
      });
      assert.equal(response.status, 403);
    }
    const { body } = await requestJson(server, "/api/rooms");
    const rooms = body.rooms as Array<{ id: string; head: number }>;
    assert.deepEqual(rooms.map(({ id, head }) => ({ id, head })), [{ id: "lobby", head: 0 }]);
  } finally {
    await server.close();
  }
});

Deno.test("origin check - an invalid PARLEY_ALLOWED_ORIGINS entry stops the server starting", async () => {
  await assert.rejects(
    () =>
      startServer({ env: { PARLEY_ALLOWED_ORIGINS: "https://chat.example.com, *.example.com" } }),
    { message: /^Invalid PARLEY_ALLOWED_ORIGINS entry "\*\.example\.com"/ },
  );
});

Deno.test("PARLEY_HOSTS - another host name is refused 421, against DNS rebinding; health and metrics stay open", async () => {
  const server = await startServer({ env: { PARLEY_HOSTS: "chat.example.com" } });
  try {
    await server.services.log.createRoom("lobby", "Lobby");
    const port = Number(new URL(server.origin).port);
    const get = (path: string, host: string) =>
      rawRequest(port, { method: "GET", path, headers: [["Host", host], ["Connection", "close"]] });
    assert.equal((await get("/api/rooms/lobby/messages", "chat.example.com")).status, 200);
    assert.equal((await get("/rooms/lobby", "CHAT.example.com")).status, 200);
    // A site whose name was pointed at this server: its page's requests carry its own name.
    const rebound = await get("/api/rooms/lobby/messages", `rebind.attacker.example:${port}`);
    assert.equal(rebound.status, 421);
    assert.equal(JSON.parse(rebound.body ?? "").error.code, "misdirected_request");
    assert.equal((await get("/rooms/lobby", `127.0.0.1:${port}`)).status, 421);
    assert.equal((await get("/healthz", `127.0.0.1:${port}`)).status, 200);
    // A scraper on the machine asks by address.
    assert.equal((await get("/metrics", `127.0.0.1:${port}`)).status, 200);
  } finally {
    await server.close();
  }
});

Deno.test("origin and host checks - a refusal is logged with the Host and Origin it was given", async () => {
  const server = await startServer({ env: { PARLEY_HOSTS: "chat.example.com" } });
  const lines: Record<string, unknown>[] = [];
  server.services.events = new EventLog(true, (line) => lines.push(JSON.parse(line)));
  try {
    const port = Number(new URL(server.origin).port);
    const post = (host: string, origin: string) =>
      rawRequest(port, {
        method: "POST",
        path: "/api/rooms",
        headers: [
          ["Host", host],
          ["Origin", origin],
          ["Content-Type", "application/json"],
          ["Connection", "close"],
        ],
        body: JSON.stringify({ id: "fresh", title: "Fresh" }),
      });
    assert.equal((await post("chat.example.com", "https://other.example")).status, 403);
    assert.equal((await post("rebind.example", "https://rebind.example")).status, 421);
  } finally {
    await server.close();
  }
  const refusals = lines.filter(({ event }) => event === "rejected");
  assert.deepEqual(
    refusals.map(({ code, host, origin }) => ({ code, host, origin })),
    [
      { code: "forbidden_origin", host: "chat.example.com", origin: "https://other.example" },
      { code: "misdirected_request", host: "rebind.example", origin: undefined },
    ],
  );
});
