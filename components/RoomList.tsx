import type { Room } from "../lib/types.ts";

/** The room directory: each room with its title, message count and last activity. */
export function RoomList({ rooms }: { rooms: Room[] }) {
  if (rooms.length === 0) {
    return <p class="empty">No rooms yet. Create the first one below.</p>;
  }
  return (
    <ul class="room-list">
      {rooms.map((room) => <RoomItem key={room.id} room={room} />)}
    </ul>
  );
}

function RoomItem({ room }: { room: Room }) {
  const count = room.head - room.trimmed;
  return (
    <li>
      <a href={`/rooms/${room.id}`}>
        <strong>{room.title}</strong>
        <span class="room-id">#{room.id}</span>
      </a>
      <span class="room-meta">
        {count === 1 ? "1 message" : `${count} messages`}
        {room.lastAt !== null && (
          <>
            {" · last "}
            <time dateTime={new Date(room.lastAt).toISOString()}>
              {new Date(room.lastAt).toISOString().slice(0, 16).replace("T", " ")} UTC
            </time>
          </>
        )}
      </span>
    </li>
  );
}
