/**
 * The ceiling: the least a chat fan-out server can do, to measure Parley against. Rooms live in
 * memory; a `send` frame gets the room's next seq and is acknowledged with `ack` at once; the
 * messages a room received go out together as one `messages` frame serialised once for every
 * socket in the room, at the end of the turn of the event loop or, when the room's last frame
 * went out less than `PARLEY_DELIVERY_INTERVAL_MS` ago, once that interval is up. Parley batches
 * the same way, so a ceiling that batched less would send more frames under load and not be a
 * ceiling. No storage, no validation, no limits. It speaks Parley's WebSocket frames (`welcome`,
 * `messages`, `send` → `ack`) at the same path, and answers `POST /api/rooms`, `GET /api/rooms`
 * and `POST /api/rooms/:room/messages`, so the same load generator drives both.
 *
 * Run it on one worker (`deno serve bench/ceiling_server.ts`): its rooms are plain memory, which
 * `--parallel` workers would not share.
 *
 * @module
 */

import { readDeliveryInterval } from "../lib/config.ts";

interface CeilingMessage {
  seq: number;
  id: string;
  room: string;
  author: string;
  text: string;
  at: number;
}

interface CeilingRoom {
  head: number;
  sockets: Set<WebSocket>;
  /** Messages not sent yet, sent out together at the next flush. */
  pending: CeilingMessage[];
  /** When the room's messages last went out (`performance.now()`). */
  lastFlush: number;
}

// Parley's delivery interval, read the same way: a ceiling that batched less would send more
// frames than Parley under load and stop being a ceiling.
const DELIVERY_INTERVAL_MS = readDeliveryInterval((name) => Deno.env.get(name));

const rooms = new Map<string, CeilingRoom>();
const WS_PATH = /^\/api\/rooms\/([^/]+)\/ws$/;
const MESSAGES_PATH = /^\/api\/rooms\/([^/]+)\/messages$/;

function roomNamed(id: string): CeilingRoom {
  let room = rooms.get(id);
  if (!room) {
    room = { head: 0, sockets: new Set(), pending: [], lastFlush: -Infinity };
    rooms.set(id, room);
  }
  return room;
}

/** Sends a room's pending messages to every socket in it as one frame, serialised once. */
function flush(room: CeilingRoom): void {
  const out = `{"type":"messages","messages":${JSON.stringify(room.pending)}}`;
  room.pending = [];
  room.lastFlush = performance.now();
  for (const socket of room.sockets) {
    if (socket.readyState === WebSocket.OPEN) socket.send(out);
  }
}

/** Gives a message its room's next seq and queues it for the room's sockets. */
function accept(id: string, messageId: string, author: string, text: string): CeilingMessage {
  const room = roomNamed(id);
  const message = { seq: ++room.head, id: messageId, room: id, author, text, at: Date.now() };
  if (room.sockets.size > 0 && room.pending.push(message) === 1) {
    // At the end of this turn of the event loop, or once the interval since the last flush is up.
    const wait = Math.max(0, room.lastFlush + DELIVERY_INTERVAL_MS - performance.now());
    setTimeout(() => flush(room), wait);
  }
  return message;
}

function serveSocket(request: Request, id: string, author: string): Response {
  const { socket, response } = Deno.upgradeWebSocket(request);
  const room = roomNamed(id);
  socket.onopen = () => {
    room.sockets.add(socket);
    socket.send(JSON.stringify({ type: "welcome", room: id, head: room.head }));
  };
  socket.onmessage = (event) => {
    const frame = JSON.parse(event.data) as { type?: string; id?: string; text?: string };
    if (frame.type !== "send") return;
    const { seq } = accept(id, frame.id ?? "", author, frame.text ?? "");
    socket.send(JSON.stringify({ type: "ack", id: frame.id, seq }));
  };
  socket.onclose = () => room.sockets.delete(socket);
  socket.onerror = () => {};
  return response;
}

/** The ceiling server's request handler, for `deno serve`. */
export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const ws = url.pathname.match(WS_PATH);
    if (ws && request.headers.get("upgrade")?.toLowerCase() === "websocket") {
      return serveSocket(request, ws[1], url.searchParams.get("name") ?? "anonymous");
    }
    const messages = url.pathname.match(MESSAGES_PATH);
    if (messages && request.method === "POST") {
      const body = await request.json() as { id?: string; author?: string; text?: string };
      const message = accept(messages[1], body.id ?? "", body.author ?? "", body.text ?? "");
      return Response.json({ message }, { status: 201 });
    }
    if (url.pathname === "/api/rooms" && request.method === "POST") {
      const { id, title } = await request.json() as { id: string; title?: string };
      const room = roomNamed(id);
      return Response.json({ room: { id, title, head: room.head } }, { status: 201 });
    }
    if (url.pathname === "/api/rooms" && request.method === "GET") {
      return Response.json({ rooms: [...rooms.keys()].map((id) => ({ id })) });
    }
    return Response.json({ error: { code: "not_found" } }, { status: 404 });
  },
} satisfies Deno.ServeDefaultExport;
