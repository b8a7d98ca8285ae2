import type { Context } from "hono";
import { CreateRoomForm } from "../../components/CreateRoomForm.tsx";
import { Layout } from "../../components/Layout.tsx";
import ChatRoom from "../../islands/ChatRoom.tsx";
import { Island } from "../../lib/island.tsx";
import { renderPage } from "../../lib/render_page.tsx";
import type { AppEnv } from "../../lib/services.ts";
import type { Speaker } from "../../lib/session.ts";
import type { TransportName } from "../../lib/transports/transport.ts";
import type { Message, Room } from "../../lib/types.ts";
import { ROOM_ID_PATTERN, ROOM_ID_RULE, suggestRoomId } from "../../lib/validation.ts";

/** How many messages the page renders before any script runs. */
export const INITIAL_MESSAGES = 50;
const TRANSPORTS: readonly string[] = ["ws", "sse", "poll"];

/** `GET /rooms/:room` renders the room with its latest messages, or a 404 that offers to create it. */
export const handler = {
  async GET(c: Context<AppEnv>): Promise<Response> {
    const { log } = c.var.services;
    const id = c.req.param("room") ?? "";
    const room = ROOM_ID_PATTERN.test(id) ? await log.getRoom(id) : null;
    if (room === null) {
      // "/rooms/Lobby" most likely means "lobby", and "/rooms/lobby%20" (a pasted link) too.
      const likely = suggestRoomId(id);
      const similar = likely !== undefined && likely !== id ? await log.getRoom(likely) : null;
      return renderPage({
        title: "No such room · Parley",
        status: 404,
        body: <MissingRoom id={id} similar={similar} />,
      });
    }
    const messages = await log.readLatest(room.id, { limit: INITIAL_MESSAGES });
    const forced = c.req.query("transport");
    const transport = forced && TRANSPORTS.includes(forced) ? forced as TransportName : undefined;
    return renderPage({
      title: `${room.title} · Parley`,
      body: (
        <RoomPage
          room={room}
          messages={messages}
          transport={transport}
          speaker={speakerOf(c, room.id)}
        />
      ),
    });
  },
};

/** The visitor's name and author id in `room`, if the request has a session. */
function speakerOf(c: Context<AppEnv>, room: string): Speaker | undefined {
  const { sessions } = c.var.services;
  const session = sessions.fromRequest(c.req.raw);
  return session ? sessions.speaker(session, room) : undefined;
}

/** The room page: the hydrated chat, which renders the room's heading with who is online. */
export default function RoomPage(
  { room, messages, transport, speaker }: {
    room: Room;
    messages: Message[];
    transport?: TransportName;
    speaker?: Speaker;
  },
) {
  return (
    <Layout variant="room">
      <Island
        name="ChatRoom"
        component={ChatRoom}
        props={{
          room: { id: room.id, title: room.title, epoch: room.epoch },
          messages,
          transport,
          // The name and author id only: the session id stays in the cookie.
          speaker,
        }}
      />
    </Layout>
  );
}

/**
 * The 404 page: a room with the id in lowercase if there is one, and a form to create it. An
 * address that could not be a room's is not quoted back: it could be made to say anything
 * ("Your session expired: log in at …") on this site's page.
 */
function MissingRoom({ id, similar }: { id: string; similar: Room | null }) {
  const lower = id.toLowerCase();
  const suggestion = [id, lower].find((candidate) => ROOM_ID_PATTERN.test(candidate));
  return (
    <Layout>
      {suggestion === undefined
        ? (
          <>
            <h1>No room has this address</h1>
            <p>{ROOM_ID_RULE}.</p>
          </>
        )
        : <h1>No room called “{id}”</h1>}
      {similar && (
        <p>
          Did you mean <a href={`/rooms/${similar.id}`}>{similar.title}</a>?
        </p>
      )}
      <p>
        {suggestion !== undefined && "It may never have existed. "}
        <a href="/">See all rooms</a>, or create {suggestion === undefined ? "one" : "it now"}.
      </p>
      <CreateRoomForm id={similar ? "" : suggestion ?? ""} />
    </Layout>
  );
}
