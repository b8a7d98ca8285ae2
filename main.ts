/**
 * The Parley server: `deno serve --parallel main.ts` runs one copy per worker (`DENO_JOBS`), each
 * with its own hub, all sharing the KV message log. On SIGTERM or SIGINT each copy shuts down
 * gracefully (see `lib/shutdown.ts`) and the process exits with code 0.
 *
 * @module
 */
import { createApp } from "./app.tsx";
import { readConfig } from "./lib/config.ts";
import { openKv } from "./lib/open_kv.ts";
import { createServices } from "./lib/services.ts";
import { GracefulShutdown } from "./lib/shutdown.ts";

const config = readConfig();
const kv = await openKv(config.kvPath);
const services = await createServices(kv, config);
const app = createApp(services);
const shutdown = new GracefulShutdown(services);
shutdown.listen();

export default {
  fetch: shutdown.handler((request, info) => app.fetch(request, info)),
} satisfies Deno.ServeDefaultExport;
