import assert from "node:assert/strict";
import { DEFAULT_LIMITS, Limits, PRESENCE_WINDOW_MS, TokenBucket } from "./limits.ts";

Deno.test("TokenBucket - allows the burst, then one token per 1/rate seconds", () => {
  const start = 1000;
  const bucket = new TokenBucket(10, 3, start);
  assert.deepEqual([bucket.take(start), bucket.take(start), bucket.take(start)], [0, 0, 0]);
  assert.equal(bucket.take(start), 100);
  assert.equal(bucket.take(start + 50), 50);
  assert.equal(bucket.take(start + 100), 0);
  assert.equal(bucket.full(start + 100), false);
  assert.equal(bucket.full(start + 1000), true);
});

Deno.test("Limits - counts each IP on its own", () => {
  const limits = new Limits({
    messagesPerSecond: 1,
    messageBurst: 2,
    connectionsPerIp: 1,
    roomsPerMinute: 1,
  });
  assert.deepEqual([limits.message("a"), limits.message("a")], [0, 0]);
  assert.ok(limits.message("a") > 0);
  assert.equal(limits.message("b"), 0);
  assert.equal(limits.roomCreation("a"), 0);
  assert.ok(limits.roomCreation("a") > 0);
});

Deno.test("Limits - caps open connections per IP and frees a slot on close", () => {
  const limits = new Limits({
    messagesPerSecond: 1,
    messageBurst: 1,
    connectionsPerIp: 2,
    roomsPerMinute: 1,
  });
  const first = limits.openConnection("a");
  const second = limits.openConnection("a");
  assert.ok(first && second);
  assert.equal(limits.openConnection("a"), null);
  assert.ok(limits.openConnection("b"));
  first();
  first();
  const third = limits.openConnection("a");
  assert.ok(third);
  assert.equal(limits.openConnection("a"), null);
});

Deno.test("Limits - with null settings every check passes", () => {
  const limits = new Limits(null);
  for (let i = 0; i < 1000; i++) {
    assert.equal(limits.message("a"), 0);
    assert.equal(limits.roomCreation("a"), 0);
    assert.ok(limits.openConnection("a"));
  }
  assert.equal(limits.connectionBucket(), undefined);
});

Deno.test("Limits.showsPresent - an address shows as many sessions present as it may connect", () => {
  const limits = new Limits({
    messagesPerSecond: 1,
    messageBurst: 1,
    connectionsPerIp: 2,
    roomsPerMinute: 1,
  });
  const start = 1_000_000;
  assert.equal(limits.showsPresent("a", "s1", start), true);
  assert.equal(limits.showsPresent("a", "s2", start), true);
  assert.equal(limits.showsPresent("a", "s3", start), false, "a third session");
  assert.equal(limits.showsPresent("a", "s1", start + 1), true, "a session already shown");
  assert.equal(limits.showsPresent("b", "s3", start), true, "another address");
  // Sessions count for the presence window after they were last shown.
  assert.equal(limits.showsPresent("a", "s3", start + PRESENCE_WINDOW_MS), true);
  assert.equal(new Limits(null).showsPresent("a", "s9"), true, "limits off");
});

Deno.test("Limits - the addresses of one IPv6 /64 share its connection cap", () => {
  const limits = new Limits({ ...DEFAULT_LIMITS, connectionsPerIp: 2 });
  assert.ok(limits.openConnection("2001:db8:1:2::a"));
  assert.ok(limits.openConnection("2001:db8:1:2::b"));
  assert.equal(limits.openConnection("2001:db8:1:2:ffff::c"), null);
  assert.ok(limits.openConnection("2001:db8:1:3::a"), "another /64 is another network");
});
