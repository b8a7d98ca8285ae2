import type { Context } from "hono";
import { CloseCode, serveChatSocket } from "../../../../lib/chat_socket.ts";
import { clientIp } from "../../../../lib/client_ip.ts";
import { errorResponse, ParleyError } from "../../../../lib/errors.ts";
import { parseResume, type Resume } from "../../../../lib/resume.ts";
import type { AppEnv } from "../../../../lib/services.ts";
import { ROOM_ID_PATTERN } from "../../../../lib/validation.ts";

/** Upgrades and immediately closes with a code a browser can read, since it never sees a status. */
function refuse(c: Context<AppEnv>, code: number, reason: string): Response {
  const { metrics, events, config } = c.var.services;
  metrics.rejected.inc(reason);
  events.write("rejected", { transport: "ws", ip: clientIp(c, config.trustProxy), reason });
  const { socket, response } = Deno.upgradeWebSocket(c.req.raw);
  socket.onopen = () => socket.close(code, reason);
  return response;
}

/**
 * `GET /api/rooms/:room/ws?after=SEQ&epoch=EPOCH` upgrades to the chat WebSocket; the session
 * (cookie, bearer token or `token` param) names who speaks, and without one the socket only reads.
 */
export const handler = {
  async GET(c: Context<AppEnv>): Promise<Response> {
    const request = c.req.raw;
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return errorResponse(426, "upgrade_required", "This endpoint speaks WebSocket only", {
        upgrade: "websocket",
      });
    }
    const connection = request.headers.get("connection") ?? "";
    if (!request.headers.get("sec-websocket-key") || !/\bupgrade\b/i.test(connection)) {
      throw new ParleyError(
        400,
        "invalid_upgrade",
        "A WebSocket upgrade needs Connection: Upgrade and a Sec-WebSocket-Key",
      );
    }
    const roomId = c.req.param("room") ?? "";
    const room = ROOM_ID_PATTERN.test(roomId) ? await c.var.services.log.getRoom(roomId) : null;
    if (room === null) return refuse(c, CloseCode.roomNotFound, "room_not_found");
    // Sends are stamped with the session's name; without a session the socket only reads.
    const session = c.var.services.sessions.fromRequest(request) ?? undefined;
    let resume: Resume;
    try {
      resume = parseResume(room, { after: c.req.query("after"), epoch: c.req.query("epoch") });
    } catch (error) {
      if (!(error instanceof ParleyError)) throw error;
      return refuse(c, CloseCode.badRequest, error.code);
    }
    const { services } = c.var;
    const ip = clientIp(c, services.config.trustProxy);
    const release = services.limits.openConnection(ip);
    if (release === null) return refuse(c, CloseCode.tryAgainLater, "too_many_connections");
    const { socket, response } = Deno.upgradeWebSocket(request, {
      idleTimeout: services.config.wsIdleTimeout,
    });
    serveChatSocket(socket, services, { room, session, resume, ip, onClose: release });
    return response;
  },
};
