import assert from "node:assert/strict";
import { ParleyError } from "./errors.ts";
import { MessageLog } from "./message_log.ts";
import { FAILING_FOR_MS, WriteHealth } from "./write_health.ts";

Deno.test("WriteHealth - failing from the first failure until one is stored, or 30 s pass", () => {
  let now = 1_000;
  const health = new WriteHealth(() => now);
  assert.equal(health.failingSince(), undefined);
  health.failed();
  now += 5_000;
  health.failed();
  assert.equal(health.failingSince(), 1_000);
  health.stored();
  assert.equal(health.failingSince(), undefined);
  // Nothing tried since a failure for a while: no longer said to be failing.
  health.failed();
  now += FAILING_FOR_MS - 1;
  assert.equal(health.failingSince(), 6_000);
  now += 1;
  assert.equal(health.failingSince(), undefined);
});

Deno.test("MessageLog.writes - counts what a forwarded append was answered, as its own", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const log = new MessageLog(kv);
    let answer: "stored" | "full" | "busy" = "full";
    log.routeAppends((room, input) => {
      if (answer === "full") {
        return Promise.reject(new ParleyError(503, "storage_unavailable", "The store failed"));
      }
      if (answer === "busy") {
        return Promise.reject(new ParleyError(503, "storage_busy", "The store stayed busy"));
      }
      const message = { seq: 1, id: input.id ?? "x", room, author: input.author, text: "t", at: 0 };
      return Promise.resolve({ message, created: true });
    });
    await assert.rejects(log.append("lobby", { author: "ann", text: "lost" }));
    assert.notEqual(log.writes.failingSince(), undefined);
    answer = "stored";
    await log.append("lobby", { author: "ann", text: "kept" });
    assert.equal(log.writes.failingSince(), undefined);
    // Contention is not a failing store.
    answer = "busy";
    await assert.rejects(log.append("lobby", { author: "ann", text: "busy" }));
    assert.equal(log.writes.failingSince(), undefined);
  } finally {
    kv.close();
  }
});
