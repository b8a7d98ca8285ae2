import { useComputed, useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { avatarHue, initial } from "../lib/ui/people.ts";
import {
  DIRECTORY_PAGE,
  type DirectoryListing,
  directorySummary,
  filterRooms,
  MAX_DIRECTORY_ROOMS,
  MAX_QUERY_LENGTH,
  messageCount,
  normalizeQuery,
  refreshedInPlace,
  type RoomSummary,
} from "../lib/ui/rooms.ts";
import { relativeTime } from "../lib/ui/time.ts";

/** Props of the directory island, serialised into the page by the directory route. */
export interface Props {
  /** The rooms the server render shows, for `query` and `limit`. */
  listing: DirectoryListing;
  /** The search from `?q=`, already applied by the server render. */
  query: string;
  /** How many rooms the page asked for (`?show=`). */
  limit: number;
  /** The server's time of rendering, so relative times hydrate unchanged. */
  now: number;
}

/** A listing, and the search and count it answers. */
interface Answer {
  query: string;
  limit: number;
  listing: DirectoryListing;
}

/** Why a request for the directory failed: no answer, or an answer that was an error. */
type Failure = "offline" | "server";

/** How a request for the directory ended. */
type Loaded = "shown" | "called off" | Failure;

/** The rooms, their counts and relative times refresh this often while the page is shown. */
const REFRESH_MS = 15_000;
/** How long typing must pause before the search goes to the server. */
const SEARCH_DELAY_MS = 200;
/** How long after a finger last touched the list a refresh leaves it in its order. */
const TOUCH_USE_MS = 5_000;
/** What the search line (and the status region) says when a search failed, by why. */
const SEARCH_FAILED: Record<Failure, string> = {
  offline: "The search could not reach the server: check your connection and try again.",
  server: "The server could not search just now: try again in a moment.",
};
/** What the page says when more rooms could not be loaded, by why. */
const MORE_FAILED: Record<Failure, string> = {
  offline: "More rooms could not be loaded: check your connection and try again.",
  server:
    "More rooms could not be loaded: the server could not answer just now. Try again in a moment.",
};

/**
 * The listing `GET /api/directory` gives for a search now, or why there is none ("offline" too
 * when the request was called off).
 */
async function fetchDirectory(
  query: string,
  limit: number,
  signal: AbortSignal,
): Promise<DirectoryListing | Failure> {
  const params = new URLSearchParams({ limit: String(limit) });
  if (query !== "") params.set("q", query);
  try {
    const response = await fetch(`/api/directory?${params}`, {
      headers: { accept: "application/json" },
      signal,
    });
    if (!response.ok) {
      await response.body?.cancel();
      return "server";
    }
    return await response.json() as DirectoryListing;
  } catch {
    return "offline";
  }
}

/**
 * What the directory shows for `query` from the last answer: that answer if it is for `query`,
 * or filtered here if it holds every room (no request needed); else null, until the server
 * answers (the page meanwhile shows the answer's rooms that match).
 */
function view(answer: Answer, query: string): DirectoryListing | null {
  const { listing } = answer;
  if (answer.query === query) return listing;
  const rooms = filterRooms(listing.rooms, query);
  if (answer.query !== "" || listing.rooms.length < listing.total) return null;
  return { rooms, matches: rooms.length, total: listing.total };
}

/** The address of the directory showing `query` and `limit` rooms. */
function pageHref(query: string, limit: number): string {
  const params = new URLSearchParams();
  if (query !== "") params.set("q", query);
  if (limit !== DIRECTORY_PAGE) params.set("show", String(limit));
  return params.size === 0 ? "/" : `/?${params}`;
}

/**
 * The room directory: a search box that searches as you type (and through `?q=` without
 * JavaScript), the most recently active rooms that match with their message count, last
 * activity and who is online, and a link that shows more (`?show=`), kept current while the
 * page is shown (a failed refresh keeps what is shown).
 */
export default function RoomDirectory({ listing, query, limit: asked, now }: Props) {
  const search = useSignal(query);
  const limit = useSignal(asked);
  const clock = useSignal(now);
  const answer = useSignal<Answer>({ query, limit: asked, listing });
  // What the status region says: only what the visitor asked for, never a background refresh.
  const announcement = useSignal("");
  const moreFailed = useSignal<Failure | null>(null);
  const moreLoading = useSignal(false);
  const searchFailed = useSignal<Failure | null>(null);
  // The request on its way, called off when the visitor asks for something else.
  const inFlight = useRef<AbortController | undefined>(undefined);
  const searchTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  // What a pause in typing will do: search the server, or announce what is shown.
  const afterTyping = useRef<(() => void) | undefined>(undefined);
  const list = useRef<HTMLUListElement>(null);
  const q = normalizeQuery(search.value);
  const shown = useComputed(() => view(answer.value, normalizeQuery(search.value)));
  const rooms = shown.value?.rooms ?? filterRooms(answer.value.listing.rooms, q);

  // Whether a mouse or pen is over the list, and when a finger last touched it (a touch leaves
  // no pointer behind, but ":hover" sticks to what it tapped).
  const pointerOver = useRef(false);
  const touchedAt = useRef(-Infinity);
  /** Whether the visitor is at the list: focus in it, a pointer over it, a finger on it lately. */
  const inUse = () =>
    list.current !== null &&
    (list.current.contains(document.activeElement) || pointerOver.current ||
      performance.now() - touchedAt.current < TOUCH_USE_MS);

  /**
   * Asks for the current search and `count` rooms, calling off a request on its way; shows the
   * answer (and, when `announced`, says it in the status region). A refresh nobody asked for
   * leaves a list in use in its order, so the room under the pointer or focus stays put.
   */
  const load = async (count: number, announced: boolean): Promise<Loaded> => {
    inFlight.current?.abort();
    const request = new AbortController();
    inFlight.current = request;
    const wanted = normalizeQuery(search.value);
    const fresh = await fetchDirectory(wanted, count, request.signal);
    if (inFlight.current !== request) return "called off";
    inFlight.current = undefined;
    if (typeof fresh === "string") return fresh;
    clock.value = Date.now();
    limit.value = count;
    moreFailed.value = null;
    const shown = answer.value;
    const steady = !announced && shown.query === wanted && shown.limit === count && inUse();
    answer.value = {
      query: wanted,
      limit: count,
      listing: steady ? refreshedInPlace(shown.listing, fresh) : fresh,
    };
    if (announced) announcement.value = directorySummary(fresh, wanted);
    return "shown";
  };

  /** Searches the server now, saying in the status region if it could not be reached. */
  const searchNow = async () => {
    searchFailed.value = null;
    const loaded = await load(DIRECTORY_PAGE, true);
    if (loaded === "shown" || loaded === "called off") return;
    searchFailed.value = loaded;
    announcement.value = SEARCH_FAILED[loaded];
  };

  useEffect(() => {
    // A refresh waits for a request on its way rather than calling it off.
    const refresh = () => !document.hidden && !inFlight.current && load(limit.value, false);
    const timer = setInterval(refresh, REFRESH_MS);
    // Shown again: a tab brought back, or this page restored by the Back button.
    const restored = (event: PageTransitionEvent) => event.persisted && refresh();
    document.addEventListener("visibilitychange", refresh);
    addEventListener("pageshow", restored);
    return () => {
      clearInterval(timer);
      clearTimeout(searchTimer.current);
      inFlight.current?.abort();
      document.removeEventListener("visibilitychange", refresh);
      removeEventListener("pageshow", restored);
    };
  }, []);

  /** Runs `action` once typing has paused for {@link SEARCH_DELAY_MS}, instead of the last one. */
  const whenTypingPauses = (action: () => void) => {
    clearTimeout(searchTimer.current);
    afterTyping.current = action;
    searchTimer.current = setTimeout(() => {
      afterTyping.current = undefined;
      action();
    }, SEARCH_DELAY_MS);
  };

  const onSearch = (value: string) => {
    const before = normalizeQuery(search.value);
    search.value = value;
    const wanted = normalizeQuery(value);
    if (wanted === before) {
      // A space or a letter taken back: still typing.
      if (afterTyping.current) whenTypingPauses(afterTyping.current);
      return;
    }
    // Back to the search shown last (a letter typed and taken back): as many rooms as shown.
    const count = answer.value.query === wanted ? answer.value.limit : DIRECTORY_PAGE;
    limit.value = count;
    moreFailed.value = null;
    searchFailed.value = null;
    history.replaceState(history.state, "", pageHref(wanted, count));
    const held = view(answer.value, wanted);
    if (held === null) return whenTypingPauses(searchNow);
    // Shown from what the page holds: a request on its way is no longer wanted.
    inFlight.current?.abort();
    inFlight.current = undefined;
    whenTypingPauses(() => announcement.value = directorySummary(held, wanted));
  };

  /** Enter or Search: what a pause in typing would do, at once; a failed search is tried again. */
  const onSubmit = (event: SubmitEvent) => {
    event.preventDefault();
    clearTimeout(searchTimer.current);
    const pending = afterTyping.current;
    afterTyping.current = undefined;
    if (pending) pending();
    else if (searchFailed.value !== null) searchNow();
  };

  const more = Math.min(limit.value + DIRECTORY_PAGE, MAX_DIRECTORY_ROOMS);
  const hasMore = shown.value !== null && rooms.length < shown.value.matches &&
    limit.value < MAX_DIRECTORY_ROOMS;
  const showMore = async (event: MouseEvent) => {
    event.preventDefault();
    if (moreLoading.value) return;
    const before = rooms.length;
    moreFailed.value = null;
    moreLoading.value = true;
    const loaded = await load(more, true);
    moreLoading.value = false;
    if (loaded === "offline" || loaded === "server") moreFailed.value = loaded;
    // A search typed meanwhile has the address, and the focus.
    if (loaded !== "shown" || normalizeQuery(search.value) !== q) return;
    history.replaceState(history.state, "", pageHref(q, more));
    // The link may be gone: focus goes to the first room it brought.
    list.current?.querySelectorAll<HTMLElement>(".room-name a")[before]?.focus();
  };

  return (
    <div class="directory">
      <form
        class="room-search"
        method="get"
        action="/"
        role="search"
        onSubmit={onSubmit}
      >
        <label class="visually-hidden" for="room-search">Search rooms</label>
        <input
          id="room-search"
          type="search"
          name="q"
          maxLength={MAX_QUERY_LENGTH}
          autoComplete="off"
          placeholder="Search rooms"
          value={search.value}
          onInput={(event) => onSearch(event.currentTarget.value)}
        />
        <button type="submit" class="secondary">Search</button>
      </form>
      <p class="search-summary">
        {shown.value !== null
          ? directorySummary(shown.value, q)
          : searchFailed.value !== null
          ? SEARCH_FAILED[searchFailed.value]
          : "Searching…"}
      </p>
      <p class="visually-hidden" role="status">{announcement.value}</p>
      {answer.value.listing.total === 0
        ? <p class="empty">No rooms yet. Create the first one below.</p>
        : rooms.length > 0 && (
          <ul
            class="room-list"
            ref={list}
            onPointerEnter={(event) => (pointerOver.current = event.pointerType !== "touch")}
            onPointerLeave={() => (pointerOver.current = false)}
            onPointerDown={(event) => {
              if (event.pointerType === "touch") touchedAt.current = performance.now();
            }}
          >
            {rooms.map((room) => <RoomItem key={room.id} room={room} now={clock.value} />)}
          </ul>
        )}
      {hasMore && (
        <p class="show-more">
          <a
            class="button secondary"
            href={pageHref(q, more)}
            aria-disabled={moreLoading.value || undefined}
            onClick={showMore}
          >
            {moreLoading.value ? "Loading more rooms…" : "Show more rooms"}
          </a>
          {moreFailed.value !== null && (
            <span class="notice" role="alert">{MORE_FAILED[moreFailed.value]}</span>
          )}
        </p>
      )}
    </div>
  );
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
          {room.lastAt === null ? "No messages yet" : (
            <>
              <span class="room-count">{messageCount(room.messages)}</span>
              {" · active "}
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
