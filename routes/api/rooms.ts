import type { Context } from "hono";
import { readJsonBody } from "../../lib/body.ts";
import { clientIp } from "../../lib/client_ip.ts";
import { rateLimited } from "../../lib/limits.ts";
import { type AppEnv, bodyOptions } from "../../lib/services.ts";
import { MAX_DIRECTORY_ROOMS } from "../../lib/ui/rooms.ts";
import { parseBoundedCount, parseCount, parseRoomId, parseTitle } from "../../lib/validation.ts";

/**
 * `GET /api/rooms?limit=&offset=` lists the most recently active rooms, as read up to a second
 * before (see `lib/directory.ts`), and how many there are; `POST /api/rooms` creates one
 * (idempotently).
 */
export const handler = {
  async GET(c: Context<AppEnv>): Promise<Response> {
    const limit = parseBoundedCount(c.req.query("limit"), "limit", {
      fallback: MAX_DIRECTORY_ROOMS,
      min: 1,
      max: MAX_DIRECTORY_ROOMS,
    });
    const offset = parseCount(c.req.query("offset"), "offset", "invalid_offset") ?? 0;
    return c.json(await c.var.services.directory.rooms(limit, offset));
  },

  async POST(c: Context<AppEnv>): Promise<Response> {
    const { log, limits, config, directory } = c.var.services;
    const body = await readJsonBody(c.req.raw, bodyOptions(c.var.services));
    const id = parseRoomId(body.id);
    const title = parseTitle(body.title);
    const wait = limits.roomCreation(clientIp(c, config.trustProxy));
    if (wait > 0) throw rateLimited("new rooms", wait);
    const { room, created } = await log.createRoom(id, title);
    if (created) directory.roomCreated();
    return c.json({ room }, created ? 201 : 200);
  },
};
