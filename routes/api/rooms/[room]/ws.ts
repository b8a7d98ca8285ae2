import type { Context } from "hono";
import { CloseCode, serveChatSocket } from "../../../../lib/chat_socket.ts";
import { clientIp } from "../../../../lib/client_ip.ts";
import { wasHead } from "../../../../lib/head_as_get.ts";
import { errorResponse, ParleyError, roomNotFound } from "../../../../lib/errors.ts";
import { tooManyConnections } from "../../../../lib/limits.ts";
import { checkResume, type CursorParams, type Resume } from "../../../../lib/resume.ts";
import type { AppEnv, Services } from "../../../../lib/services.ts";
import type { Session } from "../../../../lib/session.ts";
import type { Room } from "../../../../lib/types.ts";
import { type AttachListener, holdEvents, listenTo } from "../../../../lib/socket_events.ts";
import { ROOM_ID_PATTERN } from "../../../../lib/validation.ts";

/** How long a refused socket may take to open before its place is given back (it never will). */
const REFUSAL_OPEN_TIMEOUT_MS = 10_000;

/** Who asked for the socket, and what for. */
interface UpgradeRequest {
  services: Services;
  ip: string;
  roomId: string;
  session: Session | undefined;
  cursor: CursorParams;
}

/** Counts and logs a refused socket. */
function recordRefusal({ services, ip }: UpgradeRequest, reason: string): void {
  services.metrics.rejected.inc(reason);
  services.events.write("rejected", { transport: "ws", ip, reason });
}

/**
 * Closes an upgraded socket with `closeCode` and `reason` as soon as it opens, and calls
 * `release` once it has closed, or after {@link REFUSAL_OPEN_TIMEOUT_MS} should it never open nor
 * close (as Deno left the socket of a client that hung up before an answer that came late).
 */
function closeOnOpen(
  socket: WebSocket,
  attach: AttachListener,
  closeCode: number,
  reason: string,
  release: () => void,
): void {
  const neverOpened = setTimeout(release, REFUSAL_OPEN_TIMEOUT_MS);
  // It must not keep a worker that is shutting down alive.
  Deno.unrefTimer(neverOpened);
  attach({
    handleEvent({ type }) {
      if (type === "open") {
        clearTimeout(neverOpened);
        socket.close(closeCode, reason);
      } else if (type === "close") {
        clearTimeout(neverOpened);
        release();
      }
    },
  });
}

/**
 * Refuses before upgrading: upgrades and at once closes with `closeCode` and the error's code as
 * reason, which a browser can read, since it never sees a status. A client that leaves such closes
 * unanswered holds the socket, so past a few of them per IP (`Limits.openRefusal`) the error goes
 * as plain HTTP.
 */
function refuse(
  c: Context<AppEnv>,
  upgrade: UpgradeRequest,
  closeCode: number,
  error: ParleyError,
): Response {
  recordRefusal(upgrade, error.code);
  const release = upgrade.services.limits.openRefusal(upgrade.ip);
  if (release === null) return error.toResponse();
  let answer: Deno.WebSocketUpgrade;
  try {
    answer = Deno.upgradeWebSocket(c.req.raw);
  } catch (cause) {
    release();
    throw cause;
  }
  closeOnOpen(answer.socket, listenTo(answer.socket), closeCode, error.code, release);
  return answer.response;
}

/**
 * Reads the room, then serves the upgraded socket, or closes it with the refusal's code. A refused
 * socket moves from its connection place to one of the places for refusals its client has not
 * answered, where one is free, so such refusals do not take the places of live connections.
 */
async function serveOnceRead(
  upgrade: UpgradeRequest,
  socket: WebSocket,
  attach: AttachListener,
  releaseConnection: () => void,
): Promise<void> {
  const { services, ip, roomId, session } = upgrade;
  const refuseUpgraded = (closeCode: number, reason: string) => {
    recordRefusal(upgrade, reason);
    const releaseRefusal = services.limits.openRefusal(ip);
    if (releaseRefusal !== null) releaseConnection();
    closeOnOpen(socket, attach, closeCode, reason, releaseRefusal ?? releaseConnection);
  };
  let room: Room | null;
  let resume: Resume;
  try {
    room = await services.log.getRoom(roomId);
    if (room === null) return refuseUpgraded(CloseCode.roomNotFound, "room_not_found");
    resume = await checkResume(services.log, room, upgrade.cursor);
  } catch (error) {
    if (error instanceof ParleyError) return refuseUpgraded(CloseCode.badRequest, error.code);
    // Its client or a shutdown closed the socket meanwhile; a shutdown closes the store next,
    // under the read: nobody is left to refuse, and nothing is wrong with the store.
    if (socket.readyState >= WebSocket.CLOSING) return releaseConnection();
    console.error(`Cannot open a WebSocket in room "${roomId}":`, error);
    return refuseUpgraded(CloseCode.internalError, "internal_error");
  }
  const options = { room, session, resume, ip, onClose: releaseConnection };
  serveChatSocket(socket, services, options, attach);
}

/**
 * `GET /api/rooms/:room/ws?after=SEQ&epoch=EPOCH&last=ID` upgrades to the chat WebSocket; the
 * session (cookie, bearer token or `token` param) names who speaks, and without one the socket only
 * reads.
 * The upgrade is answered before anything is read: Deno keeps, until the process ends, the
 * connection of an upgrade answered after an `await` once its client has hung up, which would let
 * a client that asks and hangs up use up the server's file descriptors.
 */
export const handler = {
  GET(c: Context<AppEnv>): Response {
    const request = c.req.raw;
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return errorResponse(426, "upgrade_required", "This endpoint speaks WebSocket only", {
        upgrade: "websocket",
      });
    }
    if (wasHead(request)) {
      throw new ParleyError(400, "invalid_upgrade", "A WebSocket upgrade is a GET, not a HEAD");
    }
    const connection = request.headers.get("connection") ?? "";
    if (!request.headers.get("sec-websocket-key") || !/\bupgrade\b/i.test(connection)) {
      throw new ParleyError(
        400,
        "invalid_upgrade",
        "A WebSocket upgrade needs Connection: Upgrade and a Sec-WebSocket-Key",
      );
    }
    const { services } = c.var;
    const upgrade: UpgradeRequest = {
      services,
      ip: clientIp(c, services.config.trustProxy),
      roomId: c.req.param("room") ?? "",
      // Sends are stamped with the session's name; without a session the socket only reads.
      session: services.sessions.fromRequest(request) ?? undefined,
      cursor: {
        after: c.req.query("after"),
        epoch: c.req.query("epoch"),
        last: c.req.query("last"),
      },
    };
    if (!ROOM_ID_PATTERN.test(upgrade.roomId)) {
      return refuse(c, upgrade, CloseCode.roomNotFound, roomNotFound(upgrade.roomId));
    }
    const release = services.limits.openConnection(upgrade.ip);
    if (release === null) return refuse(c, upgrade, CloseCode.tryAgainLater, tooManyConnections());
    let answer: Deno.WebSocketUpgrade;
    try {
      answer = Deno.upgradeWebSocket(request, { idleTimeout: services.config.wsIdleTimeout });
    } catch (cause) {
      release();
      throw cause;
    }
    const { socket, response } = answer;
    serveOnceRead(upgrade, socket, holdEvents(socket), release).catch((error) => {
      console.error(`Cannot serve a WebSocket in room "${upgrade.roomId}":`, error);
      socket.close(CloseCode.internalError, "internal_error");
    });
    return response;
  },
};
