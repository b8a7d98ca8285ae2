/**
 * The chat island's typing line, under the message list.
 *
 * @module
 */
import type { ReadonlySignal } from "@preact/signals";
import type { LinePart } from "../lib/ui/people.ts";
import { PeopleLine } from "./room_header.tsx";

/**
 * Who is typing, as a signal this line alone reads: someone starting or stopping typing then
 * re-renders the line, not the island and its whole message list. The line never wraps (it would
 * move the messages above it each time it did); names too long for it are cut short rather than
 * its last words, so "… is typing…" always shows.
 */
export function TypingLine({ parts }: { parts: ReadonlySignal<readonly LinePart[]> }) {
  const line = parts.value;
  const last = line.at(-1);
  return (
    <p class="typing">
      {typeof last === "string" && (
        <>
          <span class="typing-who">
            <PeopleLine parts={line.slice(0, -1)} />
          </span>
          <span class="typing-what">{last}</span>
        </>
      )}
    </p>
  );
}
