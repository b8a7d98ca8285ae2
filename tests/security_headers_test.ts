/**
 * Security header tests against a real server on port 0: every kind of response carries the
 * Content-Security-Policy and friends, and a room page in Chromium hydrates and goes live on
 * every transport under that policy without a single violation.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { launchBrowser } from "./browser.ts";
import { withLobby } from "./server.ts";

const EXPECTED_HEADERS = {
  "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; " +
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; " +
    "frame-ancestors 'none'; object-src 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
};

function assertSecurityHeaders(response: Response, what: string): void {
  for (const [name, value] of Object.entries(EXPECTED_HEADERS)) {
    assert.equal(response.headers.get(name), value, `${name} on ${what}`);
  }
}

const REQUESTS: Array<{ name: string; path: string; status: number; init?: RequestInit }> = [
  { name: "the room directory", path: "/", status: 200 },
  { name: "a room page", path: "/rooms/lobby", status: 200 },
  { name: "a missing room's page", path: "/rooms/x", status: 404 },
  { name: "a missing page", path: "/nowhere", status: 404 },
  { name: "an API response", path: "/api/rooms", status: 200 },
  { name: "an API error", path: "/api/rooms/x/messages", status: 404 },
  { name: "a static file", path: "/static/styles.css", status: 200 },
  { name: "the islands bundle", path: "/static/build/islands.js", status: 200 },
  {
    name: "a refused cross-origin request",
    path: "/api/rooms",
    status: 403,
    init: {
      method: "POST",
      headers: { origin: "https://evil.example", "content-type": "application/json" },
      body: JSON.stringify({ id: "evil", title: "Evil" }),
    },
  },
  {
    name: "the form's redirect",
    path: "/",
    status: 303,
    init: {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "id=fresh&title=Fresh",
      redirect: "manual",
    },
  },
];

for (const { name, path, status, init } of REQUESTS) {
  Deno.test(`security headers - ${name} carries them`, async () => {
    await withLobby(async (server) => {
      const response = await fetch(new URL(path, server.origin), init);
      await response.body?.cancel();
      assert.equal(response.status, status);
      assertSecurityHeaders(response, path);
    }, { title: "The lobby" });
  });
}

const TRANSPORTS = [
  { query: "", label: /Live · WebSocket/ },
  { query: "?transport=sse", label: /Live · Server-Sent Events/ },
  { query: "?transport=poll", label: /Live · long-polling/ },
];

/** Violations a page saw, recorded by the init script below. */
function violations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
}

Deno.test("security headers - a room page goes live on every transport with no CSP violation", async () => {
  await withLobby(async (server) => {
    const browser = await launchBrowser();
    try {
      for (const { query, label } of TRANSPORTS) {
        const context = await browser.newContext();
        try {
          await context.addInitScript(() => {
            localStorage.setItem("parley:name", "ann");
            const seen: string[] = [];
            Object.assign(window, { cspViolations: seen });
            document.addEventListener("securitypolicyviolation", (event) => {
              seen.push(`${event.violatedDirective} blocked ${event.blockedURI}`);
            });
          });
          const page = await context.newPage();
          const logged: string[] = [];
          page.on("console", (message) => logged.push(message.text()));
          const response = await page.goto(`${server.origin}/rooms/lobby${query}`);
          assert.equal(
            response?.headers()["content-security-policy"],
            EXPECTED_HEADERS["content-security-policy"],
          );
          await page.locator(".status-live").waitFor({ timeout: 20_000 });
          assert.match(await page.locator(".status").innerText(), label);
          const text = `hello from ${label.source}`;
          await page.locator("#composer-text").fill(text);
          await page.locator("#composer-text").press("Enter");
          await page.locator(".message:not(.pending) .text", { hasText: text }).waitFor();
          assert.deepEqual(await violations(page), [], `violations with ${label}`);
          const cspLogs = logged.filter((line) => line.includes("Content Security Policy"));
          assert.deepEqual(cspLogs, [], `console with ${label}`);

          // The listeners do hear violations: an injected inline script is refused and reported.
          await page.evaluate(() => {
            const script = document.createElement("script");
            script.textContent = "document.title = 'inline ran'";
            document.body.append(script);
          });
          await page.waitForFunction(() =>
            (window as unknown as { cspViolations: string[] }).cspViolations.length > 0
          );
          assert.notEqual(await page.title(), "inline ran");
          assert.match((await violations(page)).join("\n"), /script-src/);
          assert.ok(logged.some((line) => line.includes("Content Security Policy")));
        } finally {
          await context.close();
        }
      }
    } finally {
      await browser.close();
    }
  }, { title: "The lobby" });
});
