/**
 * Test helper: a fake room server that scripts what the client library hears, to test the
 * client against answers a real server gives only by chance (repeats, refusals, silence).
 *
 * @module
 */
import { waitFor } from "./wait_for.ts";

/** What the fake room answers. */
export interface FakeRoomScript {
  /** Frames for the socket opened `index`-th (from 0), or "close" to close it at once. */
  onOpen: (index: number) => unknown[] | "close";
  /** Whether `POST /api/session` number `index` (from 0) goes unanswered until the test ends. */
  holdSession?: (index: number) => boolean;
  /** Answers to a frame a socket sent; closing the socket is allowed. */
  onFrame?: (frame: Record<string, unknown>, from: FakeSocket) => unknown[];
}

/** One of the fake room's sockets. */
export interface FakeSocket {
  socket: WebSocket;
  /** Which socket it is, from 0. */
  index: number;
  /** The URL it was opened with. */
  url: URL;
}

/** What the fake room saw, for a test's assertions. */
export interface FakeRoom {
  baseUrl: string;
  /** Every socket opened, oldest first. */
  sockets: WebSocket[];
  /** The URL each socket was opened with. */
  urls: URL[];
  /** How many sessions were made (`POST /api/session`, each answered with a new token). */
  sessions: number;
  /** How many sessions were asked for, held ones included. */
  sessionRequests: number;
}

/**
 * Runs `test` against a fake room server on port 0. Sockets get `onOpen`'s frames and `onFrame`'s
 * answers; `POST /api/session` makes a session; any other plain request is a healthy 200. The
 * sockets and server are closed after.
 */
export async function withFakeRoom(
  script: FakeRoomScript,
  test: (room: FakeRoom) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  const room: FakeRoom = { baseUrl: "", sockets: [], urls: [], sessions: 0, sessionRequests: 0 };
  const fake = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: controller.signal, onListen() {} },
    async (request) => {
      if (request.headers.get("upgrade") !== "websocket") {
        if (new URL(request.url).pathname !== "/api/session") return new Response("ok");
        const { name } = await request.json();
        if (script.holdSession?.(room.sessionRequests++)) {
          await new Promise((resolve) => controller.signal.addEventListener("abort", resolve));
          return new Response(null, { status: 503 });
        }
        return Response.json({ session: { name }, token: `token-${++room.sessions}` });
      }
      const url = new URL(request.url);
      const { socket, response } = Deno.upgradeWebSocket(request);
      const index = room.sockets.push(socket) - 1;
      room.urls.push(url);
      const send = (frames: unknown[]) => {
        for (const frame of frames) socket.send(JSON.stringify(frame));
      };
      socket.onopen = () => {
        const frames = script.onOpen(index);
        if (frames === "close") socket.close(1011);
        else send(frames);
      };
      socket.onmessage = (event) => {
        const frames = script.onFrame?.(JSON.parse(event.data), { socket, index, url }) ?? [];
        if (socket.readyState === WebSocket.OPEN) send(frames);
      };
      return response;
    },
  );
  room.baseUrl = `http://127.0.0.1:${fake.addr.port}`;
  try {
    await test(room);
  } finally {
    await waitFor(
      "the fake sockets to close",
      () => room.sockets.every((socket) => socket.readyState === WebSocket.CLOSED),
      10_000,
    );
    controller.abort();
    await fake.finished;
  }
}
