import assert from "node:assert/strict";
import type { Page, WebSocketRoute } from "playwright-core";
import { openRoom, say, withBrowserSession } from "./browser.ts";
import { requestJson } from "./server.ts";

function messageText(page: Page, text: string) {
  return page.locator(".message:not(.pending) .text", { hasText: text });
}

Deno.test("room page - two pages chat both ways over WebSocket", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann");
    const bob = await openRoom(session, "bob");
    assert.match(await ann.locator(".status").innerText(), /Live · WebSocket/);
    await say(ann, "hello bob");
    await messageText(bob, "hello bob").waitFor();
    await say(bob, "hello ann");
    await messageText(ann, "hello ann").waitFor();
    for (const page of [ann, bob]) {
      const texts = await page.locator(".message:not(.pending) .text").allInnerTexts();
      assert.deepEqual(texts, ["hello bob", "hello ann"]);
      const authors = await page.locator(".message:not(.pending) .author").allInnerTexts();
      assert.deepEqual(authors, ["ann", "bob"]);
    }
  });
});

Deno.test("room page - markup in a message shows as text and runs nothing", async () => {
  await withBrowserSession(async (session) => {
    const payload = `<img src=x onerror="document.title='pwned'">"</script><!--`;
    await requestJson(session.server, "/api/rooms/lobby/messages", {
      body: { author: "mallory", text: payload },
    });
    const ann = await openRoom(session, "ann");
    const dialogs: string[] = [];
    ann.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      dialog.dismiss();
    });
    await say(ann, payload);
    await ann.locator(".message:not(.pending) .text").nth(1).waitFor();
    const texts = await ann.locator(".message:not(.pending) .text").allInnerTexts();
    assert.deepEqual(texts, [payload, payload]);
    assert.equal(await ann.locator(".messages img").count(), 0);
    assert.notEqual(await ann.title(), "pwned");
    assert.deepEqual(dialogs, []);
  });
});

Deno.test("room page - history is server-rendered and readable without JavaScript", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    for (let i = 1; i <= 60; i++) {
      await requestJson(server, "/api/rooms/lobby/messages", {
        body: { author: "ann", text: `message ${i}` },
      });
    }
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${server.origin}/rooms/lobby`);
    const texts = await page.locator(".message .text").allInnerTexts();
    assert.equal(texts.length, 50);
    assert.equal(texts[0], "message 11");
    assert.equal(texts[49], "message 60");
    assert.match(await page.locator(".status").innerText(), /Connecting/);
  });
});

Deno.test("room page - a long-polling page and a WebSocket page chat both ways", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann", { query: "?transport=poll" });
    const bob = await openRoom(session, "bob");
    assert.match(await ann.locator(".status").innerText(), /Live · long-polling/);
    await say(ann, "from the poller");
    await messageText(bob, "from the poller").waitFor();
    await say(bob, "from the socket");
    await messageText(ann, "from the socket").waitFor();
    assert.deepEqual(await ann.locator(".message:not(.pending) .text").allInnerTexts(), [
      "from the poller",
      "from the socket",
    ]);
  });
});

Deno.test("room page - a page whose WebSocket is blocked falls back by itself, for 10 minutes", async () => {
  await withBrowserSession(async (session) => {
    const context = await session.browser.newContext();
    await context.addInitScript(() => localStorage.setItem("parley:name", "carol"));
    const carol = await context.newPage();
    let attempts = 0;
    await carol.routeWebSocket(/\/ws/, (socket) => {
      attempts++;
      socket.close({ code: 1006 });
    });
    await carol.goto(`${session.server.origin}/rooms/lobby`);
    await carol.locator(".status-live").waitFor({ timeout: 15_000 });
    assert.match(await carol.locator(".status").innerText(), /Server-Sent Events/);
    // The next page of the tab goes straight to SSE...
    const blocked = attempts;
    await carol.reload();
    await carol.locator(".status-live").waitFor({ timeout: 15_000 });
    assert.match(await carol.locator(".status").innerText(), /Server-Sent Events/);
    assert.equal(attempts, blocked, "a WebSocket was tried again at once");
    // ...until the fallback is 10 minutes old: then WebSocket gets another chance.
    await carol.evaluate(() => {
      const stored = JSON.parse(sessionStorage.getItem("parley:transport")!);
      sessionStorage.setItem("parley:transport", JSON.stringify({ ...stored, at: 0 }));
    });
    await carol.reload();
    await carol.locator(".status-live").waitFor({ timeout: 15_000 });
    assert.ok(attempts > blocked, "WebSocket was not tried again");
    assert.match(await carol.locator(".status").innerText(), /Server-Sent Events/);
    const bob = await openRoom(session, "bob");
    await say(carol, "no sockets here");
    await messageText(bob, "no sockets here").waitFor();
    await say(bob, "still reaches you");
    await messageText(carol, "still reaches you").waitFor();
  });
});

Deno.test("room page - with WebSocket and SSE both blocked it falls back to long-polling", async () => {
  await withBrowserSession(async (session) => {
    const context = await session.browser.newContext();
    await context.addInitScript(() => localStorage.setItem("parley:name", "dave"));
    const dave = await context.newPage();
    await dave.routeWebSocket(/\/ws/, (socket) => socket.close({ code: 1006 }));
    await dave.route(/\/events/, (route) => route.abort());
    await dave.goto(`${session.server.origin}/rooms/lobby`);
    await dave.locator(".status-live").waitFor({ timeout: 20_000 });
    assert.match(await dave.locator(".status").innerText(), /long-polling/);
    await say(dave, "polling works");
    const bob = await openRoom(session, "bob");
    assert.deepEqual(await bob.locator(".message .text").allInnerTexts(), ["polling works"]);
  });
});

Deno.test("room page - the session token never goes into a URL, on any transport", async () => {
  await withBrowserSession(async (session) => {
    const urls: string[] = [];
    const context = await session.browser.newContext();
    context.on("request", (request) => urls.push(request.url()));
    await context.addInitScript(() => localStorage.setItem("parley:name", "erin"));
    const erin = await context.newPage();
    erin.on("websocket", (socket) => urls.push(socket.url()));
    await erin.goto(`${session.server.origin}/rooms/lobby`);
    await erin.locator(".status-live").waitFor({ timeout: 10_000 });
    await say(erin, "over a WebSocket");
    await messageText(erin, "over a WebSocket").waitFor();
    for (const transport of ["sse", "poll"]) {
      await erin.goto(`${session.server.origin}/rooms/lobby?transport=${transport}`);
      await erin.locator(".status-live").waitFor({ timeout: 10_000 });
      await say(erin, `over ${transport}`);
      await messageText(erin, `over ${transport}`).waitFor();
    }
    const streams = urls.filter((url) => /\/api\/rooms\/lobby\/(ws|events|messages)/.test(url));
    assert.ok(streams.some((url) => url.includes("/ws")), urls.join("\n"));
    assert.ok(streams.some((url) => url.includes("/events")), urls.join("\n"));
    assert.deepEqual(streams.filter((url) => /[?&]token=/.test(url)), []);
  });
});

Deno.test("room page - a page whose session cookie was cleared still sends, by token", async () => {
  await withBrowserSession(async (session) => {
    const context = await session.browser.newContext();
    await context.addInitScript(() => localStorage.setItem("parley:name", "fay"));
    const fay = await context.newPage();
    // The page's sockets pass through a relay that drops the first once asked to.
    const relayed: WebSocketRoute[] = [];
    await fay.routeWebSocket(/\/ws/, (socket) => {
      relayed.push(socket);
      socket.connectToServer();
    });
    await fay.goto(`${session.server.origin}/rooms/lobby`);
    await fay.locator(".status-live").waitFor({ timeout: 10_000 });
    // Cookies cleared (or blocked) while the page is open; its next socket goes without one.
    await context.clearCookies();
    await relayed[0].close({ code: 1001 });
    await fay.waitForFunction(() => document.querySelector(".status-live") === null);
    await fay.locator(".status-live").waitFor({ timeout: 15_000 });
    await say(fay, "without a cookie");
    await messageText(fay, "without a cookie").waitFor({ timeout: 10_000 });
    assert.equal(await fay.locator(".message.pending").count(), 0);
    const { body } = await requestJson(session.server, "/api/rooms/lobby/messages");
    const stored = body.messages as Array<{ author: string; text: string }>;
    assert.deepEqual(stored.map(({ author, text }) => [author, text]), [[
      "fay",
      "without a cookie",
    ]]);
  });
});
