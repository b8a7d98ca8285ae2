import type { Context } from "hono";
import { readJsonBody } from "../../lib/body.ts";
import { clientIp } from "../../lib/client_ip.ts";
import { rateLimited } from "../../lib/limits.ts";
import type { AppEnv } from "../../lib/services.ts";
import { parseRoomId, parseTitle } from "../../lib/validation.ts";

/** `GET /api/rooms` lists rooms; `POST /api/rooms` creates one (idempotently). */
export const handler = {
  async GET(c: Context<AppEnv>): Promise<Response> {
    const rooms = await c.var.services.log.listRooms();
    return c.json({ rooms });
  },

  async POST(c: Context<AppEnv>): Promise<Response> {
    const body = await readJsonBody(c.req.raw);
    const id = parseRoomId(body.id);
    const title = parseTitle(body.title);
    const { log, limits, config, directory } = c.var.services;
    const wait = limits.roomCreation(clientIp(c, config.trustProxy));
    if (wait > 0) throw rateLimited("new rooms", wait);
    const { room, created } = await log.createRoom(id, title);
    if (created) directory.roomCreated();
    return c.json({ room }, created ? 201 : 200);
  },
};
