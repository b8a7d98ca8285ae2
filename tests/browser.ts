/**
 * Test helper: Debian's headless Chromium driven by playwright-core (never a downloaded browser).
 *
 * @module
 */
import { type Browser, chromium } from "playwright-core";

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
