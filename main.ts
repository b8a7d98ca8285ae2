/**
 * The Parley server: `deno serve --parallel main.ts` runs one copy per core, each with its own
 * hub, all sharing the KV message log.
 *
 * @module
 */
import { createApp } from "./app.tsx";
import { readConfig } from "./lib/config.ts";
import { openKv } from "./lib/open_kv.ts";
import { createServices } from "./lib/services.ts";

const config = readConfig();
const kv = await openKv(config.kvPath);
const app = createApp(await createServices(kv, config));

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport;
