/**
 * The top of the chat island: the room's title with who is online, and the connection banner.
 *
 * @module
 */
import type { ReadonlySignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import type { OnlinePerson } from "../lib/client.ts";
import type { Banner } from "../lib/ui/status.ts";
import {
  entryPart,
  entryText,
  type LinePart,
  listsNames,
  onlineEntries,
  type OnlineEntry,
  presenceLine,
} from "../lib/ui/people.ts";
import { TaggedName } from "./author_tag.tsx";

/**
 * A line about people, each name isolated so that a right-to-left one keeps its place, and
 * followed by its tag where it has one.
 */
export function PeopleLine({ parts }: { parts: readonly LinePart[] }) {
  return (
    <>
      {parts.map((part, i) => typeof part === "string" ? part : <Name key={i} {...part} />)}
    </>
  );
}

/**
 * A name isolated, and its tag after it (none: ""), kept on one line with it, and "(you)" after
 * the visitor's own.
 */
function Name({ name, tag, you }: { name: string; tag?: string; you?: boolean }) {
  return (
    <span class="presence-person">
      <TaggedName name={name} tag={tag} />
      {you && " (you)"}
    </span>
  );
}

/** Props of {@link RoomHeader}. */
export interface RoomHeaderProps {
  title: string;
  id: string;
  /**
   * The sessions online (null until the server says), as a signal the header alone reads: someone
   * coming or going then re-renders the header, not the island and its whole message list.
   */
  online: ReadonlySignal<OnlinePerson[] | null>;
  /** Names whose sessions are told apart with tags, as the message list does. */
  shared: ReadonlySet<string>;
  /** The visitor's author id, once known: their own tagged session says "(you)". */
  self: string | undefined;
}

/** The room's heading and presence line. */
export function RoomHeader({ title, id, online, shared, self }: RoomHeaderProps) {
  return (
    <header class="room-header">
      <h1 class="room-title">
        {title} <span class="room-id">#{id}</span>
      </h1>
      <div class="presence">
        {online.value !== null && <Presence entries={onlineEntries(online.value, shared, self)} />}
      </div>
    </header>
  );
}

function Presence({ entries }: { entries: OnlineEntry[] }) {
  const line = presenceLine(entries);
  if (line.length === 0) return null;
  if (!listsNames(entries.map(entryText))) return <PresenceList line={line} entries={entries} />;
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
function PresenceList({ line, entries }: { line: LinePart[]; entries: OnlineEntry[] }) {
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
        {entries.map((entry) => (
          <li key={`${entry.name}\u0000${entry.tag}`}>
            <Name {...entryPart(entry)} />
          </li>
        ))}
      </ul>
    </details>
  );
}

/**
 * The connection banner, a `role=status` region. The countdown is hidden from screen readers
 * so the region is not read out every second, and so is the transport's name ("Live", not "Live,
 * WebSocket", on every reconnect). While a reconnect is counted down, "Try now" starts it at once
 * (`onRetry`): nobody need wait out the backoff once they know the server is back.
 */
export function StatusBanner({ banner, onRetry }: { banner: Banner; onRetry?: () => void }) {
  return (
    <p class={`status status-${banner.tone}`} role="status">
      {banner.label}
      {banner.seconds !== undefined && <span aria-hidden="true">{` in ${banner.seconds} s`}</span>}
      {banner.detail !== undefined && ` · ${banner.detail}`}
      {banner.via !== undefined && <span aria-hidden="true">{` · ${banner.via}`}</span>}
      {banner.seconds !== undefined && onRetry && (
        <>
          {" "}
          <button type="button" class="link-button status-retry" onClick={onRetry}>Try now</button>
        </>
      )}
    </p>
  );
}
