import type { Context } from "hono";
import { CloseCode, serveChatSocket } from "../../../../lib/chat_socket.ts";
import { clientIp } from "../../../../lib/client_ip.ts";
import { errorResponse, ParleyError, roomNotFound } from "../../../../lib/errors.ts";
import { tooManyConnections } from "../../../../lib/limits.ts";
import { parseResume, type Resume } from "../../../../lib/resume.ts";
import type { AppEnv } from "../../../../lib/services.ts";
import { ROOM_ID_PATTERN } from "../../../../lib/validation.ts";

/** How long a refused socket may take to open before its place is given back (it never will). */
const REFUSAL_OPEN_TIMEOUT_MS = 10_000;

/**
 * Upgrades and at once closes with `closeCode` and the error's code as reason, which a browser
 * can read, since it never sees a status. A client that leaves such closes unanswered holds the
 * socket, so past a few of them per IP (`Limits.openRefusal`) the error goes as plain HTTP.
 */
function refuse(c: Context<AppEnv>, closeCode: number, error: ParleyError): Response {
  const { metrics, events, config, limits } = c.var.services;
  const ip = clientIp(c, config.trustProxy);
  const reason = error.code;
  metrics.rejected.inc(reason);
  events.write("rejected", { transport: "ws", ip, reason });
  const release = limits.openRefusal(ip);
  if (release === null) return error.toResponse();
  let upgrade: Deno.WebSocketUpgrade;
  try {
    upgrade = Deno.upgradeWebSocket(c.req.raw);
  } catch (cause) {
    release();
    throw cause;
  }
  const { socket, response } = upgrade;
  // A client that hangs up before the socket opens leaves it neither open nor closed (Deno).
  const neverOpened = setTimeout(release, REFUSAL_OPEN_TIMEOUT_MS);
  // It must not keep a worker that is shutting down alive.
  Deno.unrefTimer(neverOpened);
  socket.onopen = () => {
    clearTimeout(neverOpened);
    socket.close(closeCode, reason);
  };
  socket.onclose = () => {
    clearTimeout(neverOpened);
    release();
  };
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
    if (room === null) return refuse(c, CloseCode.roomNotFound, roomNotFound(roomId));
    // Sends are stamped with the session's name; without a session the socket only reads.
    const session = c.var.services.sessions.fromRequest(request) ?? undefined;
    let resume: Resume;
    try {
      resume = parseResume(room, { after: c.req.query("after"), epoch: c.req.query("epoch") });
    } catch (error) {
      if (!(error instanceof ParleyError)) throw error;
      return refuse(c, CloseCode.badRequest, error);
    }
    const { services } = c.var;
    const ip = clientIp(c, services.config.trustProxy);
    const release = services.limits.openConnection(ip);
    if (release === null) return refuse(c, CloseCode.tryAgainLater, tooManyConnections());
    const { socket, response } = Deno.upgradeWebSocket(request, {
      idleTimeout: services.config.wsIdleTimeout,
    });
    serveChatSocket(socket, services, { room, session, resume, ip, onClose: release });
    return response;
  },
};
