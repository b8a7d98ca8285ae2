import type { Context } from "hono";
import { openEventStream } from "../../../../lib/event_stream.ts";
import { requireRoom } from "../../../../lib/room_param.ts";
import type { AppEnv } from "../../../../lib/services.ts";
import { parseCursor } from "../../../../lib/validation.ts";

/**
 * `GET /api/rooms/:room/events?after=SEQ` streams the room as Server-Sent Events; a
 * `Last-Event-ID` header (sent by a reconnecting EventSource) wins over `after`.
 */
export const handler = {
  async GET(c: Context<AppEnv>): Promise<Response> {
    const { services } = c.var;
    const room = await requireRoom(services.log, c.req.param("room") ?? "");
    const lastEventId = c.req.header("last-event-id");
    const after = parseCursor(lastEventId || c.req.query("after"), "after", room.head);
    return new Response(openEventStream(services, { room: room.id, after }), {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
      },
    });
  },
};
