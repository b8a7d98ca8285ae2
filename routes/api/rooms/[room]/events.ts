import type { Context } from "hono";
import { clientIp } from "../../../../lib/client_ip.ts";
import { wasHead } from "../../../../lib/head_as_get.ts";
import { openEventStream } from "../../../../lib/event_stream.ts";
import { tooManyConnections } from "../../../../lib/limits.ts";
import { checkResume } from "../../../../lib/resume.ts";
import { requireRoom } from "../../../../lib/room_param.ts";
import type { AppEnv } from "../../../../lib/services.ts";

const EVENT_STREAM_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
};

/**
 * `GET /api/rooms/:room/events?after=SEQ&epoch=EPOCH` streams the room as Server-Sent Events; a
 * `Last-Event-ID` header (sent by a reconnecting EventSource) wins over `after`.
 */
export const handler = {
  async GET(c: Context<AppEnv>): Promise<Response> {
    const { services } = c.var;
    const room = await requireRoom(services.log, c.req.param("room") ?? "");
    const lastEventId = c.req.header("last-event-id");
    // `last` names the message at `after`; an EventSource reconnecting by itself has moved on.
    const resume = await checkResume(services.log, room, {
      after: lastEventId || c.req.query("after"),
      epoch: c.req.query("epoch"),
      last: lastEventId ? undefined : c.req.query("last"),
      name: lastEventId ? "Last-Event-ID" : "after",
    });
    const ip = clientIp(c, services.config.trustProxy);
    const release = services.limits.openConnection(ip);
    if (release === null) throw tooManyConnections();
    // A HEAD tells whether a stream would open (a client's EventSource cannot see why one did
    // not), and opens none.
    if (wasHead(c.req.raw)) {
      release();
      return new Response(null, { headers: EVENT_STREAM_HEADERS });
    }
    const session = services.sessions.fromRequest(c.req.raw) ?? undefined;
    const stream = openEventStream(services, { room, resume, ip, session, onEnd: release });
    return new Response(stream, { headers: EVENT_STREAM_HEADERS });
  },
};
