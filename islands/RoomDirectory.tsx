import { useComputed, useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { avatarHue, initial } from "../lib/ui/people.ts";
import { filterRooms, messageCount, normalizeQuery, type RoomSummary } from "../lib/ui/rooms.ts";
import { relativeTime } from "../lib/ui/time.ts";

/** Props of the directory island, serialised into the page by the directory route. */
export interface Props {
  rooms: RoomSummary[];
  /** The search from `?q=`, already applied by the server render. */
  query: string;
  /** The server's time of rendering, so relative times hydrate unchanged. */
  now: number;
}

/** The rooms, their counts and relative times refresh this often while the page is shown. */
const REFRESH_MS = 15_000;

/** The rooms as `GET /api/directory` lists them now, or undefined if that failed. */
async function fetchDirectory(): Promise<RoomSummary[] | undefined> {
  try {
    const response = await fetch("/api/directory", { headers: { accept: "application/json" } });
    if (!response.ok) return undefined;
    const { rooms } = await response.json() as { rooms: RoomSummary[] };
    return rooms;
  } catch {
    return undefined;
  }
}

/**
 * The room directory: a search box that filters as you type (and through `?q=` without
 * JavaScript) and each room with its title, message count, last activity and who is online,
 * kept current while the page is shown (a failed refresh keeps what is shown).
 */
export default function RoomDirectory({ rooms: initial, query, now }: Props) {
  const search = useSignal(query);
  const clock = useSignal(now);
  const rooms = useSignal(initial);
  const shown = useComputed(() => filterRooms(rooms.value, normalizeQuery(search.value)));

  useEffect(() => {
    let refreshing = false;
    const refresh = async () => {
      if (document.hidden || refreshing) return;
      refreshing = true;
      clock.value = Date.now();
      const fresh = await fetchDirectory();
      refreshing = false;
      if (fresh) rooms.value = fresh;
    };
    const timer = setInterval(refresh, REFRESH_MS);
    // Shown again: a tab brought back, or this page restored by the Back button.
    const restored = (event: PageTransitionEvent) => event.persisted && refresh();
    document.addEventListener("visibilitychange", refresh);
    addEventListener("pageshow", restored);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", refresh);
      removeEventListener("pageshow", restored);
    };
  }, []);

  const onSearch = (value: string) => {
    search.value = value;
    const url = new URL(location.href);
    const q = normalizeQuery(value);
    if (q) url.searchParams.set("q", q);
    else url.searchParams.delete("q");
    history.replaceState(history.state, "", url);
  };

  const q = normalizeQuery(search.value);
  return (
    <div class="directory">
      <form
        class="room-search"
        method="get"
        action="/"
        role="search"
        onSubmit={(event) => event.preventDefault()}
      >
        <label class="visually-hidden" for="room-search">Search rooms</label>
        <input
          id="room-search"
          type="search"
          name="q"
          maxLength={80}
          autoComplete="off"
          placeholder="Search rooms"
          value={search.value}
          onInput={(event) => onSearch(event.currentTarget.value)}
        />
        <button type="submit" class="secondary">Search</button>
      </form>
      <p class="search-summary" role="status">
        {q && <SearchSummary query={q} shown={shown.value.length} total={rooms.value.length} />}
      </p>
      {rooms.value.length === 0
        ? <p class="empty">No rooms yet. Create the first one below.</p>
        : shown.value.length > 0 && (
          <ul class="room-list">
            {shown.value.map((room) => <RoomItem key={room.id} room={room} now={clock.value} />)}
          </ul>
        )}
    </div>
  );
}

function SearchSummary({ query, shown, total }: { query: string; shown: number; total: number }) {
  if (shown === 0) return <>No rooms match “{query}”.</>;
  return <>{shown} of {total} {total === 1 ? "room matches" : "rooms match"} “{query}”.</>;
}

function RoomItem({ room, now }: { room: RoomSummary; now: number }) {
  return (
    <li class="room-item">
      <span class={`avatar room-avatar hue-${avatarHue(room.id)}`} aria-hidden="true">
        {initial(room.title)}
      </span>
      <div class="room-main">
        <p class="room-name">
          <a href={`/rooms/${room.id}`}>
            <strong>{room.title}</strong>
          </a>{" "}
          <span class="room-id">#{room.id}</span>
        </p>
        <p class="room-meta">
          <span class="room-count">{messageCount(room.messages)}</span>
          {" · "}
          {room.lastAt === null ? "no messages yet" : (
            <>
              active{" "}
              <time dateTime={new Date(room.lastAt).toISOString()}>
                {relativeTime(room.lastAt, now)}
              </time>
            </>
          )}
        </p>
      </div>
      {room.online !== undefined && room.online > 0 && (
        <p class="room-online">{room.online} online</p>
      )}
    </li>
  );
}
