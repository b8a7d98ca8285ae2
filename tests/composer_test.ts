/**
 * Browser tests of the room page's composer and message rows, in Debian's Chromium: what a
 * visitor is told instead of losing text or sending under a name the server refuses, right-to-left
 * text, a pending message's place in its group, and the page without JavaScript.
 *
 * @module
 */
import assert from "node:assert/strict";
import { openRoom, say, texts, withBrowserSession } from "./browser.ts";
import { requestJson } from "./server.ts";

Deno.test("composer - a paste over 4,000 characters is kept whole, and the limit is explained", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann");
    const long = `${"y".repeat(4100)}END`;
    await say(ann, long);
    await ann.getByRole("alert").filter({
      hasText: "The message is 4,103 characters, the limit is 4,000: shorten it to send it",
    }).waitFor();
    assert.equal(await ann.locator("#composer-text").inputValue(), long, "the text was cut");
    assert.equal(await ann.locator(".message.pending").count(), 0, "it was sent anyway");
    // The box itself says it holds what cannot go, and why, for when focus comes back to it.
    const box = ann.locator("#composer-text");
    assert.equal(await box.getAttribute("aria-invalid"), "true");
    assert.deepEqual(
      (await box.getAttribute("aria-describedby"))?.split(" "),
      ["composer-hint", "composer-notice"],
    );
    // The notice follows the text as it is edited: gone while it would do, back if not again.
    await ann.locator("#composer-text").fill(`${"y".repeat(4001)}`);
    await ann.getByRole("alert").filter({ hasText: "The message is 4,001 characters" }).waitFor();
    await ann.locator("#composer-text").fill(`${"y".repeat(4000)}`);
    await ann.getByRole("alert").waitFor({ state: "detached" });
    assert.equal(await box.getAttribute("aria-invalid"), null);
    assert.equal(await box.getAttribute("aria-describedby"), "composer-hint");
    await ann.locator("#composer-text").fill(`${"y".repeat(4002)}`);
    await ann.getByRole("alert").filter({ hasText: "The message is 4,002 characters" }).waitFor();
    // Cleared, the box is a new message: nothing is said of it until it is sent.
    await ann.locator("#composer-text").fill("");
    await ann.getByRole("alert").waitFor({ state: "detached" });
    await ann.locator("#composer-text").fill(`${"y".repeat(4001)}`);
    assert.equal(await ann.getByRole("alert").count(), 0, "a notice came back before a send");
    await say(ann, "short enough");
    await ann.locator(".message:not(.pending) .text", { hasText: "short enough" }).waitFor();
    assert.deepEqual(await texts(ann), ["short enough"]);
  });
});

Deno.test("composer - with nothing but spaces to send, Send looks disabled and leads to the box", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann");
    const send = ann.locator("button.send");
    assert.equal(await send.getAttribute("aria-disabled"), "true");
    await ann.locator("#composer-text").fill("   \n  ");
    assert.equal(await send.getAttribute("aria-disabled"), "true");
    await ann.locator("h1").click();
    await send.click({ force: true }); // Playwright will not click what says it is disabled.
    assert.equal(await ann.evaluate(() => document.activeElement?.id), "composer-text");
    assert.equal(await ann.locator(".message").count(), 0, "blank text made a row");
    await ann.locator("#composer-text").fill("  hi  ");
    assert.equal(await send.getAttribute("aria-disabled"), null);
    await send.click();
    await ann.locator(".message:not(.pending) .text", { hasText: "hi" }).waitFor();
    assert.equal(await send.getAttribute("aria-disabled"), "true", "the emptied box can send");
  });
});

Deno.test("composer - a display name the server would refuse is explained and never used", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    const page = await (await browser.newContext({ locale: "en-US" })).newPage();
    await page.goto(`${server.origin}/rooms/lobby`);
    await page.locator(".status-live").waitFor({ timeout: 10_000 });
    const nameField = page.locator('input[name="name"]');
    await nameField.click();
    await page.keyboard.insertText("bad\u0007name");
    await nameField.press("Enter");
    const notice = page.getByRole("alert").filter({
      hasText: "The display name must not contain control characters: pick another",
    });
    await notice.waitFor();
    assert.equal(await nameField.getAttribute("aria-invalid"), "true");
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("name")), "name");
    assert.equal(await page.evaluate(() => localStorage.getItem("parley:name")), null);
    // A message cannot go out under it.
    await page.locator("#composer-text").fill("hello?");
    await page.locator("button.send").click();
    await notice.waitFor();
    assert.equal(await page.locator(".message.pending").count(), 0);
    // A good name clears the mark, and the message goes out under it.
    await nameField.fill("dana");
    await nameField.press("Enter");
    await page.getByText("Online: dana").waitFor({ timeout: 10_000 });
    assert.equal(await nameField.getAttribute("aria-invalid"), null);
    await page.locator("button.send").click();
    await page.locator(".message:not(.pending) .text", { hasText: "hello?" }).waitFor();
    const { body } = await requestJson(server, "/api/rooms/lobby/messages");
    const stored = body.messages as Array<{ author: string; text: string }>;
    assert.deepEqual(stored.map(({ author, text }) => [author, text]), [["dana", "hello?"]]);
  });
});

Deno.test("message rows - right-to-left text and names run right to left", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann");
    await say(ann, "שלום, מה שלומך?");
    await say(ann, "hello, left to right");
    await ann.locator(".message:not(.pending) .text", { hasText: "left to right" }).waitFor();
    const directions = await ann.locator(".message:not(.pending) .text").evaluateAll((rows) =>
      rows.map((row) => getComputedStyle(row).direction)
    );
    assert.deepEqual(directions, ["rtl", "ltr"]);
    await ann.locator("#composer-text").fill("كيف حالك؟");
    assert.equal(
      await ann.locator("#composer-text").evaluate((field) => getComputedStyle(field).direction),
      "rtl",
    );
  });
});

Deno.test("message rows - a message being sent joins its author's group without a second header", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann");
    // Back again: the page is rendered for the visitor's session, and knows their author id.
    await ann.reload();
    await ann.locator(".status-live").waitFor();
    // Stored after the page loaded: later than the page's clock, which ticks once a minute.
    // Sent with the page's session, as another tab of this browser would.
    const status = await ann.evaluate(async () =>
      (await fetch("/api/rooms/lobby/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: "from my other tab" }),
      })).status
    );
    assert.equal(status, 201);
    await ann.locator(".message .text", { hasText: "from my other tab" }).waitFor();
    await ann.context().setOffline(true);
    await say(ann, "still sending");
    const pending = ann.locator(".message.pending");
    await pending.waitFor();
    assert.equal(await pending.evaluate((row) => row.classList.contains("first")), false);
    assert.equal(await ann.locator(".message.first").count(), 1);
  });
});

Deno.test("message rows - a follow-on message's time is level with its first line", async () => {
  await withBrowserSession(async (session) => {
    // Shown on hover, or always on a touch screen; placed the same either way.
    const ann = await openRoom(session, "ann");
    await say(ann, "first");
    await say(ann, "a message\nof\nseveral\nlines");
    const row = ann.locator(".message:not(.pending)", { hasText: "several" });
    await row.waitFor();
    const [time, text, line] = await row.evaluate((item) => {
      const middle = (selector: string) => {
        const box = item.querySelector(selector)!.getBoundingClientRect();
        return box.top + box.height / 2;
      };
      const text = item.querySelector(".text")!;
      return [
        middle(".gutter-time"),
        text.getBoundingClientRect().top,
        parseFloat(getComputedStyle(text).lineHeight),
      ];
    });
    assert.ok(
      time > text && time < text + line,
      `the time is ${time - text} px below the text's top`,
    );
  });
});

Deno.test("composer - without JavaScript the page says chatting needs it, and sends nothing", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false, locale: "en-US" });
    const page = await context.newPage();
    await page.goto(`${server.origin}/rooms/lobby`);
    // Chromium with script execution turned off still parses <noscript> as text, so look at it.
    assert.match(await page.locator("form noscript").innerHTML(), /Chatting needs JavaScript/);
    // The connection banner, which would say "Connecting…" for good, is hidden by a stylesheet
    // only such a browser loads.
    assert.match(
      await page.locator("head noscript").innerHTML(),
      /<link rel="stylesheet" href="\/static\/noscript.css\?v=[0-9a-f]{8}"/,
    );
    const css = await (await fetch(`${server.origin}/static/noscript.css`)).text();
    assert.match(css, /\.status \{\s*display: none;/);
    assert.equal(await page.locator("button.send").isDisabled(), true);
    await page.locator('input[name="name"]').fill("nojs");
    await page.locator("#composer-text").fill("lost?");
    await page.locator('input[name="name"]').press("Enter");
    await page.waitForTimeout(300);
    assert.equal(new URL(page.url()).search, "", "the form was submitted");
  });
});

Deno.test("composer - on a touch screen Enter starts a new line; Send and Ctrl+Enter send", async () => {
  await withBrowserSession(async (session) => {
    const phone = await openRoom(session, "ann", {
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    const box = phone.locator("#composer-text");
    await box.fill("line one");
    await box.press("Enter");
    await box.pressSequentially("line two");
    assert.equal(await box.inputValue(), "line one\nline two");
    assert.equal(await phone.locator(".message").count(), 0, "Enter sent it");
    await phone.locator("button.send").tap();
    await phone.locator(".message:not(.pending) .text", { hasText: "line two" }).waitFor();
    assert.deepEqual(await texts(phone), ["line one\nline two"]);
    // The box has focus again, so the keyboard stays up for the next message.
    assert.equal(await phone.evaluate(() => document.activeElement?.id), "composer-text");
    // The hint, hidden here, names keys this keyboard lacks: the box is not described by it.
    assert.equal(await box.getAttribute("aria-describedby"), null);
    // A tablet's hardware keyboard sends with Ctrl+Enter (⌘+Enter on a Mac keyboard).
    await box.fill("from the keyboard");
    await box.press("Control+Enter");
    await phone.locator(".message:not(.pending) .text", { hasText: "from the keyboard" }).waitFor();
    await box.fill("from a Mac keyboard");
    await box.press("Meta+Enter");
    await phone.locator(".message:not(.pending) .text", { hasText: "from a Mac keyboard" })
      .waitFor();
    assert.equal(await box.inputValue(), "");
  });
});

Deno.test("composer - after clicking Send, the next message is typed in the message box", async () => {
  await withBrowserSession(async (session) => {
    const page = await openRoom(session, "ann");
    await page.locator("#composer-text").fill("first");
    await page.getByRole("button", { name: "Send" }).click();
    await page.keyboard.type("second");
    await page.keyboard.press("Enter");
    await page.locator(".message:not(.pending) .text", { hasText: "second" }).waitFor();
    assert.deepEqual(await texts(page), ["first", "second"]);
  });
});

Deno.test("composer - a name chosen in another tab is taken up by this one", async () => {
  await withBrowserSession(async (session) => {
    const first = await openRoom(session, "alice");
    const second = await first.context().newPage();
    await second.goto(first.url());
    await second.locator(".status-live").waitFor();
    const nameField = first.locator('input[name="name"]');
    await nameField.fill("alicia");
    await nameField.press("Enter");
    await second.waitForFunction(() =>
      document.querySelector<HTMLInputElement>('input[name="name"]')?.value === "alicia"
    );
    await second.locator(".status-live").waitFor();
    await say(second, "from the second tab");
    await second.locator(".message:not(.pending) .text", { hasText: "second tab" }).waitFor();
    const { body } = await requestJson(session.server, "/api/rooms/lobby/messages");
    const messages = body.messages as { author: string; text: string }[];
    assert.deepEqual(messages.map(({ author, text }) => [author, text]), [
      ["alicia", "from the second tab"],
    ]);
  });
});

Deno.test("composer - a remembered name is used as the server stamps it", async () => {
  await withBrowserSession(async (session) => {
    // Remembered by an older page: two spaces, which the server makes one.
    const page = await openRoom(session, "Ana  Lu");
    assert.equal(await page.locator('input[name="name"]').inputValue(), "Ana Lu");
    await say(page, "hello");
    await page.locator(".message:not(.pending) .text", { hasText: "hello" }).waitFor();
    assert.deepEqual(await page.locator(".message .author").allInnerTexts(), ["Ana Lu"]);
  });
});
