/**
 * Browser tests of the UI against a real server on port 0 in Debian's Chromium: screenshots of
 * the directory and a busy room (light, dark, phone), accessibility basics, paging back through
 * history, safe links, the unread count in the title, the jump-to-newest button, typing and
 * presence, the composer's keys, the outbox's failed state, the offline banner and hydration
 * without layout shift.
 *
 * Screenshots are taken and checked in memory; with PARLEY_UPDATE_SCREENSHOTS=1 they are also
 * written to docs/screenshots/ for review.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { BrowserContextOptions, Page, Route } from "playwright-core";
import {
  type BrowserSession,
  namedContext,
  openRoom,
  openRouted,
  recordTexts,
  refuseSends,
  say,
  texts,
  withBrowserSession,
} from "./browser.ts";
import { SESSION_COOKIE } from "../lib/session.ts";
import { personToken, requestJson, type TestServer } from "./server.ts";

const SCREENSHOTS = new URL("../docs/screenshots/", import.meta.url);
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1100, height: 760 } };

/** A short team conversation, cycled to seed a busy room: [author, text]. */
const CONVERSATION: Array<[string, string]> = [
  ["ann", "Morning! Is the 2.4 release still on for today?"],
  ["bob", "Yes, right after the standup."],
  ["bob", "The KV migration finished overnight. Notes: https://example.com/notes/kv-migration"],
  ["carol", "Nice. Does the long-poll fallback work behind the office proxy now?"],
  ["ann", "It does: the proxy drops WebSockets, so my tab fell back to SSE by itself."],
  ["ann", "Release checklist:\n1. drain worker 3\n2. watch /metrics for 10 min\n3. post here"],
  ["carol", "I'll take the metrics watch."],
  ["bob", "Heads-up: staging is on the new build, poke at it if you have a minute."],
  ["carol", "Found a typo on the settings page, fixing it now."],
  ["ann", "Thanks! Ping me when it's merged and I'll cut the tag."],
];

async function createRoom(server: TestServer, id: string, title: string): Promise<void> {
  const { status } = await requestJson(server, "/api/rooms", { body: { id, title } });
  assert.equal(status, 201);
}

async function post(server: TestServer, room: string, author: string, text: string) {
  const { status, body } = await requestJson(server, `/api/rooms/${room}/messages`, {
    body: { author, text },
  });
  assert.equal(status, 201, JSON.stringify(body));
}

/** Posts `count` messages of the conversation, in order, to a room. */
async function seedConversation(server: TestServer, room: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const [author, text] = CONVERSATION[i % CONVERSATION.length];
    await post(server, room, author, text);
  }
}

/**
 * Browser context options that open a page as the person of that name who posted through
 * {@link post}: the same session, so the page takes their messages for theirs.
 */
function asPoster(server: TestServer, name: string): BrowserContextOptions {
  const cookie = {
    name: SESSION_COOKIE,
    value: personToken(server, name)!,
    domain: new URL(server.origin).hostname,
    path: "/",
    expires: -1,
    httpOnly: true,
    secure: false,
    sameSite: "Lax" as const,
  };
  return { storageState: { cookies: [cookie], origins: [] } };
}

/** Posts "message 1" … "message N" from alternating authors. */
async function seedNumbered(server: TestServer, room: string, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    await post(server, room, i % 3 === 0 ? "bob" : "ann", `message ${i}`);
  }
}

/**
 * Takes a screenshot and checks it is not blank; writes it to docs/screenshots/ only when
 * `PARLEY_UPDATE_SCREENSHOTS=1`, so an ordinary test run leaves no file anywhere.
 */
async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  const image = await page.screenshot({ fullPage });
  if (Deno.env.get("PARLEY_UPDATE_SCREENSHOTS") === "1") {
    await Deno.mkdir(SCREENSHOTS, { recursive: true });
    await Deno.writeFile(new URL(name, SCREENSHOTS), image);
  }
  assert.ok(image.length > 10_000, `${name} is suspiciously small (${image.length} bytes)`);
}

/** Scroll offset of the message list from its bottom, in px (0 at the newest message). */
function distanceFromBottom(page: Page): Promise<number> {
  return page.locator(".scroller").evaluate((element) => Math.abs(element.scrollTop));
}

function scrollUp(page: Page, pixels: number): Promise<void> {
  return page.locator(".scroller").evaluate((element, pixels) => {
    element.scrollTop -= pixels;
  }, pixels);
}

/** Makes the page believe it is hidden or visible, and tells it so. */
function setVisibility(page: Page, state: "hidden" | "visible"): Promise<void> {
  return page.evaluate((state) => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
    Object.defineProperty(document, "hidden", {
      configurable: true,
      get: () => state === "hidden",
    });
    document.dispatchEvent(new Event("visibilitychange"));
  }, state);
}

/** Makes the page believe its window lost or regained focus (behind another, or in front). */
function setWindowFocus(page: Page, focused: boolean): Promise<void> {
  return page.evaluate((focused) => {
    document.hasFocus = () => focused;
    globalThis.dispatchEvent(new FocusEvent(focused ? "focus" : "blur"));
  }, focused);
}

// Screenshots

Deno.test("directory - screenshots in light and dark mode", async () => {
  await withBrowserSession(async (session) => {
    const { server, browser } = session;
    await createRoom(server, "releases", "Release train");
    await createRoom(server, "design-crit", "Design critique");
    await createRoom(server, "random", "Random");
    await seedConversation(server, "lobby", 24);
    await seedConversation(server, "releases", 7);
    await post(server, "random", "dan", "Anyone up for lunch at noon?");
    await openRoom(session, "ann");
    await openRoom(session, "bob");
    await openRoom(session, "eve", { room: "releases" });
    for (const colorScheme of ["light", "dark"] as const) {
      const context = await browser.newContext({ ...DESKTOP, colorScheme, locale: "en-US" });
      const page = await context.newPage();
      // Presence is written when a connection opens; wait until the directory sees both.
      await waitForOnline(page, `${server.origin}/`, "lobby", "2 online");
      await screenshot(page, `directory-${colorScheme}.png`, true);
      await context.close();
    }
  });
});

/**
 * Opens the directory at `url` again, or runs `refresh` on the open one, until `room` shows
 * `text` as its online count (presence lands a moment after a page connects), or in `part`.
 */
async function waitForOnline(
  page: Page,
  refresh: string | (() => Promise<unknown>),
  room: string,
  text: string,
  part = ".room-online",
) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await (typeof refresh === "string" ? page.goto(refresh) : refresh());
    const item = page.locator(".room-item", { has: page.locator(`a[href="/rooms/${room}"]`) });
    if ((await item.locator(part).allInnerTexts()).join() === text) return;
    if (Date.now() > deadline) throw new Error(`${room} never showed "${text}"`);
    await page.waitForTimeout(250);
  }
}

Deno.test("room page - screenshots of a busy room in light and dark mode and on a phone", async () => {
  await withBrowserSession(async (session) => {
    await seedConversation(session.server, "lobby", 80);
    // The people who wrote the conversation are the ones online: nobody shares a name.
    await openRoom(session, "bob", asPoster(session.server, "bob"));
    const carol = await openRoom(session, "carol", asPoster(session.server, "carol"));
    const shots = [
      { name: "room-light.png", options: { ...DESKTOP, colorScheme: "light" as const } },
      { name: "room-dark.png", options: { ...DESKTOP, colorScheme: "dark" as const } },
      { name: "room-mobile.png", options: { ...PHONE, colorScheme: "light" as const } },
    ];
    for (const { name, options } of shots) {
      const ann = await openRoom(session, "ann", {
        ...options,
        ...asPoster(session.server, "ann"),
      });
      await ann.locator(".presence-text", { hasText: "Online: ann, bob, carol" }).waitFor();
      // Carol types; ann sees it under the list. (Carol's page tells the room at most every 2 s,
      // so she types on until ann's page shows it.)
      await carol.locator("#composer-text").fill("");
      const typingShown = ann.locator(".typing", { hasText: "carol is typing…" });
      for (const letter of "Merged, and merged again") {
        await carol.locator("#composer-text").press(letter === " " ? "Space" : letter);
        if (await typingShown.isVisible()) break;
        await carol.waitForTimeout(200);
      }
      await typingShown.waitFor({ timeout: 5_000 });
      // Each name is isolated, so a right-to-left one would keep its place among the commas.
      assert.deepEqual(await ann.locator(".presence-text bdi").allInnerTexts(), [
        "ann",
        "bob",
        "carol",
      ]);
      assert.deepEqual(await ann.locator(".typing bdi").allInnerTexts(), ["carol"]);
      await ann.locator("#composer-text").fill("Tag is out, thanks all!");
      // The newest message is in view, grouped under its author.
      assert.equal(await distanceFromBottom(ann), 0);
      const headers = await ann.locator(".message.first").count();
      const shown = await ann.locator(".message").count();
      assert.equal(shown, 50);
      assert.ok(headers < shown, "consecutive messages of one author were not grouped");
      await screenshot(ann, name);
      await ann.context().close();
    }
  });
});

// Directory

Deno.test("directory - ?q= filters the rooms without JavaScript", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    await createRoom(server, "ops", "Operations");
    await createRoom(server, "design-crit", "Design critique");
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${server.origin}/?q=CRIT`);
    assert.deepEqual(await page.locator(".room-name strong").allInnerTexts(), ["Design critique"]);
    assert.equal(await page.getByLabel("Search rooms").inputValue(), "CRIT");
    assert.equal(
      await page.locator(".search-summary").innerText(),
      "1 of 3 rooms matches “CRIT”.",
    );
    await page.goto(`${server.origin}/?q=nothing+here`);
    assert.equal(await page.locator(".room-item").count(), 0);
    assert.equal(
      await page.locator(".search-summary").innerText(),
      "No rooms match “nothing here”.",
    );
    // The search form itself submits to ?q=.
    await page.getByLabel("Search rooms").fill("lobby");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/\?q=lobby$/);
    assert.deepEqual(await page.locator(".room-name strong").allInnerTexts(), ["The lobby"]);
  });
});

Deno.test("directory - the search box filters as you type and keeps ?q= in the address", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    await createRoom(server, "ops", "Operations");
    await createRoom(server, "design-crit", "Design critique");
    const page = await browser.newPage();
    await page.goto(`${server.origin}/`);
    const names = () => page.locator(".room-name strong").allInnerTexts();
    assert.equal((await names()).length, 3);
    // Every change of the status region, which a screen reader reads out.
    await page.evaluate(() => {
      const status = document.querySelector('.directory [role="status"]')!;
      const said: string[] = [];
      new MutationObserver(() => said.push(status.textContent ?? "")).observe(status, {
        childList: true,
        characterData: true,
        subtree: true,
      });
      Object.assign(window, { said });
    });
    await page.getByLabel("Search rooms").pressSequentially("oper");
    await page.locator(".room-item").nth(1).waitFor({ state: "detached" });
    assert.deepEqual(await names(), ["Operations"]);
    assert.equal(new URL(page.url()).searchParams.get("q"), "oper");
    assert.equal(await page.locator(".search-summary").innerText(), "1 of 3 rooms matches “oper”.");
    // Said once, when typing paused, not after every letter.
    await page.locator('.directory [role="status"]', { hasText: "matches “oper”" }).waitFor();
    const said = await page.evaluate(() => (window as unknown as { said: string[] }).said);
    assert.deepEqual(said.filter((text) => text !== ""), ["1 of 3 rooms matches “oper”."]);
    await page.getByLabel("Search rooms").fill("");
    await page.locator(".room-item").nth(2).waitFor();
    assert.equal((await names()).length, 3);
    assert.equal(new URL(page.url()).search, "");
  });
});

/** Creates `count` rooms "Room 1" (`room-1`) and on, all newer than the rooms made before. */
async function createRooms(server: TestServer, count: number): Promise<void> {
  // So that the rooms made before are beyond the first page.
  await new Promise((resolve) => setTimeout(resolve, 5));
  for (let i = 1; i <= count; i++) await createRoom(server, `room-${i}`, `Room ${i}`);
}

Deno.test("directory - shows the 50 most recently active rooms, and more in place on demand", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    await createRooms(server, 60);
    const page = await browser.newPage();
    await page.goto(`${server.origin}/`);
    const items = page.locator(".room-item");
    assert.equal(await items.count(), 50);
    const summary = page.locator(".search-summary");
    assert.equal(await summary.innerText(), "Showing the 50 most recently active of 61 rooms.");
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));
    // Clicked twice: the second click's request calls off the first's, which is no failure.
    await page.getByRole("link", { name: "Show more rooms" }).dblclick();
    await items.nth(60).waitFor();
    assert.equal(await page.getByRole("alert").count(), 0);
    assert.equal(await items.count(), 61);
    assert.equal(await page.evaluate(() => "notReloaded" in window), true);
    assert.equal(new URL(page.url()).searchParams.get("show"), "100");
    assert.equal(await summary.innerText(), "");
    assert.equal(await page.getByRole("link", { name: "Show more rooms" }).count(), 0);
    // Focus is on the first room the link brought.
    const focused = await page.evaluate(() => document.activeElement?.getAttribute("href"));
    assert.equal(focused, await items.nth(50).locator(".room-name a").getAttribute("href"));
    // A keystroke that leaves the search as it was keeps what is shown, and so does a letter
    // typed and taken back.
    const search = page.getByLabel("Search rooms");
    await search.press("Space");
    assert.equal(new URL(page.url()).searchParams.get("show"), "100");
    await search.press("x");
    await search.press("Backspace");
    assert.equal(new URL(page.url()).searchParams.get("show"), "100");
    assert.equal(await items.count(), 61);
  });
});

Deno.test("directory - a search or showing more that is slow says so, and one that fails changes nothing", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    await createRooms(server, 60);
    const page = await browser.newPage();
    await page.goto(`${server.origin}/`);
    // The server is slow to answer, and then does not.
    const failSlowly = async (route: Route) => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await route.abort();
    };
    await page.route("**/api/directory?*", failSlowly);
    // A search the page cannot answer itself says it is searching, then that it failed.
    const search = page.getByLabel("Search rooms");
    await search.fill("lobby");
    await page.locator(".search-summary", { hasText: "Searching…" }).waitFor();
    await page.locator(".search-summary", { hasText: "could not reach the server" }).waitFor();
    await search.fill("");
    const more = page.locator(".show-more a");
    await more.click();
    assert.equal(await more.innerText(), "Loading more rooms…");
    assert.equal(await more.getAttribute("aria-disabled"), "true");
    await page.getByRole("alert").filter({ hasText: "More rooms could not be loaded" }).waitFor();
    assert.equal(await more.innerText(), "Show more rooms");
    assert.equal(await page.locator(".room-item").count(), 50);
    assert.equal(new URL(page.url()).search, "");
    assert.equal(await more.getAttribute("href"), "/?show=100");
    // Once the server answers again, the same link works.
    await page.unroute("**/api/directory?*");
    await more.click();
    await page.locator(".room-item").nth(60).waitFor();
    assert.equal(await page.getByRole("alert").count(), 0);
  });
});

Deno.test("directory - a failed search is said in the status region, and Enter tries it again", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    await createRooms(server, 60);
    const page = await browser.newPage();
    await page.goto(`${server.origin}/`);
    await page.route("**/api/directory?*", (route) => route.abort());
    const search = page.getByLabel("Search rooms");
    await search.fill("room-1");
    const status = page.locator('.directory [role="status"]');
    await status.filter({ hasText: "could not reach the server" }).waitFor();
    await page.unroute("**/api/directory?*");
    await search.press("Enter");
    await status.filter({ hasText: "rooms match “room-1”" }).waitFor();
    // room-1 and room-10 to room-19.
    assert.equal(await page.locator(".room-item").count(), 11);
  });
});

Deno.test("directory - a search or more rooms the server fails to answer say so, not that the connection is down", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    await createRooms(server, 60);
    const page = await browser.newPage();
    await page.goto(`${server.origin}/`);
    await page.route("**/api/directory?*", (route) =>
      route.fulfill({
        status: 503,
        json: { error: { code: "storage_unavailable", message: "The store is unavailable" } },
      }));
    const search = page.getByLabel("Search rooms");
    await search.fill("room-1");
    const status = page.locator('.directory [role="status"]');
    await status.filter({ hasText: "The server could not search just now" }).waitFor();
    assert.equal(
      await page.locator(".search-summary").innerText(),
      "The server could not search just now: try again in a moment.",
    );
    await search.fill("");
    await page.locator(".show-more a").click();
    await page.getByRole("alert").filter({ hasText: "the server could not answer just now" })
      .waitFor();
  });
});

Deno.test("directory - a refresh leaves the list in its order while a room in it has focus", async () => {
  await withBrowserSession(async (session) => {
    const { server, browser } = session;
    for (const i of [1, 2, 3]) {
      // Each room a few milliseconds newer than the one before.
      await new Promise((resolve) => setTimeout(resolve, 5));
      await createRoom(server, `room-${i}`, `Room ${i}`);
    }
    const page = await browser.newPage();
    await page.goto(`${server.origin}/`);
    const names = () => page.locator(".room-name a").allInnerTexts();
    const before = await names();
    assert.deepEqual(before.slice(0, 3), ["Room 3", "Room 2", "Room 1"]);
    await page.locator('a[href="/rooms/room-2"]').focus();
    await seedNumbered(server, "room-1", 2);
    const refresh = () =>
      page.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
    // The server reads the rooms again after a second: refreshed until the messages show.
    await waitForOnline(page, refresh, "room-1", "2 messages · active just now", ".room-meta");
    assert.deepEqual(await names(), before, "the list moved under the focus");
    // Once the visitor has left the list, the next refresh puts the busiest room first.
    await page.getByLabel("Search rooms").focus();
    await refresh();
    await page.locator(".room-item").first().filter({ hasText: "Room 1" }).waitFor();
    // A pointer over the list holds it too.
    const after = await names();
    await seedNumbered(server, "room-3", 3);
    await page.locator('a[href="/rooms/room-2"]').hover();
    await waitForOnline(page, refresh, "room-3", "3 messages · active just now", ".room-meta");
    assert.deepEqual(await names(), after, "the list moved under the pointer");
  });
});

Deno.test("directory - ?show= and the show-more link work without JavaScript", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    await createRooms(server, 60);
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${server.origin}/?q=room`);
    assert.equal(await page.locator(".room-item").count(), 50);
    assert.equal(
      await page.locator(".search-summary").innerText(),
      "60 of 61 rooms match “room”; showing the 50 most recently active.",
    );
    await page.getByRole("link", { name: "Show more rooms" }).click();
    await page.waitForURL(/\?q=room&show=100$/);
    assert.equal(await page.locator(".room-item").count(), 60);
    assert.equal(await page.locator(".search-summary").innerText(), "60 of 61 rooms match “room”.");
  });
});

Deno.test("directory - a search reaches rooms beyond the ones the page holds", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    await createRooms(server, 60);
    const page = await browser.newPage();
    await page.goto(`${server.origin}/`);
    const names = () => page.locator(".room-name strong").allInnerTexts();
    assert.ok(!(await names()).includes("The lobby"), "the oldest room is on the first page");
    const status = page.locator('.directory [role="status"]');
    await page.getByLabel("Search rooms").pressSequentially("lobby");
    await page.locator(".search-summary", { hasText: "1 of 61 rooms matches “lobby”." }).waitFor();
    assert.deepEqual(await names(), ["The lobby"]);
    assert.equal(await status.innerText(), "1 of 61 rooms matches “lobby”.");
    // A refresh in the background is not announced.
    await createRoom(server, "lobby-2", "Second lobby");
    await page.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
    await page.locator(".search-summary", { hasText: "2 of 62 rooms match “lobby”." }).waitFor();
    assert.equal(await status.innerText(), "1 of 61 rooms matches “lobby”.");
    // Back to every room: the most recent 50 again, with the count.
    await page.getByLabel("Search rooms").fill("");
    await page.locator(".search-summary", { hasText: "Showing the 50" }).waitFor();
    assert.equal(await page.locator(".room-item").count(), 50);
    assert.equal(await status.innerText(), "Showing the 50 most recently active of 62 rooms.");
  });
});

Deno.test("directory - each room shows its message count, last activity and who is online", async () => {
  await withBrowserSession(async (session) => {
    const { server, browser } = session;
    await createRoom(server, "empty", "Empty room");
    await seedConversation(server, "lobby", 3);
    await openRoom(session, "ann");
    const page = await browser.newPage();
    await waitForOnline(page, `${server.origin}/`, "lobby", "1 online");
    const lobby = page.locator(".room-item", { has: page.locator('a[href="/rooms/lobby"]') });
    assert.equal(await lobby.locator(".room-meta").innerText(), "3 messages · active just now");
    const datetime = await lobby.locator("time").getAttribute("datetime");
    assert.ok(datetime && !Number.isNaN(Date.parse(datetime)));
    const empty = page.locator(".room-item", { has: page.locator('a[href="/rooms/empty"]') });
    assert.equal(await empty.locator(".room-meta").innerText(), "No messages yet");
    assert.equal(await empty.locator(".room-online").count(), 0);
    // The whole row opens the room.
    await empty.click({ position: { x: 600, y: 10 } });
    await page.waitForURL(/\/rooms\/empty$/);
  });
});

Deno.test("directory - an open page takes in new rooms, messages and people when shown again", async () => {
  await withBrowserSession(async (session) => {
    const { server, browser } = session;
    const page = await browser.newPage();
    await page.goto(`${server.origin}/`);
    const lobby = page.locator(".room-item", { has: page.locator('a[href="/rooms/lobby"]') });
    assert.equal(await lobby.locator(".room-meta").innerText(), "No messages yet");
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));

    await createRoom(server, "later", "Later room");
    await seedNumbered(server, "lobby", 2);
    await openRoom(session, "ann");
    // The tab is shown again: the event a hidden tab gets when brought back.
    const shownAgain = () =>
      page.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
    await waitForOnline(page, shownAgain, "lobby", "1 online");
    assert.equal(await lobby.locator(".room-meta").innerText(), "2 messages · active just now");
    assert.equal(await page.locator('.room-item a[href="/rooms/later"]').count(), 1);
    assert.equal(await page.evaluate(() => "notReloaded" in window), true);
  });
});

Deno.test("directory - a refused room id is explained under its field, without JavaScript", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${server.origin}/`);
    // Skip the browser's own checks to see the server's answer.
    await page.locator("form.create-room").evaluate((form) =>
      (form as HTMLFormElement).noValidate = true
    );
    await page.getByLabel("Room id").fill("Bad Id!");
    await page.getByLabel("Title").fill("Fine title");
    await page.getByRole("button", { name: "Create room" }).click();
    const alert = page.getByRole("alert");
    assert.match(await alert.innerText(), /^A room id is 1 to 48 lowercase letters/);
    const id = page.getByLabel("Room id");
    assert.equal(await id.getAttribute("aria-invalid"), "true");
    assert.equal(await id.inputValue(), "Bad Id!");
    assert.equal(await page.getByLabel("Title").inputValue(), "Fine title");
    assert.equal(await page.getByLabel("Title").getAttribute("aria-invalid"), null);
    // The message is read with the field.
    const described = await id.evaluate((input) =>
      (input.getAttribute("aria-describedby") ?? "").split(" ").map((ref) =>
        document.getElementById(ref)?.textContent ?? ""
      ).join(" ")
    );
    assert.match(described, /A room id is 1 to 48/);
    // An alert already in a page as it loads is not announced: the title says it, and focus is
    // on the field, which reads its error.
    assert.equal(await page.title(), "Room not created · Parley");
    assert.equal(await id.evaluate((input) => input === document.activeElement), true);
    // The directory still works on the error page.
    assert.deepEqual(await page.locator(".room-name strong").allInnerTexts(), ["The lobby"]);
  });
});

// Accessibility

Deno.test("room page - every input is labelled and new messages are announced politely", async () => {
  await withBrowserSession(async (session) => {
    await seedConversation(session.server, "lobby", 5);
    const ann = await openRoom(session, "ann");
    for (const url of [ann.url(), `${session.server.origin}/`]) {
      await ann.goto(url);
      const fields = await ann.locator("input, textarea").evaluateAll((elements) =>
        elements.map((element) => {
          const field = element as HTMLInputElement | HTMLTextAreaElement;
          const labelled = [...(field.labels ?? [])].map((label) => label.textContent ?? "");
          const named = field.getAttribute("aria-label") ?? "";
          return { field: field.id || field.name, label: (labelled.join(" ") + named).trim() };
        })
      );
      assert.ok(fields.length >= 2, `too few fields on ${url}`);
      for (const { field, label } of fields) assert.notEqual(label, "", `${field} on ${url}`);
    }
    await ann.goto(`${session.server.origin}/rooms/lobby`);
    await ann.locator(".status-live").waitFor();
    assert.equal(await ann.getByRole("status").first().innerText(), "Live · WebSocket");
    assert.equal(await ann.getByLabel("Message", { exact: true }).count(), 1);
    assert.equal(await ann.getByLabel("Name").count(), 1);
    // The composer is a named landmark, and a skip link leads past the messages to it.
    assert.equal(await ann.getByRole("form", { name: "Send a message" }).count(), 1);
    await ann.getByRole("link", { name: "Skip to message box" }).press("Enter");
    assert.equal(await ann.evaluate(() => document.activeElement?.id), "composer-text");
    // One polite live region for arrivals; the message list itself is not live.
    const live = ann.locator('[aria-live="polite"]');
    assert.equal(await live.count(), 1);
    assert.equal(await ann.locator("[aria-live] .messages, .messages[aria-live]").count(), 0);
    const bob = await openRoom(session, "bob");
    await say(bob, "hello ann, see you at 10");
    await ann.locator('[aria-live="polite"]', { hasText: "bob: hello ann, see you at 10" })
      .waitFor();
    // The same words again are said again: the region's text must change to be read out.
    const spoken = await live.textContent();
    await say(bob, "hello ann, see you at 10");
    await ann.waitForFunction(
      (before) => document.querySelector('[aria-live="polite"]')?.textContent !== before,
      spoken,
    );
    assert.match((await live.textContent()) ?? "", /^bob: hello ann, see you at 10\s?$/);
    // The scrollable list can be reached and scrolled from the keyboard.
    assert.equal(await ann.locator(".scroller").getAttribute("tabindex"), "0");
  });
});

Deno.test("room page - Enter sends, Shift+Enter starts a new line, Escape jumps to the newest", async () => {
  await withBrowserSession(async (session) => {
    await seedNumbered(session.server, "lobby", 60);
    const ann = await openRoom(session, "ann");
    const box = ann.locator("#composer-text");
    await box.focus();
    await ann.keyboard.type("line one");
    await ann.keyboard.press("Shift+Enter");
    await ann.keyboard.type("line two");
    assert.equal(await box.inputValue(), "line one\nline two");
    await ann.keyboard.press("Enter");
    await ann.locator(".message:not(.pending) .text", { hasText: "line two" }).waitFor();
    assert.equal((await texts(ann)).at(-1), "line one\nline two");
    assert.equal(await box.inputValue(), "");
    await scrollUp(ann, 800);
    assert.ok(await distanceFromBottom(ann) > 0);
    await box.press("Escape");
    assert.ok(await distanceFromBottom(ann) < 2);
  });
});

Deno.test("room page - keyboard focus stays on Load older, and follows Escape from a message link", async () => {
  await withBrowserSession(async (session) => {
    await seedNumbered(session.server, "lobby", 129);
    await post(session.server, "lobby", "bob", "see https://example.com/notes");
    const ann = await openRoom(session, "ann");
    const focusedClass = () => ann.evaluate(() => document.activeElement?.className ?? "");
    const live = ann.locator('[aria-live="polite"]');
    // Two pages of older messages (50, then 30): focus stays on the button while it loads (the
    // button staying in view at the top), and goes to the start of the history when it goes away.
    const button = ann.locator("button.load-older");
    await button.focus();
    await button.press("Enter");
    await ann.locator(".message[data-seq='31']").waitFor();
    assert.equal(await focusedClass(), "load-older");
    await live.filter({ hasText: "50 older messages loaded" }).waitFor();
    await button.press("Enter");
    await ann.locator(".history-start").waitFor();
    assert.equal(await ann.evaluate(() => document.activeElement?.id), "history-start");
    await live.filter({ hasText: "30 older messages loaded" }).waitFor();
    // A link in a message, left above the view by Escape, hands focus to the message box.
    await ann.locator(".message a", { hasText: "example.com" }).focus();
    await scrollUp(ann, 2000);
    await ann.keyboard.press("Escape");
    assert.ok(await distanceFromBottom(ann) < 2);
    assert.equal(await ann.evaluate(() => document.activeElement?.id), "composer-text");
  });
});

// History

Deno.test("room page - scrolling up loads older messages until the first, in order, without a jump", async () => {
  await withBrowserSession(async (session) => {
    await seedNumbered(session.server, "lobby", 130);
    const ann = await openRoom(session, "ann");
    assert.equal((await texts(ann))[0], "message 81");
    // Scroll to the top: the oldest message shown must stay where it is as older ones arrive.
    const anchor = ann.locator(".message[data-seq='81']");
    await ann.locator(".scroller").evaluate((
      element,
    ) => (element.scrollTop = -element.scrollHeight));
    const before = (await anchor.boundingBox())?.y;
    await ann.locator(".message[data-seq='31']").waitFor();
    const after = (await anchor.boundingBox())?.y;
    assert.ok(before !== undefined && after !== undefined);
    assert.ok(Math.abs(after - before) < 2, `the list jumped from ${before} to ${after}`);
    // Keep scrolling up until the start of the room.
    const deadline = Date.now() + 15_000;
    while (await ann.locator(".history-start").count() === 0) {
      assert.ok(Date.now() < deadline, "never reached the first message");
      await ann.locator(".scroller").evaluate((element) =>
        element.scrollTop = -element.scrollHeight
      );
      await ann.waitForTimeout(100);
    }
    const all = await texts(ann);
    assert.deepEqual(all, Array.from({ length: 130 }, (_, i) => `message ${i + 1}`));
    assert.equal(await ann.locator(".load-older").count(), 0);
    // New messages still arrive at the bottom after paging back.
    const bob = await openRoom(session, "bob");
    await say(bob, "message 131");
    await ann.locator(".message:not(.pending) .text", { hasText: "message 131" }).waitFor();
    const seqs = await ann.locator(".message[data-seq]").evaluateAll((items) =>
      items.map((item) => Number((item as HTMLElement).dataset.seq))
    );
    assert.deepEqual(seqs, Array.from({ length: 131 }, (_, i) => i + 1));
  });
});

Deno.test("room page - paging back to where retention cut the history says so, not that the room starts there", async () => {
  await withBrowserSession(async (session) => {
    await seedNumbered(session.server, "lobby", 130);
    const ann = await openRoom(session, "ann");
    const top = ann.locator(".history-start");
    const deadline = Date.now() + 15_000;
    while (await top.count() === 0) {
      assert.ok(Date.now() < deadline, "never reached the oldest message kept");
      await ann.locator(".scroller").evaluate((element) =>
        element.scrollTop = -element.scrollHeight
      );
      await ann.waitForTimeout(100);
    }
    assert.equal(
      await top.innerText(),
      "Older messages are no longer kept: the room keeps only its latest ones.",
    );
    assert.equal((await texts(ann))[0], "message 31");
    assert.equal(await ann.locator(".history-top").getByText("This is the start").count(), 0);
  }, { PARLEY_HISTORY_LIMIT: "100" });
});

Deno.test("room page - the load older button pages back from the keyboard", async () => {
  await withBrowserSession(async (session) => {
    await seedNumbered(session.server, "lobby", 150);
    const ann = await openRoom(session, "ann");
    const button = ann.getByRole("button", { name: "Load older messages" });
    // Focus without scrolling, so only the key press can load anything.
    await button.evaluate((element) => (element as HTMLElement).focus({ preventScroll: true }));
    assert.equal((await texts(ann)).length, 50);
    await ann.keyboard.press("Enter");
    await ann.locator(".message[data-seq='51']").waitFor();
    assert.deepEqual(await texts(ann), Array.from({ length: 100 }, (_, i) => `message ${i + 51}`));
    // The focused button stays in view, above the messages it loaded, and loads no more by itself.
    const inView = () =>
      button.evaluate((element) => {
        const box = element.getBoundingClientRect();
        const list = document.querySelector(".scroller")!.getBoundingClientRect();
        return box.top >= list.top && box.bottom <= list.bottom;
      });
    assert.equal(await inView(), true);
    assert.equal(await ann.locator(".message[data-seq='51']").isVisible(), true);
    await ann.waitForTimeout(500);
    assert.equal((await texts(ann)).length, 100);
    await ann.keyboard.press("Enter");
    await ann.locator(".message[data-seq='1']").waitFor();
    assert.equal(await ann.evaluate(() => document.activeElement?.id), "history-start");
  });
});

Deno.test("room page - older messages that fail to load are announced, and Try again loads them", async () => {
  await withBrowserSession(async (session) => {
    await seedNumbered(session.server, "lobby", 60);
    const ann = await openRoom(session, "ann");
    // The server cannot answer for history at first (and the route stays, letting requests by).
    let failing = true;
    await ann.route(
      (url) => url.pathname === "/api/rooms/lobby/messages" && url.searchParams.has("before"),
      (route) =>
        failing
          ? route.fulfill({
            status: 503,
            json: { error: { code: "unavailable", message: "busy" } },
          })
          : route.fallback(),
    );
    const live = ann.locator('[aria-live="polite"]');
    const button = ann.locator("button.load-older");
    await button.evaluate((element) => (element as HTMLElement).focus({ preventScroll: true }));
    await ann.keyboard.press("Enter");
    // Focus stays on the button, renamed "Try again": the live region says what happened.
    await ann.getByRole("button", { name: "Try again" }).waitFor();
    assert.equal(await ann.evaluate(() => document.activeElement?.className), "load-older");
    await live.filter({ hasText: "Older messages could not be loaded" }).waitFor({
      timeout: 2_000,
    });
    failing = false;
    await ann.keyboard.press("Enter");
    await ann.locator(".message[data-seq='1']").waitFor();
    await live.filter({ hasText: "10 older messages loaded" }).waitFor();
  });
});

Deno.test("room page - older messages whose answer never comes are given up on, and Try again loads them", async () => {
  await withBrowserSession(async (session) => {
    await seedNumbered(session.server, "lobby", 60);
    const ann = await openRoom(session, "ann");
    // The first request for history goes over a link that stalls: it is never answered.
    let stalled = 0;
    await ann.route(
      (url) => url.pathname === "/api/rooms/lobby/messages" && url.searchParams.has("before"),
      (route) => stalled++ === 0 ? undefined : route.fallback(),
    );
    const asked = Date.now();
    await ann.locator("button.load-older").click();
    await ann.getByRole("button", { name: "Try again" }).waitFor({ timeout: 20_000 });
    assert.ok(Date.now() - asked < 15_000, `given up after ${Date.now() - asked} ms`);
    assert.equal(
      await ann.locator(".history-error").innerText(),
      "Older messages could not be loaded.",
    );
    await ann.getByRole("button", { name: "Try again" }).click();
    await ann.locator(".message[data-seq='1']").waitFor();
    assert.equal(stalled, 2);
  });
});

// Links

Deno.test("room page - links open safely in a new tab and javascript: stays text", async () => {
  await withBrowserSession(async (session) => {
    const text =
      "docs: https://example.com/guide?x=1. not a link: javascript:alert(document.domain)";
    await post(session.server, "lobby", "bob", text);
    const ann = await openRoom(session, "ann");
    await ann.context().route(
      "https://example.com/**",
      (route) => route.fulfill({ contentType: "text/html", body: "<title>guide</title>" }),
    );
    // Server-rendered and hydrated.
    assert.deepEqual(await texts(ann), [text]);
    const links = ann.locator(".message .text a");
    assert.equal(await links.count(), 1);
    assert.equal(await links.getAttribute("href"), "https://example.com/guide?x=1");
    assert.equal(await links.getAttribute("rel"), "noopener noreferrer");
    assert.equal(await links.getAttribute("target"), "_blank");
    assert.equal(await links.innerText(), "https://example.com/guide?x=1");
    assert.equal(await ann.locator('a[href^="javascript"]').count(), 0);
    const [popup] = await Promise.all([ann.waitForEvent("popup"), links.click()]);
    await popup.waitForLoadState();
    assert.equal(popup.url(), "https://example.com/guide?x=1");
    assert.equal(await popup.evaluate(() => globalThis.opener), null);
    // Rendered live, by the island alone.
    const bob = await openRoom(session, "bob");
    await say(bob, "live http://example.com/live and javascript:void(0)");
    await ann.locator(".text a", { hasText: "http://example.com/live" }).waitFor();
    assert.equal(await ann.locator(".message .text a").count(), 2);
    assert.equal(await ann.locator('a[href^="javascript"]').count(), 0);
  });
});

// Arrivals while away

/**
 * Has bob send while ann is away (`away`, undone by `back`): the count of his messages leads her
 * title, hers do not count, and it goes once she is back, and stays gone for what comes then.
 */
async function assertUnreadWhileAway(
  session: BrowserSession,
  away: (page: Page) => Promise<void>,
  back: (page: Page) => Promise<void>,
): Promise<void> {
  const ann = await openRoom(session, "ann");
  const bob = await openRoom(session, "bob");
  assert.equal(await ann.title(), "The lobby · Parley");
  await away(ann);
  await say(ann, "brb"); // your own messages do not count
  for (const text of ["one", "two", "three"]) await say(bob, text);
  await ann.waitForFunction(() => document.title === "(3) The lobby · Parley");
  await back(ann);
  await ann.waitForFunction(() => document.title === "The lobby · Parley");
  await say(bob, "four");
  await ann.locator(".message .text", { hasText: "four" }).waitFor();
  assert.equal(await ann.title(), "The lobby · Parley");
}

Deno.test("room page - the unread count leads the title while the tab is hidden", async () => {
  await withBrowserSession((session) =>
    assertUnreadWhileAway(
      session,
      (page) => setVisibility(page, "hidden"),
      (page) => setVisibility(page, "visible"),
    )
  );
});

Deno.test("room page - the unread count leads the title while the window is behind another", async () => {
  // The tab stays shown: ann is in another window, with this one still in sight.
  await withBrowserSession((session) =>
    assertUnreadWhileAway(
      session,
      (page) => setWindowFocus(page, false),
      (page) => setWindowFocus(page, true),
    )
  );
});

Deno.test("room page - a message just after midnight is under Today, though the page's clock lags", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann", { timezoneId: "UTC" });
    // The page's clock ticks once a minute: it may still say the day before when a message comes.
    const midnight = new Date().setUTCHours(0, 0, 0, 0);
    await ann.clock.install({ time: midnight - 600_000 });
    await ann.reload();
    await ann.locator(".status-live").waitFor();
    await say(ann, "after midnight");
    await ann.locator(".message:not(.pending) .text", { hasText: "after midnight" }).waitFor();
    assert.deepEqual(await ann.locator(".day-divider").allInnerTexts(), ["Today"]);
  });
});

Deno.test("room page - a new-messages button appears when scrolled up and jumps to the newest", async () => {
  await withBrowserSession(async (session) => {
    await seedNumbered(session.server, "lobby", 80);
    const ann = await openRoom(session, "ann");
    const bob = await openRoom(session, "bob");
    const jump = ann.locator(".jump");
    // At the bottom, arrivals just show.
    await say(bob, "while at the bottom");
    await ann.locator(".text", { hasText: "while at the bottom" }).waitFor();
    assert.equal(await jump.count(), 0);
    assert.ok(await distanceFromBottom(ann) < 2);
    // Scrolled up, they wait behind the button, and the view does not move.
    await scrollUp(ann, 600);
    const away = await distanceFromBottom(ann);
    await say(bob, "while reading history");
    await jump.waitFor();
    assert.match(await jump.innerText(), /^1 new message\b(?!s)/);
    await say(bob, "and another");
    await ann.locator(".jump", { hasText: "2 new messages" }).waitFor();
    assert.ok(await distanceFromBottom(ann) > away, "the view followed the new messages");
    await jump.click();
    await jump.waitFor({ state: "detached" });
    assert.ok(await distanceFromBottom(ann) < 2);
    // The clicked button is gone: focus goes to the message box, not back to the page.
    assert.equal(await ann.evaluate(() => document.activeElement?.id), "composer-text");
    // So it does when Escape takes the focused button away.
    await scrollUp(ann, 600);
    await say(bob, "one more");
    await jump.waitFor();
    await jump.focus();
    await ann.keyboard.press("Escape");
    await jump.waitFor({ state: "detached" });
    assert.equal(await ann.evaluate(() => document.activeElement?.id), "composer-text");
  });
});

Deno.test("room page - on a touch screen the new-messages button does not open the keyboard", async () => {
  await withBrowserSession(async (session) => {
    await seedNumbered(session.server, "lobby", 80);
    const ann = await openRoom(session, "ann", PHONE);
    const bob = await openRoom(session, "bob");
    await scrollUp(ann, 600);
    await say(bob, "while reading history");
    const jump = ann.locator(".jump");
    await jump.waitFor();
    await jump.tap();
    await jump.waitFor({ state: "detached" });
    assert.ok(await distanceFromBottom(ann) < 2);
    // Focus in the message box would bring up the on-screen keyboard over what the reader came
    // to see: it goes to the list they are reading.
    assert.equal(await ann.evaluate(() => document.activeElement?.className), "scroller");
  });
});

Deno.test("room page - both people stay at the newest as an empty room fills past the view", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann");
    const bob = await openRoom(session, "bob");
    for (let i = 1; i <= 12; i++) {
      const sender = i % 2 === 1 ? ann : bob;
      await say(sender, `turn ${i}`);
      // Each waits for the other's message, as people taking turns do.
      for (const page of [ann, bob]) {
        await page.locator(".message:not(.pending) .text", { hasText: `turn ${i}` }).waitFor();
      }
    }
    for (const page of [ann, bob]) {
      assert.ok(await distanceFromBottom(page) < 2, `${await distanceFromBottom(page)} px up`);
      const newestInView = await page.locator(".text", { hasText: "turn 12" }).evaluate((text) => {
        const box = text.getBoundingClientRect();
        const list = text.closest(".scroller")?.getBoundingClientRect();
        return list !== undefined && box.top >= list.top && box.bottom <= list.bottom;
      });
      assert.ok(newestInView, "the newest message is in view");
    }
  });
});

// People

Deno.test("room page - shows who is online and who is typing, but not yourself", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann");
    const bob = await openRoom(session, "bob");
    await ann.locator(".presence-text", { hasText: "Online: ann, bob" }).waitFor();
    await ann.locator("#composer-text").pressSequentially("typing myself", { delay: 20 });
    await bob.locator("#composer-text").pressSequentially("hello", { delay: 20 });
    await ann.locator(".typing", { hasText: "bob is typing…" }).waitFor({ timeout: 5_000 });
    // (Its text, not innerText: the names and "is typing…" are laid out as two boxes.)
    assert.equal(await ann.locator(".typing").textContent(), "bob is typing…");
    // It goes away by itself a few seconds after the last keystroke.
    await ann.locator(".typing", { hasText: "typing" }).waitFor({
      state: "detached",
      timeout: 10_000,
    });
    assert.equal(await bob.locator(".typing").textContent(), "");
  });
});

Deno.test("room page - long names are counted; the list opens, and closes on Escape or a click away", async () => {
  await withBrowserSession(async (session) => {
    const alexandria = await openRoom(session, "Alexandria Konstantinopoulou");
    await openRoom(session, "Dmitri Ivanovich Petrov");
    const count = alexandria.locator("summary.presence-text", { hasText: "2 online" });
    await count.waitFor();
    const list = alexandria.getByRole("list", { name: "Online now" });
    await count.click();
    assert.deepEqual(await list.locator("li").allInnerTexts(), [
      "Alexandria Konstantinopoulou",
      "Dmitri Ivanovich Petrov",
    ]);
    await alexandria.keyboard.press("Escape");
    await list.waitFor({ state: "hidden" });
    assert.equal(await count.evaluate((summary) => summary === document.activeElement), true);
    await count.click();
    await list.waitFor();
    await alexandria.locator(".scroller").click();
    await list.waitFor({ state: "hidden" });
  });
});

for (
  const [shape, title] of [["a short title", "Tea"], [
    "a long title",
    "The weekly planning room of the Köln office",
  ]]
) {
  Deno.test(`room page - on a phone the online list stays on screen, under ${shape}`, async () => {
    await withBrowserSession(async (session) => {
      const { status } = await requestJson(session.server, "/api/rooms", {
        body: { id: "tea", title },
      });
      assert.equal(status, 201);
      const names = ["Alexandria Konstantinopoulou", "P", "Dmitri Ivanovich Petrov", "bo", "cy"];
      const page = await openRoom(session, names[0], { ...PHONE, room: "tea" });
      for (const name of names.slice(1)) await openRoom(session, name, { room: "tea" });
      const count = page.locator("summary.presence-text", { hasText: "5 online" });
      await count.waitFor();
      await count.click();
      const list = page.getByRole("list", { name: "Online now" });
      await list.waitFor();
      const box = (await list.boundingBox())!;
      assert.ok(box.x >= 0 && box.x + box.width <= PHONE.viewport.width, JSON.stringify(box));
    });
  });
}

/** The typing line as it shows one sam of two typing: with the tag that tells which. */
const SAM_TYPING = /^sam [0-9a-hjkmnp-tv-z]{7} is typing…$/;

Deno.test("room page - someone else with your name is online and typing beside you", async () => {
  await withBrowserSession(async (session) => {
    const mine = await openRoom(session, "sam");
    const theirs = await openRoom(session, "sam");
    // Each sam listed with a tag, and this one as "(you)".
    const online = mine.locator(".presence-text", {
      hasText: /^Online: sam \w{7}( \(you\))?, sam \w{7}( \(you\))?$/,
    });
    await online.waitFor();
    assert.equal((await online.innerText()).split("(you)").length, 2);
    // While this tab types, the other sam's typing still shows here.
    const drafting = mine.locator("#composer-text").pressSequentially("a slow draft", {
      delay: 150,
    });
    await theirs.locator(".typing", { hasText: SAM_TYPING }).waitFor({ timeout: 5_000 });
    await theirs.locator("#composer-text").pressSequentially("hi", { delay: 20 });
    await mine.locator(".typing", { hasText: SAM_TYPING }).waitFor({ timeout: 5_000 });
    await drafting;
  });
});

Deno.test("room page - after you send, someone else of your name typing shows at once", async () => {
  await withBrowserSession(async (session) => {
    const mine = await openRoom(session, "sam");
    const theirs = await openRoom(session, "sam");
    await say(mine, "my message");
    await theirs.locator(".message .text", { hasText: "my message" }).waitFor();
    // Sending ended this tab's typing: the other sam's shows well within the 8 s a keystroke
    // would have hidden it for.
    await theirs.locator("#composer-text").pressSequentially("hi", { delay: 20 });
    await mine.locator(".typing", { hasText: SAM_TYPING }).waitFor({ timeout: 3_000 });
  });
});

Deno.test("room page - one sam's message leaves another sam's typing shown", async () => {
  await withBrowserSession(async (session) => {
    const sender = await openRoom(session, "sam");
    const typist = await openRoom(session, "sam");
    const ann = await openRoom(session, "ann");
    await ann.locator(".presence-text", { hasText: /sam \w{7}, sam \w{7}/ }).waitFor();
    const typing = typist.locator("#composer-text").pressSequentially("still typing here", {
      delay: 150,
    });
    await ann.locator(".typing", { hasText: SAM_TYPING }).waitFor({ timeout: 5_000 });
    // Pasted and sent at once: this sam never typed.
    await sender.locator("#composer-text").fill("pasted");
    await sender.locator("#composer-text").press("Enter");
    await ann.locator(".message .text", { hasText: "pasted" }).waitFor();
    assert.match(await ann.locator(".typing").textContent() ?? "", SAM_TYPING);
    await typing;
  });
});

Deno.test("room page - someone else with your name is not taken for you", async () => {
  await withBrowserSession(async (session) => {
    const mine = await openRoom(session, "sam");
    const theirs = await openRoom(session, "sam");
    await setVisibility(mine, "hidden");
    await say(theirs, "hey other sam");
    // Their message counts as unread and is announced, as anyone else's would be.
    await mine.locator('[aria-live="polite"]', { hasText: "sam: hey other sam" }).waitFor();
    assert.equal(await mine.title(), "(1) The lobby · Parley");
    await setVisibility(mine, "visible");
    // Their typing shows (one's own does not: see "but not yourself").
    await theirs.locator("#composer-text").pressSequentially("more", { delay: 20 });
    await mine.locator(".typing", { hasText: SAM_TYPING }).waitFor({ timeout: 5_000 });
    // This tab's own message, though, is not unread.
    await setVisibility(mine, "hidden");
    await say(mine, "hi, I am sam too");
    await mine.locator(".message:not(.pending) .text", { hasText: "sam too" }).waitFor();
    assert.equal(await mine.title(), "The lobby · Parley");
  });
});

Deno.test("room page - two people of one name are shown as two authors", async () => {
  await withBrowserSession(async (session) => {
    const mine = await openRoom(session, "sam");
    const theirs = await openRoom(session, "sam");
    await say(mine, "first from me");
    await say(mine, "second from me");
    await theirs.locator(".message .text", { hasText: "second from me" }).waitFor();
    await say(theirs, "and one from the other sam");
    await mine.locator(".message:not(.pending)", { hasText: "the other sam" }).waitFor();
    // This sam's two messages are one group; the other sam's starts one of its own.
    assert.deepEqual(
      await mine.locator(".message:not(.pending)").evaluateAll((items) =>
        items.map((item) => item.classList.contains("first"))
      ),
      [true, false, true],
    );
    // Each sam's header carries a tag from their own author id, so neither passes for the other.
    const tags = await mine.locator(".message.first .author-tag").allInnerTexts();
    assert.equal(tags.length, 2);
    assert.notEqual(tags[0], tags[1]);
    for (const tag of tags) assert.match(tag, /^[0-9a-hjkmnp-tv-z]{7}$/);
    // Someone whose name nobody else has here gets none.
    const bob = await openRoom(session, "bob");
    await say(bob, "just bob");
    await mine.locator(".message:not(.pending)", { hasText: "just bob" }).waitFor();
    assert.equal(await mine.locator(".message.first .author-tag").count(), 2);
  });
});

Deno.test("room page - two people of one name online are listed each with their messages' tag", async () => {
  await withBrowserSession(async (session) => {
    const mine = await openRoom(session, "sam");
    const theirs = await openRoom(session, "sam");
    await say(mine, "from the first sam");
    await say(theirs, "from the second sam");
    const ann = await openRoom(session, "ann");
    await ann.locator(".message:not(.pending)", { hasText: "second sam" }).waitFor();
    const online = ann.locator(".presence-text", {
      hasText: /^Online: ann, sam \w{7}, sam \w{7}$/,
    });
    await online.waitFor();
    // Each name is isolated as before, and each sam's tag is the one on their message.
    assert.deepEqual(await online.locator("bdi").allInnerTexts(), ["ann", "sam", "sam"]);
    const listed = await online.locator(".author-tag").allInnerTexts();
    const written = await ann.locator(".message.first .author-tag").allInnerTexts();
    assert.equal(new Set(listed).size, 2);
    assert.deepEqual([...listed].sort(), [...written].sort());
    // Each sam sees which of the two is them: the one whose tag their own message has.
    const own = await mine.locator(".message.first", { hasText: "first sam" }).locator(
      ".author-tag",
    ).innerText();
    await mine.locator(".presence-person", { hasText: `sam ${own} (you)` }).waitFor();
    assert.equal(await mine.locator(".presence-person", { hasText: "(you)" }).count(), 1);
  });
});

Deno.test("room page - two people of one name typing are shown each with their tag", async () => {
  await withBrowserSession(async (session) => {
    const sams = [await openRoom(session, "sam"), await openRoom(session, "sam")];
    const ann = await openRoom(session, "ann");
    const online = ann.locator(".presence-text", {
      hasText: /^Online: ann, sam \w{7}, sam \w{7}$/,
    });
    await online.waitFor();
    const typing = sams.map((sam) =>
      sam.locator("#composer-text").pressSequentially("a slow draft", { delay: 150 })
    );
    const line = ann.locator(".typing", {
      hasText: /^sam [0-9a-hjkmnp-tv-z]{7} and sam [0-9a-hjkmnp-tv-z]{7} are typing…$/,
    });
    await line.waitFor({ timeout: 5_000 });
    // Each typist isolated, with the tag the online list gives their session.
    assert.deepEqual(await line.locator("bdi").allInnerTexts(), ["sam", "sam"]);
    const tags = await line.locator(".author-tag").allInnerTexts();
    assert.equal(new Set(tags).size, 2);
    assert.deepEqual(tags, await online.locator(".author-tag").allInnerTexts());
    // Each sam sees the other typing, not themselves: the tag that is not their own "(you)".
    for (const sam of sams) {
      const own = sam.locator(".presence-person", { hasText: "(you)" }).locator(".author-tag");
      const mine = await own.innerText();
      const theirs = tags.find((tag) => tag !== mine)!;
      await sam.locator(".typing", { hasText: `sam ${theirs} is typing…` }).waitFor({
        timeout: 5_000,
      });
    }
    await Promise.all(typing);
  });
});

Deno.test("room page - your other tab's messages and typing are yours", async () => {
  await withBrowserSession(async (session) => {
    const tab = await openRoom(session, "sam");
    // The other tab opens while the visitor is typing in this one.
    const typed = tab.locator("#composer-text").pressSequentially("hello from tab a", {
      delay: 150,
    });
    await tab.waitForTimeout(500);
    const other = await tab.context().newPage();
    await other.goto(tab.url());
    await other.locator(".status-live").waitFor();
    await setVisibility(other, "hidden");
    await typed;
    // The other tab hears of the typing within a second, and does not show it as someone else's.
    await other.waitForTimeout(1_500);
    assert.equal(await other.locator(".typing").textContent(), "");
    await tab.locator("#composer-text").press("Enter");
    await other.locator(".message:not(.pending) .text", { hasText: "tab a" }).waitFor();
    // Nor is the message unread, or announced.
    assert.equal(await other.title(), "The lobby · Parley");
    assert.equal(await other.locator('[aria-live="polite"]').textContent(), "");
  });
});

Deno.test("room page - your other tab's message is yours even when that tab's word of it comes late", async () => {
  await withBrowserSession(async (session) => {
    const tab = await openRoom(session, "sam");
    const other = await tab.context().newPage();
    // Tabs tell each other what they sent; here that word never reaches this tab in time.
    await other.addInitScript(() => {
      const Native = BroadcastChannel;
      globalThis.BroadcastChannel = class extends Native {
        override set onmessage(handler: ((event: MessageEvent) => void) | null) {
          super.onmessage = (event: MessageEvent) => {
            if (typeof event.data?.sent !== "string") handler?.(event);
          };
        }
      };
    });
    await other.goto(tab.url());
    await other.locator(".status-live").waitFor();
    await setVisibility(other, "hidden");
    await say(tab, "hello from tab a");
    await other.locator(".message:not(.pending) .text", { hasText: "tab a" }).waitFor();
    // The message carries the session's author id: it is the visitor's, not unread or announced.
    assert.equal(await other.title(), "The lobby · Parley");
    assert.equal(await other.locator('[aria-live="polite"]').textContent(), "");
  });
});

// Outbox and connection

Deno.test("room page - text the server would refuse is explained under the box and stays to be fixed", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann");
    await say(ann, "bell \u0007 here");
    await ann.locator("#composer-notice", {
      hasText: "The text must not contain control characters other than tab and newline",
    }).waitFor();
    assert.equal(await ann.locator(".message.pending").count(), 0);
    assert.equal(await ann.locator("#composer-text").inputValue(), "bell \u0007 here");
    // Only invisible characters: explained too, with no empty row.
    await say(ann, "\u200b\u200b");
    await ann.locator("#composer-notice", { hasText: "The text must not be empty" }).waitFor();
    assert.equal(await ann.locator(".message").count(), 0);
    await say(ann, "fine now");
    await ann.locator(".message:not(.pending) .text", { hasText: "fine now" }).waitFor();
    assert.equal(await ann.locator("#composer-notice").count(), 0);
  });
});

Deno.test("room page - a message the server refuses says why, and goes back to be edited or is discarded", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann", { query: "?transport=poll" });
    const serveAgain = await refuseSends(ann, "The text must not say bell");
    await say(ann, "bell here");
    const failed = ann.locator(".message.pending-failed");
    await failed.waitFor();
    assert.equal(
      await failed.locator(".pending-state span").innerText(),
      "Failed to send: The text must not say bell —",
    );
    assert.equal(await failed.getByRole("button", { name: "Retry" }).count(), 0);
    await failed.getByRole("button", { name: "Edit" }).click();
    await failed.waitFor({ state: "detached" });
    assert.equal(await ann.locator("#composer-text").inputValue(), "bell here");
    assert.equal(await ann.evaluate(() => document.activeElement?.id), "composer-text");
    await say(ann, "bell again");
    await failed.waitFor();
    await failed.getByRole("button", { name: "Discard" }).click();
    await failed.waitFor({ state: "detached" });
    assert.equal(await ann.evaluate(() => document.activeElement?.id), "composer-text");
    serveAgain();
    await say(ann, "fine now");
    await ann.locator(".message:not(.pending) .text", { hasText: "fine now" }).waitFor();
    assert.deepEqual(await texts(ann), ["fine now"]);
  });
});

Deno.test("room page - a message whose id someone else took is marked failed, to be edited, not lost", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann");
    await ann.context().setOffline(true);
    await say(ann, "my important message");
    await ann.locator(".pending-state", { hasText: "Waiting to send…" }).waitFor();
    const kept = await ann.evaluate(() => sessionStorage.getItem("parley:unsent:lobby"));
    const [{ id }] = JSON.parse(kept ?? "[]");
    // Someone else stores a message under that id first.
    const mallory = await requestJson(session.server, "/api/rooms/lobby/messages", {
      body: { id, author: "mallory", text: "I took your id" },
    });
    assert.equal(mallory.status, 201);
    await ann.context().setOffline(false);
    const failed = ann.locator(".message.pending-failed", { hasText: "my important message" });
    await failed.waitFor({ timeout: 15_000 });
    assert.equal(
      await failed.locator(".pending-state span").innerText(),
      "Failed to send: another message took its place —",
    );
    assert.equal(await failed.getByRole("button", { name: "Retry" }).count(), 0);
    await failed.getByRole("button", { name: "Edit" }).click();
    await say(ann, await ann.locator("#composer-text").inputValue());
    await ann.locator(".message:not(.pending) .text", { hasText: "my important message" })
      .waitFor();
    assert.deepEqual(await texts(ann), ["I took your id", "my important message"]);
  });
});

Deno.test("room page - Retry on a failed message sends it again, and leaves focus in the box", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann", { query: "?transport=poll" });
    const serveAgain = await refuseSends(ann, "Not now", { status: 403, code: "forbidden" });
    await say(ann, "try me");
    const failed = ann.locator(".message.pending-failed");
    await failed.waitFor();
    serveAgain();
    await failed.getByRole("button", { name: "Retry" }).focus();
    await ann.keyboard.press("Enter");
    await ann.locator(".message:not(.pending) .text", { hasText: "try me" }).waitFor();
    assert.equal(await ann.evaluate(() => document.activeElement?.id), "composer-text");
  });
});

Deno.test("room page - once the room is gone, a waiting message fails and Send is disabled", async () => {
  await withBrowserSession(async (session) => {
    // Its sends are held once the room is "deleted", and the socket is then closed as the server
    // closes one whose room is gone.
    const { page: ann, socket } = await openRouted(session, "ann");
    await ann.locator(".status-live").waitFor({ timeout: 10_000 });
    socket.holding = true;
    await say(ann, "into the void");
    await ann.locator(".message.pending").waitFor();
    await socket.close(4404, "room_not_found");
    await ann.locator(".status", { hasText: "This room no longer exists" }).waitFor();
    await ann.locator(".message.pending-failed", { hasText: "The room no longer exists" })
      .waitFor();
    assert.equal(await ann.locator("button.send").isDisabled(), true);
    const failed = ann.locator(".message.pending-failed");
    assert.equal(await failed.getByRole("button", { name: "Retry" }).count(), 0);
    assert.equal(await failed.getByRole("button", { name: "Discard" }).count(), 1);
    // Enter does nothing either: no row that could never be sent.
    await say(ann, "after it is gone");
    assert.equal(await ann.locator(".message").count(), 1);
    assert.equal(await ann.locator("#composer-text").inputValue(), "after it is gone");
  });
});

Deno.test("room page - a connection lost after minutes live counts down from now, not from the page's load", async () => {
  await withBrowserSession(async (session) => {
    const { page: ann, socket } = await openRouted(session, "ann");
    await ann.locator(".status-live").waitFor({ timeout: 10_000 });
    // Every text the banner shows from now on.
    const bannerTexts = await recordTexts(ann, ".status");
    await ann.waitForTimeout(4_000);
    await socket.close(1011, "gone");
    await ann.locator(".status-live").waitFor({ state: "detached" });
    await ann.locator(".status-live").waitFor({ timeout: 10_000 });
    const seen = await bannerTexts();
    const countdowns = seen.flatMap((text) => /in (\d+) s/.exec(text)?.[1] ?? []).map(Number);
    // The first reconnect waits at most 250 ms: "in 1 s".
    assert.ok(countdowns.every((seconds) => seconds <= 1), `the banner said ${seen.join(" | ")}`);
  });
});

Deno.test("room page - a rename reconnects under the new name, and the banner says reconnecting", async () => {
  await withBrowserSession(async (session) => {
    const { page: ann } = await openRouted(session, "ann");
    await ann.locator(".status-live").waitFor({ timeout: 10_000 });
    // The session under the new name takes a while, so the banner shows what comes between.
    await ann.route("**/api/session", async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await route.fallback();
    });
    const bannerTexts = await recordTexts(ann, ".status");
    await ann.locator('input[name="name"]').fill("annie");
    await ann.locator('input[name="name"]').press("Enter");
    await ann.locator(".status-live").waitFor({ state: "detached" });
    await ann.locator(".status-live").waitFor({ timeout: 10_000 });
    const seen = await bannerTexts();
    assert.ok(seen.some((text) => text.startsWith("Reconnecting")), `banner: ${seen.join(" | ")}`);
    assert.ok(!seen.some((text) => text.startsWith("Connecting")), `banner: ${seen.join(" | ")}`);
  });
});

Deno.test("room page - a new visitor's first message has the colour it will keep while it is sent", async () => {
  await withBrowserSession(async (session) => {
    // No session when the page is rendered: the page learns its author id as it connects.
    const { page, socket } = await openRouted(session);
    await page.locator(".status-live").waitFor({ timeout: 10_000 });
    // The session takes a while: the read-only connection's "Live" must not let a message go
    // out under no author id meanwhile.
    await page.route("**/api/session", async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await route.fallback();
    });
    socket.holding = true;
    await page.locator('input[name="name"]').fill("newcomer");
    await page.locator('input[name="name"]').press("Enter");
    // The banner leaves Live at once: the connection with the session has yet to open.
    await page.locator(".status-live").waitFor({ state: "detached" });
    await page.locator(".status-live").waitFor({ timeout: 10_000 });
    await say(page, "hello, first time here");
    const avatar = page.locator(".message .avatar").first();
    await page.locator(".message.pending").waitFor();
    const pending = await avatar.getAttribute("class");
    socket.release();
    await page.locator(".message:not(.pending) .text", { hasText: "first time here" }).waitFor();
    assert.equal(await avatar.getAttribute("class"), pending);
  });
});

Deno.test("room page - sending never shows your own name as typing", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann");
    // Every text the typing line shows, from before the first keystroke on.
    const typingTexts = await recordTexts(ann, ".typing");
    for (let i = 1; i <= 3; i++) {
      await ann.locator("#composer-text").pressSequentially(`message ${i}`, { delay: 30 });
      await ann.locator("#composer-text").press("Enter");
      await ann.locator(".message:not(.pending) .text", { hasText: `message ${i}` }).waitFor();
      await ann.waitForTimeout(300);
    }
    const seen = await typingTexts();
    assert.deepEqual(seen.filter((text) => text.includes("ann")), []);
  });
});

Deno.test("room page - a reload keeps the draft, and sends once what was still being sent", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann", { query: "?transport=poll" });
    const dialogs: string[] = [];
    ann.on("dialog", (dialog) => {
      dialogs.push(dialog.type());
      dialog.accept();
    });
    // Sends do not get through: the message waits, "Sending…".
    const messages = "**/api/rooms/lobby/messages";
    await ann.route(
      messages,
      (route) => route.request().method() === "POST" ? route.abort() : route.fallback(),
    );
    await say(ann, "sent while cut off");
    await ann.locator(".message.pending", { hasText: "sent while cut off" }).waitFor();
    await ann.locator("#composer-text").fill("a draft");
    await ann.unroute(messages);
    await ann.reload();
    // The browser asked before leaving a message behind.
    assert.deepEqual(dialogs, ["beforeunload"]);
    await ann.locator(".message:not(.pending) .text", { hasText: "sent while cut off" }).waitFor();
    assert.equal(await ann.locator("#composer-text").inputValue(), "a draft");
    // Once more: nothing is left to send, and nothing is stored twice.
    await ann.reload();
    await ann.locator(".status-live").waitFor();
    await ann.waitForTimeout(500);
    assert.equal(await ann.locator(".message.pending").count(), 0);
    assert.deepEqual(await texts(ann), ["sent while cut off"]);
    assert.deepEqual(dialogs, ["beforeunload"]);
    // Kept as unsent though it was stored (its answer lost as the page went): the next page,
    // which shows it, does not keep it for a later one to send again.
    const { body } = await requestJson(session.server, "/api/rooms/lobby/messages");
    const [stored] = body.messages as Array<{ id: string; text: string }>;
    await ann.evaluate((kept) => {
      sessionStorage.setItem("parley:unsent:lobby", JSON.stringify([kept]));
    }, { id: stored.id, text: stored.text });
    await ann.reload();
    await ann.locator(".status-live").waitFor();
    assert.equal(await ann.evaluate(() => sessionStorage.getItem("parley:unsent:lobby")), null);
    assert.deepEqual(await texts(ann), ["sent while cut off"]);
  });
});

Deno.test("room page - after a reload mid-draft, your own name does not show as typing", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann");
    await ann.locator("#composer-text").pressSequentially("half a thought", { delay: 30 });
    await ann.reload();
    await ann.locator(".status-live").waitFor();
    // The spell the last page started lasts 5 s on the server; the list arrives on connecting.
    await ann.waitForTimeout(1_000);
    assert.equal(await ann.locator("#composer-text").inputValue(), "half a thought");
    assert.equal(await ann.locator(".typing").textContent(), "");
  });
});

Deno.test("room page - offline, the banner names the transport and who is online is not shown; both recover", async () => {
  await withBrowserSession(async (session) => {
    const ann = await openRoom(session, "ann", { locale: "en-US" });
    await ann.locator(".presence-text", { hasText: "Online: ann" }).waitFor();
    await ann.context().setOffline(true);
    await ann.locator(".status-offline").waitFor();
    assert.equal(
      await ann.locator(".status").innerText(),
      "Offline · reconnects when you are back online · WebSocket",
    );
    assert.equal(
      await ann.locator(".status").ariaSnapshot(),
      "- status: Offline · reconnects when you are back online",
    );
    assert.equal(await ann.locator('[role="status"].status').count(), 1);
    // Whoever left meanwhile would still be listed: nothing is, until the page is back.
    assert.equal(await ann.locator(".presence-text").count(), 0);
    await ann.context().setOffline(false);
    await ann.locator(".status-live").waitFor({ timeout: 15_000 });
    assert.equal(await ann.locator(".status").innerText(), "Live · WebSocket");
    // The transport's name is shown, not read out.
    assert.equal(await ann.locator(".status").ariaSnapshot(), "- status: Live");
    await ann.locator(".presence-text", { hasText: "Online: ann" }).waitFor();
  });
});

/**
 * Opens the lobby as ann on WebSocket alone (refused sockets are then not taken for a proxy that
 * blocks them), through a route that can take the server away: `down(true)` drops the page's
 * socket and closes each next one before it says welcome, `down(false)` lets them through again.
 * `opened` holds when the page asked for each socket.
 */
async function openDroppable({ server, browser }: BrowserSession) {
  const context = await namedContext(browser, "ann");
  const page = await context.newPage();
  let blocked = false;
  let drop = () => {};
  const opened: number[] = [];
  await page.routeWebSocket(/\/ws/, (socket) => {
    opened.push(Date.now());
    if (blocked) return socket.close({ code: 1006 });
    socket.connectToServer();
    drop = () => socket.close({ code: 1006 });
  });
  await page.goto(`${server.origin}/rooms/lobby?transport=ws`);
  await page.locator(".status-live").waitFor({ timeout: 10_000 });
  const down = (now: boolean) => {
    blocked = now;
    if (now) drop();
  };
  return { page, down, opened };
}

/**
 * Waits until the banner counts down from `atLeast` seconds or more (backoff grows with each
 * failure); returns what it read then, and when.
 */
async function longCountdown(page: Page, atLeast: number) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const text = await page.locator(".status").innerText();
    const readAt = Date.now();
    const seconds = Number(/in (\d+) s/.exec(text)?.[1] ?? 0);
    if (seconds >= atLeast) return { text, seconds, readAt };
    if (readAt > deadline) throw new Error(`the banner never counted down from ${atLeast} s`);
    await page.waitForTimeout(100);
  }
}

Deno.test("room page - the banner counts down to the next reconnect, naming the transport", async () => {
  await withBrowserSession(async (session) => {
    const { page, down } = await openDroppable(session);
    down(true);
    const { text, seconds } = await longCountdown(page, 3);
    assert.equal(text, `Reconnecting in ${seconds} s · WebSocket Try now`);
    const next = `Reconnecting in ${seconds - 1} s · WebSocket`;
    await page.locator(".status", { hasText: next }).waitFor({ timeout: 1_500 });
    // The countdown and the transport are shown but kept out of what the region announces.
    assert.equal(
      await page.locator(".status [aria-hidden=true]").first().innerText(),
      ` in ${seconds - 1} s`,
    );
    assert.equal(
      await page.locator(".status").ariaSnapshot(),
      '- status:\n  - text: Reconnecting\n  - button "Try now"',
    );
    // A message sent meanwhile says it waits, then goes once live.
    await say(page, "said while away");
    await page.locator(".pending-state", { hasText: "Waiting to send…" }).waitFor();
    // Unblocked and told the network is back, it reconnects at once.
    down(false);
    await page.evaluate(() => dispatchEvent(new Event("online")));
    await page.locator(".status-live").waitFor({ timeout: 10_000 });
    assert.equal(await page.locator(".status").innerText(), "Live · WebSocket");
    await page.locator(".message:not(.pending) .text", { hasText: "said while away" }).waitFor();
  });
});

Deno.test("room page - while a reconnect is counted down, Try now connects at once", async () => {
  await withBrowserSession(async (session) => {
    const { page, down, opened } = await openDroppable(session);
    down(true);
    // "in 4 s" or more: the next try is due over 3 s after the page's clock last ticked, which
    // it does every second, so over 2 s after the banner was read.
    const { readAt } = await longCountdown(page, 4);
    down(false);
    const tries = opened.length;
    await page.locator(".status").getByRole("button", { name: "Try now" }).click();
    await page.locator(".status-live").waitFor({ timeout: 10_000 });
    // The try came at once, not when the countdown ran out.
    assert.ok(opened[tries] - readAt < 2_000, `it tried ${opened[tries] - readAt} ms later`);
    assert.equal(await page.getByRole("button", { name: "Try now" }).count(), 0);
  });
});

Deno.test("room page - a first load whose first tries fail says it is connecting, not reconnecting, and counts down", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    const context = await namedContext(browser, "ann");
    // Each next try waits the longest its backoff allows: 0.25, 0.5, 1 and 2 s.
    await context.addInitScript(() => (Math.random = () => 0.999));
    const page = await context.newPage();
    let refused = 0;
    await page.routeWebSocket(/\/ws/, (socket) => {
      if (refused++ < 4) return socket.close({ code: 1006 });
      socket.connectToServer();
    });
    await page.goto(`${server.origin}/rooms/lobby?transport=ws`);
    const banners = await recordTexts(page, ".status");
    await page.locator(".status-live").waitFor({ timeout: 15_000 });
    const seen = await banners();
    const counted = seen.filter((text) => /^Connecting in \d+ s · WebSocket/.test(text));
    assert.ok(counted.length > 0, JSON.stringify(seen));
    assert.deepEqual(seen.filter((text) => text.includes("Reconnecting")), []);
  });
});

Deno.test("room page - hydration shifts no layout", async () => {
  await withBrowserSession(async (session) => {
    await seedConversation(session.server, "lobby", 60);
    // A returning visitor: a new one of a name that wrote here gets tags only once hydrated.
    const context = await namedContext(session.browser, "ann", {
      ...DESKTOP,
      ...asPoster(session.server, "ann"),
    });
    const page = await context.newPage();
    // The script waits until the page, parsed and styled, says where each of its parts is.
    const styled = Promise.withResolvers<void>();
    await page.route("**/build/islands.js*", async (route) => {
      await styled.promise;
      await route.continue();
    });
    await page.goto(`${session.server.origin}/rooms/lobby`, { waitUntil: "commit" });
    await page.waitForFunction(() =>
      document.readyState !== "loading" &&
      (document.querySelector("link[rel=stylesheet]") as HTMLLinkElement | null)?.sheet
    );
    await page.evaluate(() => {
      const box = (element: Element) => {
        const { x, y, width, height } = element.getBoundingClientRect();
        return [x, y, width, height].map(Math.round).join(",");
      };
      const parts = "header, .status, .message, .jump, .typing, form.composer > *";
      const before = new Map(
        [...document.querySelectorAll(parts)].map((part) => [part, box(part)]),
      );
      Object.assign(window, {
        movedParts: () =>
          // A part hydration replaced is a mismatch too: it is named, not left out of the check.
          [...before].filter(([part, was]) => !part.isConnected || box(part) !== was)
            .map(([part, was]) =>
              `${part.className || part.tagName}: ${
                part.isConnected ? `${was} → ${box(part)}` : "replaced"
              }`
            ),
      });
    });
    styled.resolve();
    await page.locator(".status-live").waitFor();
    await page.locator(".presence-text").waitFor();
    await page.waitForTimeout(500);
    const moved = await page.evaluate(() =>
      (window as unknown as { movedParts: () => string[] }).movedParts()
    );
    assert.deepEqual(moved, []);
    assert.ok(
      await page.evaluate(() => document.querySelectorAll(".message").length) >= 50,
      "the messages were compared",
    );
  });
});

Deno.test("room page - a name and a message typed before the page hydrates are kept and sent", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    const context = await browser.newContext({ ...DESKTOP, locale: "en-US" });
    const page = await context.newPage();
    // The islands script is held back until the visitor has typed, as on a slow connection.
    const { promise: typed, resolve: release } = Promise.withResolvers<void>();
    await page.route("**/static/build/islands.js*", async (route) => {
      await typed;
      await route.continue();
    });
    // The module script holds DOMContentLoaded back too: wait for the rendered fields instead.
    await page.goto(`${server.origin}/rooms/lobby`, { waitUntil: "commit" });
    await page.locator("#composer-text").waitFor();
    await page.locator('input[name="name"]').fill("early bird");
    await page.locator('input[name="name"]').press("Tab");
    await page.locator("#composer-text").fill("typed before the script ran");
    release();
    await page.locator(".status-live").waitFor({ timeout: 10_000 });
    await page.locator("#composer-text").press("Enter");
    await page.locator(".message:not(.pending) .text", { hasText: "typed before the script ran" })
      .waitFor({ timeout: 10_000 });
    const { body } = await requestJson(server, "/api/rooms/lobby/messages?limit=5");
    const stored = (body as { messages: Array<{ author: string; text: string }> }).messages;
    assert.deepEqual(stored.map(({ author, text }) => [author, text]), [
      ["early bird", "typed before the script ran"],
    ]);
    assert.equal(await page.locator('input[name="name"]').inputValue(), "early bird");
  });
});

Deno.test("room page - loading opens one WebSocket, and choosing a name one more", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    const context = await browser.newContext({ ...DESKTOP, locale: "en-US" });
    const page = await context.newPage();
    const opened: string[] = [];
    page.on("websocket", (socket) => opened.push(socket.url()));
    await page.goto(`${server.origin}/rooms/lobby`);
    await page.locator(".status-live").waitFor({ timeout: 10_000 });
    await page.waitForTimeout(300);
    assert.equal(opened.length, 1, `sockets opened: ${opened.join(", ")}`);
    await chooseName(page, "newcomer");
    await page.waitForTimeout(300);
    assert.equal(opened.length, 2, `sockets opened: ${opened.join(", ")}`);
  });
});

Deno.test("fields - emoji count as the server counts them: a name and a title of emoji are taken whole", async () => {
  await withBrowserSession(async (session) => {
    const page = await openRoom(session, "ann");
    const fox = "\u{1F98A}".repeat(20); // 20 characters, 40 UTF-16 units
    await page.locator('input[name="name"]').selectText();
    await page.keyboard.insertText(fox);
    assert.equal(await page.locator('input[name="name"]').inputValue(), fox);
    await page.locator('input[name="name"]').press("Enter");
    await say(page, "hello from a fox");
    await page.locator(".message:not(.pending) .author", { hasText: fox }).waitFor();

    const party = "\u{1F389}".repeat(50); // 50 characters, 100 UTF-16 units
    await page.goto(`${session.server.origin}/`);
    await page.locator('input[name="title"]').click();
    await page.keyboard.insertText(party);
    assert.equal(await page.locator('input[name="title"]').inputValue(), party);
  });
});

Deno.test("room page - a name half typed survives messages arriving", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    const page = await openLobby(browser, server);
    await page.locator('input[name="name"]').fill("half");
    await post(server, "lobby", "ann", "hello while you type");
    await page.locator(".message .text", { hasText: "hello while you type" }).waitFor();
    assert.equal(await page.locator('input[name="name"]').inputValue(), "half");
    await page.locator('input[name="name"]').press("Tab");
    await page.getByText("Online: half").waitFor({ timeout: 10_000 });
  });
});

/** Opens "lobby" in a new desktop context and waits until the page is live. */
async function openLobby(browser: BrowserSession["browser"], server: TestServer): Promise<Page> {
  const page = await (await browser.newContext({ ...DESKTOP, locale: "en-US" })).newPage();
  await page.goto(`${server.origin}/rooms/lobby`);
  await page.locator(".status-live").waitFor({ timeout: 10_000 });
  return page;
}

/** Picks a display name on a live room page and waits until it is in use. */
async function chooseName(page: Page, name: string): Promise<void> {
  await page.locator('input[name="name"]').fill(name);
  await page.locator('input[name="name"]').press("Tab");
  await page.getByText(`Online: ${name}`).waitFor({ timeout: 10_000 });
}

/** The stored messages of "lobby" as [author, text]. */
async function storedLobby(server: TestServer): Promise<string[][]> {
  const { body } = await requestJson(server, "/api/rooms/lobby/messages?limit=20");
  const messages = (body as { messages: Array<{ author: string; text: string }> }).messages;
  return messages.map(({ author, text }) => [author, text]);
}

Deno.test("room page - an emptied name field shows the name in use again", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    const page = await openLobby(browser, server);
    await chooseName(page, "alice");
    await page.locator('input[name="name"]').fill("");
    await page.locator('input[name="name"]').press("Tab");
    assert.equal(await page.locator('input[name="name"]').inputValue(), "alice");
    await page.locator('input[name="name"]').fill("  alice ");
    await page.locator('input[name="name"]').press("Tab");
    assert.equal(await page.locator('input[name="name"]').inputValue(), "alice");
  });
});

Deno.test("room page - a message sent right after a rename goes out under the new name", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    const page = await openLobby(browser, server);
    await chooseName(page, "alice");
    await page.locator("#composer-text").fill("said after renaming");
    await page.locator('input[name="name"]').fill("bob");
    await page.locator("button.send").click();
    await page.locator(".message:not(.pending) .text", { hasText: "said after renaming" })
      .waitFor({ timeout: 10_000 });
    assert.deepEqual(await storedLobby(server), [["bob", "said after renaming"]]);
  });
});

Deno.test("room page - Enter in the name field takes the name and moves to the message box", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    const page = await openLobby(browser, server);
    await page.locator("#composer-text").fill("not yet");
    await page.locator('input[name="name"]').fill("carol");
    await page.locator('input[name="name"]').press("Enter");
    await page.getByText("Online: carol").waitFor({ timeout: 10_000 });
    assert.equal(await page.evaluate(() => document.activeElement?.id), "composer-text");
    await page.waitForTimeout(300);
    assert.deepEqual(await storedLobby(server), [], "the draft was not sent");
    assert.equal(await page.locator("#composer-text").inputValue(), "not yet");
  });
});
