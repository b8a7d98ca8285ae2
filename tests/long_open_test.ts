/**
 * Browser tests of a room page left open for a long time: a busy room read scrolled up, and the
 * page catching up after it was away.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { type BrowserSession, namedContext, openRoom, withBrowserSession } from "./browser.ts";
import type { TestServer } from "./server.ts";
import { MAX_SHOWN, MAX_WHILE_READING } from "../lib/ui/shown.ts";

/** Stores `count` messages by bob, numbered on from `from`, a batch at a time as a busy room does. */
async function busy(server: TestServer, from: number, count: number): Promise<void> {
  for (let batch = 0; batch < count; batch += 50) {
    const appends = [];
    for (let i = batch; i < Math.min(count, batch + 50); i++) {
      appends.push(
        server.services.log.append("lobby", { author: "bob", text: `message ${from + i}` }),
      );
    }
    await Promise.all(appends);
  }
}

/** The seqs of the stored messages the page shows, in the order shown. */
function shownSeqs(page: Page): Promise<number[]> {
  return page.locator(".message[data-seq]").evaluateAll((items) =>
    items.map((item) => Number((item as HTMLElement).dataset.seq))
  );
}

/** Checks that `seqs` run from `first` to `last` with none missing or repeated. */
function assertRun(seqs: number[], first: number, last: number): void {
  assert.deepEqual(seqs, Array.from({ length: last - first + 1 }, (_, i) => first + i));
}

/** A page's WebSocket link that the test takes away, and keeps away while `offline`. */
interface DroppableLink {
  offline: boolean;
  /** Takes the page's socket away, as a network gone would. */
  drop(): void;
}

/** A context as "ann" whose WebSockets go through a {@link DroppableLink}. */
async function droppableContext(session: BrowserSession) {
  const context = await namedContext(session.browser, "ann");
  const link: DroppableLink = { offline: false, drop: () => {} };
  await context.routeWebSocket(/\/ws/, (route) => {
    if (link.offline) return route.close({ code: 1006 });
    route.connectToServer();
    link.drop = () => route.close({ code: 1006 });
  });
  return { context, link };
}

Deno.test("room page - scrolled up in a busy room, the list stays bounded and shows the newest on return", async () => {
  await withBrowserSession(async (session) => {
    await busy(session.server, 1, 80);
    const ann = await openRoom(session, "ann");
    await ann.locator(".scroller").evaluate((element) => (element.scrollTop = -600));
    const arrivals = 2 * MAX_WHILE_READING;
    await busy(session.server, 81, arrivals);
    await ann.locator(".jump", { hasText: `${arrivals} new messages` }).waitFor({
      timeout: 30_000,
    });
    // What the reader is reading stays, with what came next below it, up to a bound.
    const reading = await shownSeqs(ann);
    assert.ok(reading.length <= MAX_WHILE_READING, `${reading.length} messages shown`);
    assertRun(reading, 31, 30 + reading.length);
    // Back at the newest, the latest are shown, at once and without gaps, and older ones load.
    await ann.locator(".scroller").evaluate((element) => (element.scrollTop = 0));
    await ann.locator(".jump").waitFor({ state: "detached" });
    const last = 80 + arrivals;
    await ann.waitForFunction((last) => document.querySelector(`[data-seq="${last}"]`), last);
    assertRun(await shownSeqs(ann), last - MAX_SHOWN + 1, last);
    await ann.locator(".load-older").click();
    await ann.locator(`[data-seq="${last - MAX_SHOWN}"]`).waitFor();
    assertRun(await shownSeqs(ann), last - MAX_SHOWN - 49, last);
  });
});

Deno.test("room page - a reader scrolled up when the room moved on past its history is taken to the latest", async () => {
  await withBrowserSession(async (session) => {
    await busy(session.server, 1, 120);
    // The page's socket can be taken away, and every next one refused, as while offline.
    const { context, link } = await droppableContext(session);
    const ann = await context.newPage();
    await ann.goto(`${session.server.origin}/rooms/lobby?transport=ws`);
    await ann.locator(".status-live").waitFor();
    await ann.locator(".scroller").evaluate((element) => (element.scrollTop = -400));
    await busy(session.server, 121, 3);
    await ann.locator(".jump", { hasText: "3 new messages" }).waitFor();
    link.offline = true;
    link.drop();
    await ann.locator(".status-reconnecting").waitFor();
    // Ann is in another window meanwhile.
    await ann.evaluate(() => (document.hasFocus = () => false));
    // Far more than the room keeps (200) come meanwhile: the page is resynced to the latest.
    await busy(session.server, 124, 400);
    link.offline = false;
    // Back online: the page tries at once (a click on "Try now" races its own next try).
    await ann.evaluate(() => dispatchEvent(new Event("online")));
    await ann.locator('[data-seq="523"]').waitFor();
    // The jump is said, and what came in it counts as unread like any other arrival.
    assert.equal(
      await ann.locator("[aria-live=polite]").textContent(),
      "Skipped ahead to the latest messages. bob: message 523",
    );
    assert.equal(await ann.title(), "(50) The lobby · Parley");
    // What the reader was reading is gone: no count of messages long replaced, and the view is
    // at the newest, with older ones to load above.
    assert.equal(await ann.locator(".jump").count(), 0);
    assertRun(await shownSeqs(ann), 474, 523);
    const fromBottom = await ann.locator(".scroller").evaluate((element) =>
      Math.abs(element.scrollTop)
    );
    assert.ok(fromBottom < 2, `${fromBottom} px from the newest`);
    await busy(session.server, 524, 1);
    await ann.locator('[data-seq="524"]').waitFor();
    assert.equal(await ann.locator(".jump").count(), 0);
  }, { PARLEY_HISTORY_LIMIT: "200" });
});

Deno.test("room page - a page of older messages that comes after a resync is not put above it", async () => {
  await withBrowserSession(async (session) => {
    await busy(session.server, 1, 120);
    const { context, link } = await droppableContext(session);
    const ann = await context.newPage();
    // The older page is read while the room still keeps it, and reaches the page only when let go.
    let letGo = () => {};
    const held = new Promise<void>((asked) => {
      ann.route((url) => url.searchParams.has("before"), async (route) => {
        const response = await route.fetch();
        asked();
        await new Promise<void>((resolve) => (letGo = resolve));
        await route.fulfill({ response });
      });
    });
    await ann.goto(`${session.server.origin}/rooms/lobby?transport=ws`);
    await ann.locator(".status-live").waitFor();
    await ann.locator(".load-older").click();
    await held;
    link.offline = true;
    link.drop();
    await ann.locator(".status-reconnecting").waitFor();
    await busy(session.server, 121, 400);
    link.offline = false;
    await ann.evaluate(() => dispatchEvent(new Event("online")));
    await ann.locator('[data-seq="520"]').waitFor();
    const answered = ann.waitForEvent(
      "requestfinished",
      (request) => request.url().includes("before="),
    );
    letGo();
    await answered;
    await ann.waitForTimeout(300);
    assertRun(await shownSeqs(ann), 471, 520);
  }, { PARLEY_HISTORY_LIMIT: "200" });
});

Deno.test("room page - after the clock is set back an hour, typing still tells the room", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann", { query: "?transport=ws" });
    const told: string[] = [];
    ann.on("websocket", (socket) =>
      socket.on("framesent", ({ payload }) => {
        if (String(payload).includes('"typing"')) told.push(String(payload));
      }));
    // Frames are seen on sockets opened from now on.
    await ann.reload();
    await ann.locator(".status-live").waitFor();
    await ann.locator("#composer-text").pressSequentially("a");
    await ann.waitForTimeout(500);
    assert.equal(told.length, 1);
    // The computer's clock is corrected back an hour (or a laptop wakes with it behind).
    await ann.evaluate(() => {
      const real = Date.now;
      Date.now = () => real() - 3_600_000;
    });
    await ann.waitForTimeout(2_500);
    await ann.locator("#composer-text").pressSequentially("b");
    await ann.waitForTimeout(500);
    assert.equal(told.length, 2, "typing two seconds apart tells the room twice");
  });
});
