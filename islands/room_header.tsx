/**
 * The top of the chat island: the room's title with who is online, and the connection banner.
 *
 * @module
 */
import { useEffect, useRef } from "preact/hooks";
import type { Banner } from "../lib/ui/status.ts";
import {
  type LinePart,
  listsNames,
  onlineLabel,
  type OnlineName,
  onlineNames,
  presenceLine,
} from "../lib/ui/people.ts";

/** A line about people, each name isolated so that a right-to-left one keeps its place. */
export function PeopleLine({ parts }: { parts: readonly LinePart[] }) {
  return (
    <>{parts.map((part, i) => typeof part === "string" ? part : <bdi key={i}>{part.name}</bdi>)}</>
  );
}

/** The room's heading and presence line; `online` is null until the server says. */
export function RoomHeader(
  { title, id, online }: { title: string; id: string; online: string[] | null },
) {
  return (
    <header class="room-header">
      <h1 class="room-title">
        {title} <span class="room-id">#{id}</span>
      </h1>
      <div class="presence">{online !== null && <Presence online={online} />}</div>
    </header>
  );
}

function Presence({ online }: { online: string[] }) {
  const names = onlineNames(online);
  const line = presenceLine(online);
  if (line.length === 0) return null;
  if (!listsNames(names.map(onlineLabel))) return <PresenceList line={line} names={names} />;
  return (
    <p class="presence-text">
      <PeopleLine parts={line} />
    </p>
  );
}

/**
 * The count that opens the list of everyone online. Like a menu, the open list closes on Escape
 * (focus back on the count) or a click elsewhere: on a phone it covers the messages.
 */
function PresenceList({ line, names }: { line: LinePart[]; names: OnlineName[] }) {
  const details = useRef<HTMLDetailsElement>(null);
  useEffect(() => {
    const closeOutside = (event: MouseEvent) => {
      const element = details.current;
      if (element?.open && !element.contains(event.target as Node)) element.open = false;
    };
    document.addEventListener("click", closeOutside);
    return () => document.removeEventListener("click", closeOutside);
  }, []);
  return (
    <details
      class="presence-more"
      ref={details}
      onKeyDown={(event) => {
        const element = details.current;
        if (event.key !== "Escape" || !element?.open) return;
        event.preventDefault();
        element.open = false;
        element.querySelector("summary")?.focus();
      }}
    >
      <summary class="presence-text">
        <PeopleLine parts={line} />
      </summary>
      <ul class="presence-list" aria-label="Online now">
        {names.map((online) => (
          <li key={online.name}>
            <bdi>{onlineLabel(online)}</bdi>
          </li>
        ))}
      </ul>
    </details>
  );
}

/**
 * The connection banner, a `role=status` region. The countdown is hidden from screen readers
 * so the region is not read out every second, and so is the transport's name ("Live", not "Live,
 * WebSocket", on every reconnect).
 */
export function StatusBanner({ banner }: { banner: Banner }) {
  return (
    <p class={`status status-${banner.tone}`} role="status">
      {banner.label}
      {banner.seconds !== undefined && <span aria-hidden="true">{` in ${banner.seconds} s`}</span>}
      {banner.detail !== undefined && ` · ${banner.detail}`}
      {banner.via !== undefined && <span aria-hidden="true">{` · ${banner.via}`}</span>}
    </p>
  );
}
