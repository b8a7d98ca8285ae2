/**
 * The durable ceiling: the ceiling of `bench/ceiling_server.ts` with a store under it
 * (`bench/ceiling_store.ts`), acknowledging and delivering each message only once Deno KV has it
 * durably, like Parley. It is the least a server that persists every message before delivering it
 * can do on this machine's KV, to tell the store's cost from Parley's own. It opens KV at
 * `PARLEY_KV_PATH`, and lays messages out as `PARLEY_CEILING_LAYOUT` says: `keys` (the default)
 * or `log` (see `CeilingLayout`). Run it on one worker, like the ceiling.
 *
 * @module
 */
import { createCeiling } from "./ceiling_server.ts";
import { CeilingStore } from "./ceiling_store.ts";

const path = Deno.env.get("PARLEY_KV_PATH");
if (!path) throw new Error("Cannot start the durable ceiling: PARLEY_KV_PATH is not set");
const layout = Deno.env.get("PARLEY_CEILING_LAYOUT") || "keys";
if (layout !== "keys" && layout !== "log") {
  throw new Error(`Cannot start the durable ceiling: unknown layout "${layout}"; use keys or log`);
}

/** The durable ceiling server's request handler, for `deno serve`. */
export default createCeiling({ store: new CeilingStore(await Deno.openKv(path), layout) });
