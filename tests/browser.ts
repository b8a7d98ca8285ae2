/**
 * Test helper: Debian's headless Chromium driven by playwright-core (never a downloaded browser).
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
  type WebSocketRoute,
} from "playwright-core";
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

/** A new context in US English whose pages go by `name` (none: the page asks), as a visitor would. */
export async function namedContext(
  browser: Browser,
  name?: string,
  options: BrowserContextOptions = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({ locale: "en-US", ...options });
  if (name) await context.addInitScript((name) => localStorage.setItem("parley:name", name), name);
  return context;
}

/** Opens a room (default "lobby", with `query` after its path) as `name` and waits until it is live. */
export async function openRoom(
  { server, browser }: BrowserSession,
  name: string,
  options: BrowserContextOptions & { room?: string; query?: string } = {},
): Promise<Page> {
  const { room = "lobby", query = "", ...contextOptions } = options;
  const context = await namedContext(browser, name, contextOptions);
  const page = await context.newPage();
  await page.goto(`${server.origin}/rooms/${room}${query}`);
  await page.locator(".status-live").waitFor({ timeout: 10_000 });
  return page;
}

/** A page's WebSocket as {@link openRouted} hands it to the test. */
export interface RoutedSocket {
  /** While true, the frames the page sends are held back from the server. */
  holding: boolean;
  /** Sends the server what was held, and stops holding. */
  release(): void;
  /** Closes the page's current socket as the server would, with `code` and `reason`. */
  close(code: number, reason: string): Promise<void>;
}

/**
 * Opens the lobby (as `name`, or as a visitor who has not chosen one) in a context whose
 * WebSocket goes through the test, which can hold the page's frames back or close the socket.
 */
export async function openRouted(
  { server, browser }: BrowserSession,
  name?: string,
): Promise<{ page: Page; socket: RoutedSocket }> {
  const context = await namedContext(browser, name);
  const held: (string | Buffer)[] = [];
  let toServer: (frame: string | Buffer) => void = () => {};
  let pageSide: WebSocketRoute | undefined;
  const socket: RoutedSocket = {
    holding: false,
    release() {
      this.holding = false;
      for (const frame of held.splice(0)) toServer(frame);
    },
    close: (code, reason) => pageSide!.close({ code, reason }),
  };
  await context.routeWebSocket(/\/ws/, (route) => {
    pageSide = route;
    const serverSide = route.connectToServer();
    toServer = (frame) => serverSide.send(frame);
    route.onMessage((frame) => socket.holding ? held.push(frame) : serverSide.send(frame));
    serverSide.onMessage((frame) => route.send(frame));
  });
  const page = await context.newPage();
  await page.goto(`${server.origin}/rooms/lobby`);
  return { page, socket };
}

/**
 * Makes the lobby refuse every message `page` sends with `POST` (open it with
 * `?transport=poll`) as 400 `invalid_text` saying `message` (or as `refusal` says): a server
 * whose rules are stricter than the page's (a newer version, say). Returns what puts the server
 * back. The route stays in place and lets sends through from then on: `page.unroute` turns the
 * browser's interception off, and a request it has just paused then (the page's long poll,
 * asked again as presence changes) is never let go, so nothing is delivered until it times out.
 */
export async function refuseSends(
  page: Page,
  message: string,
  refusal: { status: number; code: string } = { status: 400, code: "invalid_text" },
): Promise<() => void> {
  const { status, code } = refusal;
  let refusing = true;
  await page.route(
    "**/api/rooms/lobby/messages",
    (route) =>
      refusing && route.request().method() === "POST"
        ? route.fulfill({ status, json: { error: { code, message } } })
        : route.fallback(),
  );
  return () => void (refusing = false);
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

/**
 * Records every text the element at `selector` shows from now on; returns what reads them back.
 */
export async function recordTexts(page: Page, selector: string): Promise<() => Promise<string[]>> {
  const key = `parleySeen:${selector}`;
  await page.evaluate(({ key, selector }) => {
    const seen: string[] = [];
    (globalThis as unknown as Record<string, string[]>)[key] = seen;
    const element = document.querySelector(selector)!;
    new MutationObserver(() => seen.push(element.textContent ?? "")).observe(element, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  }, { key, selector });
  return () =>
    page.evaluate((key) => (globalThis as unknown as Record<string, string[]>)[key], key);
}
