/**
 * Test helper: Debian's headless Chromium driven by playwright-core (never a downloaded browser).
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Browser, type BrowserContextOptions, chromium, type Page } from "playwright-core";
import { LIMITS_OFF, requestJson, startServer, type TestServer } from "./server.ts";

/** Where `apt-get install chromium` puts the browser; `PARLEY_CHROMIUM` overrides. */
export const CHROMIUM_PATH = Deno.env.get("PARLEY_CHROMIUM") ?? "/usr/bin/chromium";

/** Launches headless Chromium with the flags this sandboxed, offline machine needs. */
export async function launchBrowser(): Promise<Browser> {
  try {
    await Deno.stat(CHROMIUM_PATH);
  } catch {
    throw new Error(
      `Cannot run browser tests: no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium)`,
    );
  }
  return await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
}

/** A test server and a browser, as {@link withBrowserSession} hands them to a test. */
export interface BrowserSession {
  server: TestServer;
  browser: Browser;
}

/**
 * Runs a browser test against a fresh server (limits off, and `env` set) with one room, "lobby"
 * titled "The lobby", and a fresh Chromium, tearing both down afterwards.
 */
export async function withBrowserSession(
  test: (session: BrowserSession) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const server = await startServer({ env: { ...LIMITS_OFF.env, ...env } });
  const browser = await launchBrowser();
  try {
    const { status } = await requestJson(server, "/api/rooms", {
      body: { id: "lobby", title: "The lobby" },
    });
    assert.equal(status, 201);
    await test({ server, browser });
  } finally {
    await browser.close();
    await server.close();
  }
}

/** Opens a room (default "lobby", with `query` after its path) as `name` and waits until it is live. */
export async function openRoom(
  { server, browser }: BrowserSession,
  name: string,
  options: BrowserContextOptions & { room?: string; query?: string } = {},
): Promise<Page> {
  const { room = "lobby", query = "", ...contextOptions } = options;
  const context = await browser.newContext({ locale: "en-US", ...contextOptions });
  await context.addInitScript((name) => localStorage.setItem("parley:name", name), name);
  const page = await context.newPage();
  await page.goto(`${server.origin}/rooms/${room}${query}`);
  await page.locator(".status-live").waitFor({ timeout: 10_000 });
  return page;
}

/**
 * Makes the lobby refuse every message `page` sends with `POST` (open it with
 * `?transport=poll`) as 400 `invalid_text` saying `message` (or as `refusal` says): a server
 * whose rules are stricter than the page's (a newer version, say). Returns what puts the server
 * back.
 */
export async function refuseSends(
  page: Page,
  message: string,
  refusal: { status: number; code: string } = { status: 400, code: "invalid_text" },
): Promise<() => Promise<void>> {
  const url = "**/api/rooms/lobby/messages";
  const { status, code } = refusal;
  await page.route(
    url,
    (route) =>
      route.request().method() === "POST"
        ? route.fulfill({ status, json: { error: { code, message } } })
        : route.fallback(),
  );
  return () => page.unroute(url);
}

/** Types a message into the composer and sends it with Enter. */
export async function say(page: Page, text: string): Promise<void> {
  await page.locator("#composer-text").fill(text);
  await page.locator("#composer-text").press("Enter");
}

/** The texts of the stored messages the page shows, oldest first. */
export function texts(page: Page): Promise<string[]> {
  return page.locator(".message:not(.pending) .text").allInnerTexts();
}
