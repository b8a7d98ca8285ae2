import assert from "node:assert/strict";
import { withConsoleErrors } from "./console_errors.ts";
import { RawSocket } from "./raw_socket.ts";
import { requestJson, sessionToken, type TestServer, TestSocket, withLobby } from "./server.ts";
import { waitFor } from "./wait_for.ts";

function sample(metrics: string, series: string): number | undefined {
  const line = metrics.split("\n").find((line) => line.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

Deno.test("GET /healthz - answers 200 while KV answers", async () => {
  await withLobby(async (server) => {
    const { status, body } = await requestJson(server, "/healthz");
    assert.equal(status, 200);
    assert.equal(body.status, "ok");
    assert.equal((body.kv as { ok: boolean }).ok, true);
  });
});

Deno.test("GET /healthz - a KV that fails is 503, its cause logged and not shown", async () => {
  await withLobby(async (server) => {
    const kv = server.services.kv;
    const get = kv.get.bind(kv);
    kv.get = (() =>
      Promise.reject(new TypeError("unable to open /srv/secret/parley.kv"))) as typeof kv.get;
    try {
      const { status, body, logged } = await withConsoleErrors(async (logged) => ({
        ...await requestJson(server, "/healthz"),
        logged,
      }));
      assert.equal(status, 503);
      assert.equal(body.status, "unavailable");
      assert.deepEqual(body.kv, { ok: false, error: "failed" });
      assert.match(String(logged.flat().join(" ")), /\/srv\/secret\/parley\.kv/);
    } finally {
      kv.get = get;
    }
  });
});

Deno.test("GET /healthz - while KV fails, asking again and again logs one line a second", async () => {
  await withLobby(async (server) => {
    const kv = server.services.kv;
    const get = kv.get.bind(kv);
    kv.get = (() => Promise.reject(new TypeError("unable to open database file"))) as typeof kv.get;
    try {
      const logged = await withConsoleErrors(async (logged) => {
        for (let i = 0; i < 5; i++) {
          assert.equal((await requestJson(server, "/healthz")).status, 503);
        }
        return logged;
      });
      assert.deepEqual(logged.map(([line]) => line), ["Health check: KV did not answer:"]);
    } finally {
      kv.get = get;
    }
  });
});

Deno.test("storage failure - a send over a WebSocket is refused, counted, logged, and shown by /healthz until one is stored", async () => {
  await withLobby(async (server) => {
    const kv = server.services.kv;
    const atomic = kv.atomic.bind(kv);
    let failing = true;
    kv.atomic = () => {
      const op = atomic();
      if (failing) op.commit = () => Promise.reject(new TypeError("database or disk is full"));
      return op;
    };
    const ann = TestSocket.open(server, "lobby", { name: "ann" });
    try {
      await ann.until((s) => s.frames.some((frame) => frame.type === "welcome"));
      const logged = await withConsoleErrors(async (logged) => {
        ann.send({ type: "send", id: "c-full", text: "lost to a full disk" });
        await ann.until((s) => s.frames.some((frame) => frame.type === "error"));
        return logged;
      });
      const error = ann.frames.find((frame) => frame.type === "error");
      assert.deepEqual(error, {
        type: "error",
        id: "c-full",
        code: "storage_unavailable",
        message: "The message could not be stored: the store failed",
      });
      assert.match(String(logged.flat().join(" ")), /Cannot append to "lobby".*disk is full/);
      const metrics = await (await fetch(`${server.origin}/metrics`)).text();
      assert.equal(sample(metrics, 'parley_rejected_total{reason="storage_unavailable"}'), 1);
      assert.equal(sample(metrics, "parley_store_writes_failing"), 1);
      // What is stored is still served: the server stays in, and says it is degraded.
      const degraded = await requestJson(server, "/healthz");
      assert.equal(degraded.status, 200);
      assert.equal(degraded.body.status, "degraded");
      const writes = degraded.body.writes as { ok: boolean; failingSince: string };
      assert.equal(writes.ok, false);
      assert.ok(Date.now() - Date.parse(writes.failingSince) < 60_000, writes.failingSince);

      failing = false;
      ann.send({ type: "send", id: "c-full", text: "stored once there is room" });
      await ann.until((s) => s.frames.some((frame) => frame.type === "ack"));
      const healthy = await requestJson(server, "/healthz");
      assert.equal(healthy.body.status, "ok");
      assert.deepEqual(healthy.body.writes, { ok: true });
    } finally {
      await ann.close();
    }
  });
});

Deno.test("GET /metrics - counts appends, deliveries, connections and rejections, and reports memory", async () => {
  await withLobby(async (server) => {
    const reader = TestSocket.open(server, "lobby");
    try {
      await reader.until((s) => s.frames.some((frame) => frame.type === "welcome"));
      for (const text of ["one", "two", "three"]) {
        await requestJson(server, "/api/rooms/lobby/messages", { body: { author: "ann", text } });
      }
      await requestJson(server, "/api/rooms/lobby/messages", {
        body: "{not json",
        headers: { authorization: `Bearer ${sessionToken(server, "ann")}` },
      });
      await reader.until((s) => s.messages.length === 3);
      const response = await fetch(`${server.origin}/metrics`);
      assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const metrics = await response.text();
      assert.equal(sample(metrics, "parley_messages_appended_total"), 3);
      // Three commits of one message each: each waits in a log value of its own.
      assert.equal(sample(metrics, "parley_shared_log_values"), 3);
      assert.equal(sample(metrics, 'parley_deliveries_total{transport="ws"}'), 3);
      assert.equal(sample(metrics, 'parley_open_connections{transport="ws"}'), 1);
      assert.equal(sample(metrics, 'parley_open_connections{transport="sse"}'), 0);
      assert.equal(sample(metrics, "parley_long_poll_waiters"), 0);
      const rss = sample(metrics, 'parley_memory_bytes{kind="rss"}') ?? 0;
      const heapUsed = sample(metrics, 'parley_memory_bytes{kind="heap_used"}') ?? 0;
      assert.ok(heapUsed > 1_000_000 && rss > heapUsed, `rss ${rss}, heap used ${heapUsed}`);
      assert.equal(sample(metrics, 'parley_rejected_total{reason="invalid_json"}'), 1);
      assert.equal(sample(metrics, "parley_kv_commit_seconds_count"), 3);
      assert.equal(sample(metrics, 'parley_group_commit_batch_size_bucket{le="1"}'), 3);
      assert.match(metrics, /# TYPE parley_kv_commit_seconds histogram/);
      // What only goes up is a counter, whatever keeps it.
      for (const name of ["messages_appended", "appends_forwarded", "forward_timeouts"]) {
        assert.match(metrics, new RegExp(`# TYPE parley_${name}_total counter\n`));
      }
      assert.match(metrics, /# TYPE parley_open_connections gauge\n/);
    } finally {
      await reader.close();
    }
  });
});

/** The log lines a server with logging on writes while `run` uses it. */
async function logLines(
  run: (server: TestServer, lines: string[]) => Promise<void>,
): Promise<string[]> {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    await withLobby((server) => run(server, lines), { env: { PARLEY_LOG: "on" } });
  } finally {
    console.log = original;
  }
  return lines;
}

Deno.test("structured log - one JSON line per connection and rejection, never message text", async () => {
  const lines = await logLines(async (server) => {
    const socket = TestSocket.open(server, "lobby", { name: "ann" });
    await socket.until((s) => s.frames.some((frame) => frame.type === "welcome"));
    socket.send({ type: "send", id: "s-1", text: "a secret message" });
    socket.send({ type: "send", id: "s-2", text: "" });
    await socket.until((s) => s.frames.some((frame) => frame.type === "error"));
    await socket.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
  });
  const events = lines.map((line) => JSON.parse(line));
  assert.deepEqual(events.map((event) => event.event), [
    "connection_open",
    "rejected",
    "connection_close",
  ]);
  assert.equal(events[0].transport, "ws");
  assert.equal(events[0].room, "lobby");
  assert.equal(events[1].reason, "empty_text");
  assert.equal(typeof events[2].code, "number");
  assert.equal(typeof events[2].seconds, "number");
  assert.ok(lines.every((line) => !line.includes("secret")));
});

Deno.test("structured log - a WebSocket dropped without a close frame is logged as 1006", async () => {
  const lines = await logLines(async (server, lines) => {
    const socket = await RawSocket.open(
      Number(new URL(server.origin).port),
      "/api/rooms/lobby/ws",
    );
    assert.ok(await socket.readAnswer(), "no welcome");
    socket.close();
    await waitFor(
      "the close to be logged",
      () => lines.some((line) => line.includes("connection_close")),
    );
  });
  const close = lines.map((line) => JSON.parse(line)).find((event) =>
    event.event === "connection_close"
  );
  assert.equal(close.code, 1006);
});

Deno.test("startup - a setting or store that cannot be used stops the server with one line", async () => {
  const cases: Array<[Record<string, string>, string]> = [
    [
      { PARLEY_TRUST_PROXY: "true" },
      'Cannot start Parley: Invalid PARLEY_TRUST_PROXY "true": expected on or off',
    ],
    [
      { PARLEY_KV_PATH: "/proc/version/parley.kv" },
      'Cannot start Parley: Cannot open the message store at "/proc/version/parley.kv" (PARLEY_KV_PATH): ',
    ],
  ];
  for (const [env, line] of cases) {
    const { code, stderr, stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["serve", "--allow-all", "--port", "0", "main.ts"],
      cwd: new URL("..", import.meta.url),
      env: { PARLEY_KV_PATH: ":memory:", NO_COLOR: "1", ...env },
      stdin: "null",
    }).output();
    const errors = new TextDecoder().decode(stderr).trim();
    assert.equal(code, 1, new TextDecoder().decode(stdout));
    assert.equal(errors.split("\n").length, 1, errors);
    assert.ok(errors.startsWith(line), errors);
  }
});
