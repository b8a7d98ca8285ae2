/**
 * XSS in a real browser: markup as a room title, as display names and as message text, stored
 * over the API, is rendered as text both by the server (read with JavaScript off) and after
 * hydration, including markup that arrives live over the WebSocket after hydration, posted by
 * other clients. No element is injected, no dialog opens, no handler runs, the title is intact.
 *
 * The hydrated pages bypass the Content-Security-Policy, so an injected inline handler would
 * really run: the escaping is tested on its own, not hidden behind the CSP. A control element
 * with the same kind of handler, added by the test, proves that handlers do run in that page.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { launchBrowser } from "./browser.ts";
import {
  LIMITS_OFF,
  requestJson,
  sessionToken,
  startServer,
  type TestServer,
  TestSocket,
} from "./server.ts";

/** 75 characters: under the 80 a title may have. */
const TITLE = `</title><script>window.__xss=1</script><img src=x onerror="alert('title')">`;
/** 30 characters: under the 32 a name may have. */
const AUTHOR = `<img src=x onerror=alert('a')>`;
/** The name the hydrated page picks for itself. */
const PAGE_NAME = `<svg onload=alert('name')>`;
/** Message texts stored before the page loads. */
const HISTORY = [
  `<script>alert('text');window.__xss='script'</script>`,
  `<img src=x onerror="alert('img');window.__xss='img'">`,
  `</p></li></ol><svg onload="alert('svg');window.__xss='svg'">`,
  `"><iframe srcdoc="<script>parent.alert('iframe')</script>"></iframe>`,
  `</script><!--<script>alert('comment')</script>-->`,
  `{{constructor.constructor('alert(1)')()}} \${alert(2)} javascript:alert(3)`,
  `&lt;b&gt;entities stay literal&lt;/b&gt; &amp;`,
  `line one\n<img src=x onerror="window.__xss='multi'">\nline three`,
];
/** Texts that arrive after hydration, from other clients. */
const LIVE_HTTP = `<img src=x onerror="window.__xss='live-http';alert('live-http')">`;
const LIVE_WS = `<b onmouseover=alert(1)>bold?</b><script>window.__xss='live-ws'</script>`;
/** The text the page itself sends. */
const OWN = `<img src=x onerror="window.__xss='own';alert('own')">`;

interface Session {
  server: TestServer;
  browser: Browser;
}

async function withSession(test: (session: Session) => Promise<void>): Promise<void> {
  const server = await startServer(LIMITS_OFF);
  let browser: Browser | undefined;
  try {
    const created = await requestJson(server, "/api/rooms", {
      body: { id: "lobby", title: TITLE },
    });
    assert.equal(created.status, 201);
    for (const text of HISTORY) await post(server, AUTHOR, text);
    browser = await launchBrowser();
    await test({ server, browser });
  } finally {
    await browser?.close();
    await server.close();
  }
}

async function post(server: TestServer, author: string, text: string): Promise<void> {
  const { status, body } = await requestJson(server, "/api/rooms/lobby/messages", {
    body: { text },
    headers: { authorization: `Bearer ${sessionToken(server, author)}` },
  });
  assert.equal(status, 201, JSON.stringify(body));
}

/** Confirmed (not pending) message texts and authors, as shown. */
async function shown(page: Page): Promise<{ texts: string[]; authors: string[] }> {
  return {
    texts: await page.locator(".message:not(.pending) .text").allTextContents(),
    authors: await page.locator(".message:not(.pending) .author").allTextContents(),
  };
}

/** Asserts no payload became an element: the page has only its own structure. */
async function assertNothingInjected(page: Page): Promise<void> {
  for (
    const selector of [".messages img", ".messages script", ".messages svg", ".messages iframe"]
  ) {
    assert.equal(await page.locator(selector).count(), 0, `${selector} was injected`);
  }
  // Authors and texts are text nodes only; the heading holds only the room id besides.
  assert.equal(await page.locator(".message .author *, .message .text *").count(), 0);
  assert.equal(await page.locator("h1.room-title *:not(.room-id)").count(), 0);
  assert.equal(await page.locator("img, svg, iframe, b").count(), 0);
  // The islands' props and the bundle: no more scripts.
  assert.equal(await page.locator("script").count(), 2);
  assert.equal(await page.title(), `${TITLE} · Parley`);
  assert.equal(
    (await page.locator("h1.room-title").textContent())?.trim(),
    `${TITLE} #lobby`,
  );
}

Deno.test("xss - the server-rendered room shows markup in title, names and texts as text", async () => {
  await withSession(async ({ server, browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      const response = await page.goto(`${server.origin}/rooms/lobby`);
      assert.equal(response?.status(), 200);
      await assertNothingInjected(page);
      assert.deepEqual(await shown(page), {
        texts: HISTORY,
        authors: HISTORY.map(() => AUTHOR),
      });
      assert.match(await page.locator(".status").innerText(), /Connecting/);
    } finally {
      await context.close();
    }
  });
});

Deno.test("xss - after hydration, history and live markup from other clients stay text", async () => {
  await withSession(async ({ server, browser }) => {
    const context = await browser.newContext({ bypassCSP: true });
    let sender: TestSocket | undefined;
    try {
      await context.addInitScript((name) => localStorage.setItem("parley:name", name), PAGE_NAME);
      const page = await context.newPage();
      const dialogs: string[] = [];
      page.on("dialog", (dialog) => {
        dialogs.push(dialog.message());
        dialog.dismiss().catch(() => {});
      });
      await page.goto(`${server.origin}/rooms/lobby`);
      await page.locator(".status-live").waitFor({ timeout: 10_000 });
      assert.match(await page.locator(".status").innerText(), /WebSocket/);

      // Live, over the page's WebSocket: one message POSTed, one sent over another socket.
      await post(server, AUTHOR, LIVE_HTTP);
      sender = TestSocket.open(server, "lobby", { name: AUTHOR });
      await sender.until((s) => s.frames.some((frame) => frame.type === "welcome"));
      sender.send({ type: "send", id: "live-ws", text: LIVE_WS });
      await sender.until((s) => s.frames.some((frame) => frame.type === "ack"));
      // And one the page sends itself, under its markup name.
      await page.locator("#composer-text").fill(OWN);
      await page.locator("#composer-text").press("Enter");
      const texts = [...HISTORY, LIVE_HTTP, LIVE_WS, OWN];
      await page.locator(".message:not(.pending)").nth(texts.length - 1).waitFor();

      // A control with the same kind of handler proves handlers run here, and gives an injected
      // one, added earlier, the time to have fired.
      await page.evaluate(() => {
        const control = document.createElement("img");
        control.id = "control";
        control.setAttribute("onerror", "window.__control = true");
        control.src = "/no-such-image";
        document.body.append(control);
      });
      await page.waitForFunction(() => "__control" in globalThis);
      await page.locator("#control").evaluate((control) => control.remove());

      assert.deepEqual(dialogs, []);
      assert.equal(await page.evaluate(() => "__xss" in globalThis), false);
      await assertNothingInjected(page);
      assert.deepEqual(await shown(page), {
        texts,
        authors: [...texts.map(() => AUTHOR).slice(0, -1), PAGE_NAME],
      });
      assert.equal(await page.locator(".message.pending").count(), 0);
    } finally {
      await sender?.close();
      await context.close();
    }
  });
});
