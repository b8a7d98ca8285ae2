import assert from "node:assert/strict";
import { requestJson, sessionToken, TestSocket, withLobby } from "./server.ts";

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
    } finally {
      await reader.close();
    }
  });
});

Deno.test("structured log - one JSON line per connection and rejection, never message text", async () => {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    await withLobby(async (server) => {
      const socket = TestSocket.open(server, "lobby", { name: "ann" });
      await socket.until((s) => s.frames.some((frame) => frame.type === "welcome"));
      socket.send({ type: "send", id: "s-1", text: "a secret message" });
      socket.send({ type: "send", id: "s-2", text: "" });
      await socket.until((s) => s.frames.some((frame) => frame.type === "error"));
      await socket.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }, { env: { PARLEY_LOG: "on" } });
  } finally {
    console.log = original;
  }
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
