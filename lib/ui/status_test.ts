import assert from "node:assert/strict";
import { bannerText, describeStatus, secondsUntil } from "./status.ts";

const NOW = 1_000_000;

function text(...args: Parameters<typeof describeStatus>): string {
  return bannerText(describeStatus(...args));
}

Deno.test("describeStatus - live names the transport", () => {
  const online = { now: NOW, online: true };
  assert.equal(text({ state: "live", transport: "ws" }, online), "Live · WebSocket");
  assert.equal(text({ state: "live", transport: "sse" }, online), "Live · Server-Sent Events");
  assert.equal(text({ state: "live", transport: "poll" }, online), "Live · long-polling");
  assert.equal(describeStatus({ state: "live", transport: "ws" }, online).tone, "live");
});

Deno.test("describeStatus - reconnecting counts down whole seconds to retryAt", () => {
  const status = { state: "reconnecting" as const, transport: "sse" as const, retryAt: NOW + 4200 };
  assert.equal(
    text(status, { now: NOW, online: true }),
    "Reconnecting in 5 s · Server-Sent Events",
  );
  assert.equal(
    text(status, { now: NOW + 1200, online: true }),
    "Reconnecting in 3 s · Server-Sent Events",
  );
  assert.equal(
    text(status, { now: NOW + 4100, online: true }),
    "Reconnecting in 1 s · Server-Sent Events",
  );
  assert.equal(
    text(status, { now: NOW + 5000, online: true }),
    "Reconnecting… · Server-Sent Events",
  );
  const banner = describeStatus(status, { now: NOW, online: true });
  assert.equal(banner.seconds, 5);
  assert.equal(banner.tone, "reconnecting");
});

Deno.test("describeStatus - a connection never live counts down as connecting, not reconnecting", () => {
  const status = { state: "connecting" as const, transport: "ws" as const, retryAt: NOW + 1500 };
  const online = { now: NOW, online: true };
  assert.equal(text(status, online), "Connecting in 2 s · WebSocket");
  assert.equal(describeStatus(status, online).tone, "connecting");
  assert.equal(text(status, { now: NOW + 2000, online: true }), "Connecting… · WebSocket");
});

Deno.test("describeStatus - offline wins over connecting and reconnecting", () => {
  const offline = { now: NOW, online: false };
  for (const state of ["connecting", "live", "reconnecting"] as const) {
    const banner = describeStatus({ state, transport: "poll", retryAt: NOW + 1000 }, offline);
    assert.equal(banner.tone, "offline");
    assert.equal(
      bannerText(banner),
      "Offline · reconnects when you are back online · long-polling",
    );
  }
});

Deno.test("describeStatus - closed says why", () => {
  const online = { now: NOW, online: true };
  assert.equal(
    text({ state: "closed", transport: "ws", error: "room_not_found" }, online),
    "This room no longer exists",
  );
  assert.match(text({ state: "closed", transport: "ws" }, online), /^Disconnected/);
  assert.equal(text({ state: "connecting", transport: "ws" }, online), "Connecting…");
});

Deno.test("secondsUntil - rounds up and never says 0", () => {
  assert.equal(secondsUntil(NOW + 1, NOW), 1);
  assert.equal(secondsUntil(NOW + 1000, NOW), 1);
  assert.equal(secondsUntil(NOW + 1001, NOW), 2);
  assert.equal(secondsUntil(NOW - 500, NOW), 1);
});
