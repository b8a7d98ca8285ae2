import type { Context } from "hono";
import { requireRoom } from "../../../lib/room_param.ts";
import type { AppEnv } from "../../../lib/services.ts";

/** `GET /api/rooms/:room` reads one room as stored now: its title, head, epoch and times. */
export const handler = {
  async GET(c: Context<AppEnv>): Promise<Response> {
    const room = await requireRoom(c.var.services.log, c.req.param("room") ?? "");
    return c.json({ room });
  },
};
