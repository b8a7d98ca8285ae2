import type { Context } from "hono";
import type { AppEnv } from "../../lib/services.ts";
import { DIRECTORY_PAGE, MAX_DIRECTORY_ROOMS, normalizeQuery } from "../../lib/ui/rooms.ts";
import { parseBoundedCount } from "../../lib/validation.ts";

/**
 * `GET /api/directory?q=&limit=` lists the rooms as the directory shows them (message counts,
 * last activity, people online): the first `limit` that match `q`, and how many match and
 * exist, for the open directory page to refresh itself and search.
 */
export const handler = {
  async GET(c: Context<AppEnv>): Promise<Response> {
    const limit = parseBoundedCount(c.req.query("limit"), "limit", {
      fallback: DIRECTORY_PAGE,
      min: 1,
      max: MAX_DIRECTORY_ROOMS,
    });
    const query = normalizeQuery(c.req.query("q"));
    return c.json(await c.var.services.directory.list(query, limit));
  },
};
