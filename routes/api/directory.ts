import type { Context } from "hono";
import { loadDirectory } from "../../lib/directory.ts";
import type { AppEnv } from "../../lib/services.ts";

/**
 * `GET /api/directory` lists the rooms as the directory shows them (message counts, last
 * activity, people online), for the open directory page to refresh itself.
 */
export const handler = {
  async GET(c: Context<AppEnv>): Promise<Response> {
    return c.json({ rooms: await loadDirectory(c.var.services) });
  },
};
