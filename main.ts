/**
 * The Parley server: `deno serve --parallel main.ts` runs one copy per worker (`DENO_JOBS`), each
 * with its own hub, all sharing the KV message log. On SIGTERM, SIGINT or SIGHUP each copy shuts
 * down gracefully (see `lib/shutdown.ts`) and the process exits with code 0.
 *
 * @module
 */
import { createApp } from "./app.tsx";
import { missingBundleWarning } from "./lib/bundle_check.ts";
import { readConfig, SettingError } from "./lib/config.ts";
import { markStoreFormat } from "./lib/format_marker.ts";
import { openKv } from "./lib/open_kv.ts";
import { warnOnce } from "./lib/roll_call.ts";
import { createServices } from "./lib/services.ts";
import { GracefulShutdown } from "./lib/shutdown.ts";

/**
 * Reads the settings, opens the store and checks its format; a setting or store that cannot be
 * used ends the process.
 */
async function start() {
  try {
    const config = readConfig();
    const kv = await openKv(config.kvPath);
    await markStoreFormat(kv, config.kvPath);
    return await createServices(kv, config);
  } catch (error) {
    // A setting that cannot be used is one line naming it; anything else is a bug: its stack.
    if (error instanceof SettingError) console.error(`Cannot start Parley: ${error.message}`);
    else console.error("Cannot start Parley:", error);
    Deno.exit(1);
  }
}

const services = await start();
const bundleWarning = missingBundleWarning();
if (bundleWarning) void warnOnce(bundleWarning, services.config.workers);
const app = createApp(services);
const shutdown = new GracefulShutdown(services);
shutdown.listen();

export default {
  fetch: shutdown.handler((request, info) => app.fetch(request, info)),
} satisfies Deno.ServeDefaultExport;
