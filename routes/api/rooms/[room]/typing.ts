import type { Context } from "hono";
import { clientIp } from "../../../../lib/client_ip.ts";
import { requireRoomId } from "../../../../lib/room_param.ts";
import type { AppEnv } from "../../../../lib/services.ts";

/**
 * `POST /api/rooms/:room/typing` says "I am typing" for clients without a WebSocket; it lasts
 * about 5 s and is never stored in history. 204 on success.
 */
export const handler = {
  async POST(c: Context<AppEnv>): Promise<Response> {
    const { log, sessions, presence, hub, limits, config } = c.var.services;
    const room = await requireRoomId(log, c.req.param("room") ?? "");
    const session = sessions.requireSession(c.req.raw);
    // Past its address's share of sessions shown present, the signal is taken and dropped.
    if (!limits.showsPresent(clientIp(c, config.trustProxy), session.sid)) {
      return new Response(null, { status: 204 });
    }
    await presence.typing(room, session);
    await hub.refreshPresence(room);
    return new Response(null, { status: 204 });
  },
};
