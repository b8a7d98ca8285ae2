/**
 * Browser tests of the room page over a bad network, in Debian's Chromium: a phone on a train,
 * with the network gone for a while, slow to open a WebSocket, or stalling a request without a
 * word. Conditions are set through the DevTools protocol and through routes.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import {
  type BrowserSession,
  namedContext,
  openRoom,
  recordTexts,
  say,
  texts,
  withBrowserSession,
} from "./browser.ts";
import { requestJson } from "./server.ts";

/** What {@link networkOf} sets: the network gone, its latency, or its download speed. */
interface Conditions {
  offline?: boolean;
  latencyMs?: number;
  /** Bytes a second; no limit unless given. */
  download?: number;
}

/**
 * Returns what sets `page`'s network conditions through one DevTools session (another session's
 * conditions would stay in force beside them).
 */
async function networkOf(page: Page): Promise<(conditions: Conditions) => Promise<void>> {
  const cdp = await page.context().newCDPSession(page);
  return async ({ offline = false, latencyMs = 0, download = -1 }) => {
    await cdp.send("Network.emulateNetworkConditions", {
      offline,
      latency: latencyMs,
      downloadThroughput: download,
      uploadThroughput: -1,
    });
  };
}

Deno.test("room page over SSE - a message sent offline waits for the network, however long, and goes once in order", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann", { query: "?transport=sse" });
    const bob = await openRoom(session, "bob");
    const network = await networkOf(ann);
    await network({ offline: true });
    await ann.locator(".status-offline").waitFor();
    await say(ann, "sent in the tunnel");
    await say(ann, "and after it");
    // Longer than ten sends a couple of seconds apart: none of them was the server's answer.
    await ann.waitForTimeout(25_000);
    assert.deepEqual(await ann.locator(".pending-state").allInnerTexts(), [
      "Waiting to send…",
      "Waiting to send…",
    ]);
    await network({ offline: false });
    await bob.locator(".message:not(.pending) .text", { hasText: "and after it" }).waitFor({
      timeout: 15_000,
    });
    assert.deepEqual(await texts(bob), ["sent in the tunnel", "and after it"]);
    await ann.locator(".message.pending").waitFor({ state: "detached", timeout: 15_000 });
    const { body } = await requestJson(session.server, "/api/rooms/lobby/messages");
    const stored = (body.messages as { text: string }[]).map(({ text }) => text);
    assert.deepEqual(stored, ["sent in the tunnel", "and after it"]);
  });
});

Deno.test("room page - a WebSocket slow to open (6 s, as over 2 s round trips) is kept, not left for SSE", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    const context = await namedContext(browser, "ann");
    const ann = await context.newPage();
    // A connection, TLS and the upgrade each take a round trip before the socket opens.
    await ann.routeWebSocket(/\/ws/, async (socket) => {
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      socket.connectToServer();
    });
    const streams: string[] = [];
    ann.on("request", (request) => {
      if (/\/(events|messages)\?/.test(request.url())) streams.push(request.url());
    });
    await ann.goto(`${server.origin}/rooms/lobby`);
    await ann.locator(".status-live").waitFor({ timeout: 30_000 });
    assert.equal(await ann.locator(".status").innerText(), "Live · WebSocket");
    assert.deepEqual(streams, []);
    assert.equal(await ann.evaluate(() => sessionStorage.getItem("parley:transport")), null);
  });
});

Deno.test("room page - over 2 s round trips, a blocked WebSocket is left for SSE as soon as that is known, and the banner says so", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    const context = await browser.newContext({ locale: "en-US" });
    await context.addInitScript(() => {
      localStorage.setItem("parley:name", "ann");
      // Each reconnect waits the longest its backoff allows.
      Math.random = () => 0.999;
    });
    const ann = await context.newPage();
    await (await networkOf(ann))({ latencyMs: 2_000 });
    await ann.routeWebSocket(/\/ws/, (socket) => socket.close({ code: 1006 }));
    const checked: number[] = [];
    let streamAskedAt = 0;
    ann.on("response", (response) => {
      if (response.url().endsWith("/healthz")) checked.push(Date.now());
    });
    ann.on("request", (request) => {
      if (request.url().includes("/events?")) streamAskedAt ||= Date.now();
    });
    await ann.goto(`${server.origin}/rooms/lobby`, { timeout: 30_000 });
    const banners = await recordTexts(ann, ".status");
    await ann.locator(".status-live").waitFor({ timeout: 30_000 });
    // Two failures while the server answers plain HTTP: the second answer settles it.
    const lag = streamAskedAt - checked[1];
    assert.ok(lag < 1_000, `SSE was asked for ${lag} ms after it was settled on`);
    const seen = await banners();
    const named = seen.findIndex((text) => text.includes("Server-Sent Events"));
    assert.deepEqual(seen.slice(named).filter((text) => text.includes("WebSocket")), []);
    assert.equal(seen.at(-1), "Live · Server-Sent Events");
  });
});

/**
 * Opens the lobby as ann, live over a WebSocket that goes through the test: each link the page
 * opens is in `links`, and one set `dead` carries nothing from then on, without a close.
 */
async function annOnKillableLinks(session: BrowserSession) {
  const context = await namedContext(session.browser, "ann");
  const links: { dead: boolean }[] = [];
  await context.routeWebSocket(/\/ws/, (route) => {
    const link = { dead: false };
    links.push(link);
    const server = route.connectToServer();
    route.onMessage((frame) => link.dead || server.send(frame));
    server.onMessage((frame) => link.dead || route.send(frame));
  });
  const ann = await context.newPage();
  await ann.goto(`${session.server.origin}/rooms/lobby`);
  await ann.locator(".status-live").waitFor({ timeout: 10_000 });
  return { ann, links };
}

Deno.test("room page - back online, a WebSocket that died with the old network is replaced at once", async () => {
  await withBrowserSession(async (session) => {
    const bob = await openRoom(session, "bob");
    const { ann, links } = await annOnKillableLinks(session);
    // Into a tunnel, and out on another network: the socket opened on the old one is dead.
    const network = await networkOf(ann);
    await network({ offline: true });
    await ann.locator(".status-offline").waitFor();
    for (const link of links) link.dead = true;
    await network({ offline: false });
    const back = Date.now();
    await say(ann, "out of the tunnel");
    await bob.locator(".message:not(.pending) .text", { hasText: "out of the tunnel" }).waitFor({
      timeout: 20_000,
    });
    const took = Date.now() - back;
    assert.ok(took < 5_000, `the message took ${took} ms`);
    assert.equal(links.length, 2);
    assert.equal(await ann.locator(".status").innerText(), "Live · WebSocket");
  });
});

Deno.test("room page - a message sent into a WebSocket that stopped carrying goes over a new one within seconds", async () => {
  await withBrowserSession(async (session) => {
    const bob = await openRoom(session, "bob");
    const { ann, links } = await annOnKillableLinks(session);
    // The link dies without a word (a NAT forgot it), and the browser knows nothing of it.
    for (const link of links) link.dead = true;
    await say(ann, "into the silence");
    // The silence alone would tell after 30 s and more; the unanswered send has the link checked.
    await bob.locator(".message:not(.pending) .text", { hasText: "into the silence" }).waitFor({
      timeout: 25_000,
    });
    assert.equal(links.length, 2);
    assert.deepEqual(await texts(bob), ["into the silence"]);
    await ann.locator(".message.pending").waitFor({ state: "detached" });
  });
});

Deno.test("room page over long-polling - back on a slow link, a long backlog does not keep it from going live", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann", { query: "?transport=poll" });
    const network = await networkOf(ann);
    await network({ offline: true });
    await ann.locator(".status-offline").waitFor();
    // 200 messages of 500 characters come meanwhile: over 100 kB, 10 s at 10 kB/s.
    const backlog = Array.from({ length: 200 }, (_, i) => `${i + 1} ${"x".repeat(500)}`);
    for (const text of backlog) {
      await requestJson(session.server, "/api/rooms/lobby/messages", {
        body: { author: "bob", text },
      });
    }
    // None is given up over the slow link. A try the page started while offline may be told
    // of its failure only now: that one does not count.
    const failed: string[] = [];
    ann.on("requestfailed", (request) => {
      const error = request.failure()?.errorText;
      if (error !== "net::ERR_INTERNET_DISCONNECTED") failed.push(`${request.url()}: ${error}`);
    });
    await network({ latencyMs: 500, download: 10_000 });
    const back = Date.now();
    await ann.locator(".status-live").waitFor({ timeout: 60_000 });
    const took = Date.now() - back;
    assert.ok(took < 5_000, `it went live ${took} ms after the network came back`);
    await ann.locator(".message[data-seq='200']").waitFor({ timeout: 60_000 });
    assert.equal(await ann.locator(".message:not(.pending)").count(), 200);
    assert.deepEqual(failed, []);
  });
});
