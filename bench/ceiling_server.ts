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
 * {@link createCeiling} with a store makes the durable ceiling (`bench/durable_ceiling_server.ts`):
 * the same server, acknowledging and delivering each message once its store has it.
 *
 * Run it on one worker (`deno serve bench/ceiling_server.ts`): its rooms are plain memory, which
 * `--parallel` workers would not share.
 *
 * @module
 */

import { readDeliveryInterval } from "../lib/config.ts";
import type { CeilingMessage, CeilingStore } from "./ceiling_store.ts";

interface CeilingRoom {
  head: number;
  sockets: Set<WebSocket>;
  /** Messages not sent yet, sent out together at the next flush. */
  pending: CeilingMessage[];
  /** When the room's messages last went out (`performance.now()`). */
  lastFlush: number;
}

/** What a sender is told when its message could not be stored. */
interface StoreFailure {
  code: "storage_unavailable";
  message: string;
}

/** Answers a sender: with the message once it is accepted, or with why it could not be stored. */
type Answer = (message: CeilingMessage | undefined, failure?: StoreFailure) => void;

// Parley's delivery interval, read the same way: a ceiling that batched less would send more
// frames than Parley under load and stop being a ceiling.
const DELIVERY_INTERVAL_MS = readDeliveryInterval((name) => Deno.env.get(name));

const WS_PATH = /^\/api\/rooms\/([^/]+)\/ws$/;
const MESSAGES_PATH = /^\/api\/rooms\/([^/]+)\/messages$/;

/** Sends a room's pending messages to every socket in it as one frame, serialised once. */
function flush(room: CeilingRoom): void {
  const out = `{"type":"messages","messages":${JSON.stringify(room.pending)}}`;
  room.pending = [];
  room.lastFlush = performance.now();
  for (const socket of room.sockets) {
    if (socket.readyState === WebSocket.OPEN) socket.send(out);
  }
}

/** Queues a message for its room's sockets. */
function deliver(room: CeilingRoom, message: CeilingMessage): void {
  if (room.sockets.size > 0 && room.pending.push(message) === 1) {
    // At the end of this turn of the event loop, or once the interval since the last flush is up.
    const wait = Math.max(0, room.lastFlush + DELIVERY_INTERVAL_MS - performance.now());
    setTimeout(() => flush(room), wait);
  }
}

/**
 * A ceiling server's request handler, for `deno serve`: in memory only, or, with a store,
 * acknowledging and delivering each message once the store has it.
 */
export function createCeiling(
  options: { store?: Pick<CeilingStore, "persist"> } = {},
): Deno.ServeDefaultExport {
  const { store } = options;
  const rooms = new Map<string, CeilingRoom>();

  function roomNamed(id: string): CeilingRoom {
    let room = rooms.get(id);
    if (!room) {
      room = { head: 0, sockets: new Set(), pending: [], lastFlush: -Infinity };
      rooms.set(id, room);
    }
    return room;
  }

  /**
   * Gives a message its room's next seq, then delivers and answers it (once stored, if stored).
   * A message whose commit fails leaves its seq unused: a gap Parley would not leave, which a
   * benchmark on a healthy store never sees.
   */
  function accept(id: string, messageId: string, author: string, text: string, answer: Answer) {
    const room = roomNamed(id);
    const message = { seq: ++room.head, id: messageId, room: id, author, text, at: Date.now() };
    if (!store) {
      deliver(room, message);
      return answer(message);
    }
    store.persist(message).then(
      () => {
        deliver(room, message);
        answer(message);
      },
      (error) =>
        answer(undefined, {
          code: "storage_unavailable",
          message: `Cannot store message "${messageId}" in room "${id}": ${error}`,
        }),
    );
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
      accept(id, frame.id ?? "", author, frame.text ?? "", (message, failure) => {
        if (socket.readyState !== WebSocket.OPEN) return;
        socket.send(JSON.stringify(
          message
            ? { type: "ack", id: frame.id, seq: message.seq }
            : { type: "error", id: frame.id, ...failure },
        ));
      });
    };
    socket.onclose = () => room.sockets.delete(socket);
    socket.onerror = () => {};
    return response;
  }

  async function post(id: string, request: Request): Promise<Response> {
    const body = await request.json() as { id?: string; author?: string; text?: string };
    const { promise, resolve } = Promise.withResolvers<Response>();
    accept(id, body.id ?? "", body.author ?? "", body.text ?? "", (message, failure) => {
      resolve(
        message ? Response.json({ message }, { status: 201 }) : Response.json({ error: failure }, {
          status: 503,
        }),
      );
    });
    return await promise;
  }

  return {
    async fetch(request: Request): Promise<Response> {
      const url = new URL(request.url);
      const ws = url.pathname.match(WS_PATH);
      if (ws && request.headers.get("upgrade")?.toLowerCase() === "websocket") {
        return serveSocket(request, ws[1], url.searchParams.get("name") ?? "anonymous");
      }
      const messages = url.pathname.match(MESSAGES_PATH);
      if (messages && request.method === "POST") return await post(messages[1], request);
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
  };
}

/** The in-memory ceiling server's request handler, for `deno serve`. */
export default createCeiling();
