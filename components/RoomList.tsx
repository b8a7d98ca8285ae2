import type { Room } from "../lib/types.ts";

/** The room directory: each room with its title, message count and last activity. */
export function RoomList({ rooms }: { rooms: Room[] }) {
  if (rooms.length === 0) {
    return <p class="empty">No rooms yet. Create the first one below.</p>;
  }
  return (
    <ul class="room-list">
      {rooms.map((room) => (
        <li key={room.id}>
          <a href={`/rooms/${room.id}`}>
            <strong>{room.title}</strong>
            <span class="room-id">#{room.id}</span>
          </a>
          <span class="room-meta">
            {room.head === 1 ? "1 message" : `${room.head} messages`}
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
      ))}
    </ul>
  );
}
