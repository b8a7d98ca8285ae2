/**
 * Browser tests of the pages in small and unusual windows, in Debian's Chromium: at 400% zoom
 * (320×256) and in a short landscape window the message list keeps a usable height and nothing
 * scrolls sideways; at 320 px wide, titles, names and the banner wrap instead of being cut off,
 * and so does a long title on a desktop; on a phone the typing line stays one line that always ends
 * in "are typing…"; on a touch screen message times show without hover;
 * in forced colours a focused field still looks focused; a failed message's buttons are targets
 * big enough to hit.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Locator, Page } from "playwright-core";
import { type BrowserSession, openRoom, refuseSends, say, withBrowserSession } from "./browser.ts";
import { requestJson } from "./server.ts";
import { MAX_AUTHOR_LENGTH } from "../lib/validation.ts";

/** The share of the window the message list must at least have (WCAG 1.4.10 at 400% zoom). */
const LIST_SHARE = 0.4;

/** A phone's window. */
const PHONE = { viewport: { width: 375, height: 740 } };

/** The page's width and how far it can scroll sideways. */
function sideways(page: Page): Promise<{ width: number; overflow: number }> {
  return page.evaluate(() => {
    const root = document.documentElement;
    return { width: root.clientWidth, overflow: root.scrollWidth - root.clientWidth };
  });
}

/** How much of the message list is on screen, in px. */
function visibleListHeight(page: Page): Promise<number> {
  return page.locator(".scroller").evaluate((list) => {
    const box = list.getBoundingClientRect();
    return Math.max(0, Math.min(box.bottom, innerHeight) - Math.max(box.top, 0));
  });
}

/** The text an element shows but cannot fit (its content is wider than its box), in px. */
function cutOff(element: Locator): Promise<number> {
  return element.evaluate((element) => element.scrollWidth - element.clientWidth);
}

async function seed(page: Page, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) await say(page, `message ${i}`);
  await page.locator(".message:not(.pending) .text", { hasText: `message ${count}` }).waitFor();
}

Deno.test("room page - at 320×256 (400% zoom) the message list keeps a usable height", async () => {
  await withBrowserSession(async (session) => {
    const page = await openRoom(session, "ann", { viewport: { width: 320, height: 256 } });
    await seed(page, 8);
    const height = (await page.locator(".scroller").boundingBox())?.height ?? 0;
    assert.ok(height >= 256 * LIST_SHARE, `the message list is ${height} px tall`);
    // The page scrolls instead: the whole list can be brought on screen.
    await page.locator(".scroller").scrollIntoViewIfNeeded();
    assert.ok(await visibleListHeight(page) >= height - 1, "the list cannot be scrolled into view");
    assert.deepEqual(await sideways(page), { width: 320, overflow: 0 });
  });
});

Deno.test("room page - at 683×384 a six-line or longer draft leaves the message list a usable height", async () => {
  await withBrowserSession(async (session) => {
    const page = await openRoom(session, "ann", { viewport: { width: 683, height: 384 } });
    await seed(page, 8);
    for (const lines of [6, 12]) {
      const draft = Array.from({ length: lines }, (_, i) => `line ${i + 1}`).join("\n");
      await page.locator("#composer-text").fill(draft);
      const height = (await page.locator(".scroller").boundingBox())?.height ?? 0;
      assert.ok(
        height >= 384 * LIST_SHARE,
        `${lines} lines: the message list is ${height} px tall`,
      );
      // The draft stops growing before it pushes the list off screen: both fit at once.
      await page.locator(".composer-box").evaluate((box) => box.scrollIntoView({ block: "end" }));
      const visible = await visibleListHeight(page);
      assert.ok(
        visible >= height - 1,
        `${lines} lines: ${visible} of ${height} px of the list show`,
      );
      assert.deepEqual(await sideways(page), { width: 683, overflow: 0 });
    }
  });
});

Deno.test("room page - between phone and desktop widths a name of the longest kind is shown whole", async () => {
  await withBrowserSession(async (session) => {
    // Two such names cut to one ellipsis each would read alike.
    const name = "W".repeat(MAX_AUTHOR_LENGTH);
    const page = await openRoom(session, name, { viewport: { width: 700, height: 640 } });
    await say(page, "hello");
    const author = page.locator(".message .author").first();
    assert.equal(await author.innerText(), name);
    assert.equal(await cutOff(author), 0, "the author's name is cut off");
    assert.deepEqual(await sideways(page), { width: 700, overflow: 0 });
  });
});

Deno.test("room page - at 320 px wide long titles, names and the offline banner wrap, uncut", async () => {
  await withBrowserSession(async (session) => {
    const { status } = await requestJson(session.server, "/api/rooms", {
      body: { id: "release-train-q3", title: "Release train for the third quarter deploys" },
    });
    assert.equal(status, 201);
    const name = "Bartholomew Featherstonehaugh";
    const page = await openRoom(session, name, {
      viewport: { width: 320, height: 640 },
      room: "release-train-q3",
    });
    await say(page, "hello");
    await page.locator(".presence-text", { hasText: name }).waitFor();
    for (const selector of [".room-title", ".presence-text", ".meta .author"]) {
      const element = page.locator(selector).first();
      assert.equal(await cutOff(element), 0, `${selector} is cut off`);
    }
    // Offline, the banner is longest (and who is online is not shown).
    await page.context().setOffline(true);
    await page.locator(".status-offline").waitFor();
    assert.equal(await cutOff(page.locator(".status")), 0, ".status is cut off");
    assert.equal(
      await page.locator(".status").innerText(),
      "Offline · reconnects when you are back online · WebSocket",
    );
    assert.deepEqual(await sideways(page), { width: 320, overflow: 0 });
    await page.context().setOffline(false);
    await page.goto(`${session.server.origin}/`);
    for (const room of await page.locator(".room-name").all()) {
      assert.equal(await cutOff(room), 0, `${await room.innerText()} is cut off`);
    }
    assert.deepEqual(await sideways(page), { width: 320, overflow: 0 });
  });
});

Deno.test("room page - at 700 px the presence line wraps rather than cut off a tag, and keeps each with its name", async () => {
  await withBrowserSession(async (session) => {
    const page = await openRoom(session, "ann", { viewport: { width: 700, height: 700 } });
    // Two people of one name: each is listed with the tag that tells them apart.
    await openRoom(session, "samantha");
    await openRoom(session, "samantha");
    const line = page.locator("p.presence-text");
    await line.locator(".author-tag").nth(1).waitFor();
    assert.equal(await cutOff(line), 0, "the presence line is cut off");
    const people = line.locator(".presence-person");
    assert.equal(await people.count(), 3);
    for (const person of await people.all()) {
      const lines = await person.evaluate((element) => element.getClientRects().length);
      assert.equal(lines, 1, `${await person.innerText()} is split over lines`);
    }
  });
});

Deno.test("room page - a long name online, with its tag and (you), stays in the page's column", async () => {
  await withBrowserSession(async (session) => {
    const name = "Maximiliana Wolkenstein-Harwood";
    // Someone else of the name wrote here: the visitor is listed with a tag and "(you)".
    const sent = await requestJson(session.server, "/api/rooms/lobby/messages", {
      body: { author: name, text: "hello" },
    });
    assert.equal(sent.status, 201);
    // 200% zoom of a 1280 px window, and a desktop with the widest name there can be.
    for (const [width, visitor] of [[640, name], [1280, "W".repeat(32)]] as const) {
      const page = await openRoom(session, visitor, { viewport: { width, height: 400 } });
      const line = page.locator(".presence-text", { hasText: visitor });
      await line.waitFor();
      if (visitor === name) await line.getByText("(you)").waitFor();
      // Where the line's last word ends, which may be past the end of its own box.
      const [right, edge] = await line.evaluate((element) => {
        const range = document.createRange();
        range.selectNodeContents(element);
        const ends = [...range.getClientRects()].map((box) => box.right);
        return [Math.max(...ends), document.querySelector(".chat")!.getBoundingClientRect().right];
      });
      assert.ok(
        right <= edge + 1,
        `at ${width} px the presence line ends at ${right}, past ${edge}`,
      );
      assert.deepEqual(await sideways(page), { width, overflow: 0 });
      await page.context().close();
    }
  });
});

Deno.test('room page - on a phone the typing line stays one line and cuts long names, not "are typing…"', async () => {
  await withBrowserSession(async (session) => {
    const page = await openRoom(session, "ann", PHONE);
    const typists = [
      await openRoom(session, "Maximiliana Wolkenstein-Harwood"),
      await openRoom(session, "Bartholomew Featherstonehaugh"),
    ];
    const typing = typists.map((typist) =>
      typist.locator("#composer-text").pressSequentially("a long reply", { delay: 150 })
    );
    try {
      const line = page.locator(".typing");
      await line.filter({ hasText: "are typing…" }).waitFor({ timeout: 5_000 });
      const { wrapped, ending, box } = await line.evaluate((element) => {
        const range = document.createRange();
        range.selectNodeContents(element);
        // The line's parts sit a pixel apart at most: a second line would be a text's height down.
        const rects = [...range.getClientRects()];
        const tops = rects.map(({ top }) => top);
        const spread = Math.max(...tops) - Math.min(...tops);
        const wrapped = spread >= Math.min(...rects.map(({ height }) => height));
        const text = [...element.querySelectorAll("*"), element]
          .flatMap((node) => [...node.childNodes])
          .find((node) =>
            node.nodeType === Node.TEXT_NODE && node.textContent!.endsWith("typing…")
          )!;
        range.selectNodeContents(text);
        return {
          wrapped,
          ending: range.getBoundingClientRect().right,
          box: element.getBoundingClientRect().right -
            parseFloat(getComputedStyle(element).paddingRight),
        };
      });
      assert.equal(wrapped, false, "the typing line wraps");
      assert.ok(ending <= box + 0.5, `"are typing…" ends at ${ending}, past the line's ${box}`);
      assert.deepEqual(await sideways(page), { width: PHONE.viewport.width, overflow: 0 });
    } finally {
      // The typists finish before their pages close, whether or not the line passed.
      await Promise.allSettled(typing);
    }
  });
});

Deno.test("pages - text follows the default font size the visitor set in the browser", async () => {
  await withBrowserSession(async ({ server, browser }) => {
    await say(await openRoom({ server, browser }, "ann"), "hello");
    const context = await browser.newContext({ locale: "en-US" });
    const page = await context.newPage();
    // As a visitor who made the browser's default font size 24 px (Settings, Appearance).
    const cdp = await context.newCDPSession(page);
    await cdp.send("Page.setFontSizes", { fontSizes: { standard: 24 } });
    for (const [path, selector] of [["/rooms/lobby", ".message .text"], ["/", ".room-name"]]) {
      await page.goto(`${server.origin}${path}`);
      const size = await page.locator(selector).first().evaluate((element) =>
        getComputedStyle(element).fontSize
      );
      assert.equal(size, "24px", `${selector} on ${path}`);
    }
  });
});

Deno.test("room page and directory - on a desktop a long title wraps whole, and its #id shows", async () => {
  await withBrowserSession(async (session) => {
    const title = "Planning the spring release of the design system with every team that uses it";
    const { status } = await requestJson(session.server, "/api/rooms", {
      body: { id: "spring-release", title },
    });
    assert.equal(status, 201);
    const page = await openRoom(session, "ann", {
      viewport: { width: 1280, height: 800 },
      room: "spring-release",
    });
    const heading = page.locator(".room-title");
    assert.equal(await cutOff(heading), 0, "the title is cut off");
    assert.equal(await heading.innerText(), `${title} #spring-release`);
    const id = await page.locator(".room-title .room-id").boundingBox();
    const box = await heading.boundingBox();
    assert.ok(
      id && box && id.x + id.width <= box.x + box.width + 1,
      "the #id is outside the title",
    );
    // So does the directory's entry for it.
    await page.goto(`${session.server.origin}/`);
    const entry = page.locator(".room-name", {
      has: page.locator('a[href="/rooms/spring-release"]'),
    });
    assert.equal(await cutOff(entry), 0, "the directory cuts the title off");
    assert.equal(await entry.innerText(), `${title} #spring-release`);
  });
});

/** Posts two messages of bob's to the lobby, the second a follow-on shown without his name. */
async function postFollowOn(session: BrowserSession): Promise<void> {
  for (const text of ["first", "second, right after"]) {
    const sent = await requestJson(session.server, "/api/rooms/lobby/messages", {
      body: { author: "bob", text },
    });
    assert.equal(sent.status, 201);
  }
}

/**
 * A fixed-offset time zone in which it is now the hour after midnight, when en-US times are widest
 * ("12:05 AM": two digits of hour, and an A).
 */
function zoneJustAfterMidnight(): string {
  const offset = ((24 - new Date().getUTCHours()) % 24 + 12) % 24 - 12;
  // Etc/GMT zones name the offset with the opposite sign: "Etc/GMT-5" is five hours ahead of UTC.
  return offset === 0 ? "Etc/GMT" : `Etc/GMT${offset > 0 ? "-" : "+"}${Math.abs(offset)}`;
}

Deno.test("room page - on a touch screen the times of follow-on messages show without hover", async () => {
  await withBrowserSession(async (session) => {
    await postFollowOn(session);
    const page = await openRoom(session, "ann", {
      hasTouch: true,
      isMobile: true,
      timezoneId: zoneJustAfterMidnight(),
      ...PHONE,
    });
    const time = page.locator(".gutter-time");
    assert.equal(await time.count(), 1);
    assert.match(await time.innerText(), /^12:\d\d\sAM$/);
    assert.equal(await time.evaluate((element) => getComputedStyle(element).opacity), "1");
    // Whole, within its message's padding and clear of the text beside it.
    const [left, timeLeft, timeRight, textLeft] = await time.evaluate((element) => {
      const message = element.closest(".message")!;
      const box = element.getBoundingClientRect();
      const padding = parseFloat(getComputedStyle(message).paddingLeft);
      const text = message.querySelector(".text")!.getBoundingClientRect();
      return [message.getBoundingClientRect().left + padding, box.left, box.right, text.left];
    });
    assert.ok(
      timeLeft >= left && timeRight <= textLeft,
      `${[left, timeLeft, timeRight, textLeft]}`,
    );
  });
});

Deno.test("room page - reading the message list from the keyboard shows follow-on messages' times", async () => {
  await withBrowserSession(async (session) => {
    await postFollowOn(session);
    const page = await openRoom(session, "ann");
    const time = page.locator(".gutter-time");
    const opacity = () => time.evaluate((element) => getComputedStyle(element).opacity);
    assert.equal(await opacity(), "0");
    // Tab by tab (two skip links and the site's name) to the list, which the arrow keys scroll.
    for (let i = 0; i < 4; i++) await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.className), "scroller");
    assert.equal(await opacity(), "1");
  });
});

Deno.test("fields - in forced colours a focused text field looks focused", async () => {
  await withBrowserSession(async (session) => {
    const page = await openRoom(session, "ann");
    await page.emulateMedia({ forcedColors: "active" });
    /**
     * Just outside the field's frame, unfocused and focused. (Only outside: forced colours show
     * the caret, which Playwright's screenshots otherwise hide.)
     */
    const looks = async (field: Locator, frame: Locator) => {
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      const box = await frame.boundingBox();
      assert.ok(box);
      const { x, y, width, height } = box;
      const strips = [
        { x: x - 6, y: y - 6, width: width + 12, height: 5 },
        { x: x - 6, y: y + height + 1, width: width + 12, height: 5 },
        { x: x - 6, y, width: 5, height },
        { x: x + width + 1, y, width: 5, height },
      ];
      const shoot = () => Promise.all(strips.map((clip) => page.screenshot({ clip })));
      const before = await shoot();
      await field.focus();
      return { before, after: await shoot() };
    };
    const fields: Array<[string, Locator, Locator]> = [
      ["the message box", page.locator("#composer-text"), page.locator(".composer-box")],
      ["the name field", page.locator('input[name="name"]'), page.locator('input[name="name"]')],
    ];
    for (const [label, field, frame] of fields) {
      const { before, after } = await looks(field, frame);
      assert.notDeepEqual(after, before, `${label} looks the same focused`);
    }
    await page.goto(`${session.server.origin}/`);
    for (const label of ["Search rooms", "Room id", "Title"]) {
      const field = page.getByLabel(label, { exact: true });
      const { before, after } = await looks(field, field);
      assert.notDeepEqual(after, before, `${label} looks the same focused`);
    }
  });
});

Deno.test("room page - a failed message's buttons are 24 px targets that focus rings keep clear of", async () => {
  await withBrowserSession(async (session) => {
    const page = await openRoom(session, "ann", { query: "?transport=poll" });
    // Refused by the server: resending cannot help, editing can.
    await refuseSends(page, "The text must not say bell");
    await say(page, "bell here");
    const buttons = page.locator(".message.pending-failed .pending-state button");
    await buttons.first().waitFor();
    const boxes = [];
    for (const button of await buttons.all()) {
      const box = await button.boundingBox();
      assert.ok(box);
      assert.ok(
        box.width >= 24 && box.height >= 24,
        `${await button.innerText()}: ${box.width}×${box.height}`,
      );
      boxes.push(box);
    }
    assert.deepEqual(await buttons.allInnerTexts(), ["Edit", "Discard"]);
    // The focus ring reaches outline-offset + outline-width beyond a button: not to the next.
    await buttons.first().focus();
    const { shown, ring } = await buttons.first().evaluate((button) => {
      const style = getComputedStyle(button);
      return {
        shown: button.matches(":focus-visible") && style.outlineStyle !== "none",
        ring: parseFloat(style.outlineOffset) + parseFloat(style.outlineWidth),
      };
    });
    assert.ok(shown, "the focused button shows no focus ring");
    const gap = boxes[1].x - (boxes[0].x + boxes[0].width);
    assert.ok(gap > ring, `${gap} px apart, the focus ring reaches ${ring} px out`);
  });
});
