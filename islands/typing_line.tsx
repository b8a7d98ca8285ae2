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
 * re-renders the line, not the island and its whole message list.
 */
export function TypingLine({ parts }: { parts: ReadonlySignal<readonly LinePart[]> }) {
  return (
    <p class="typing">
      <PeopleLine parts={parts.value} />
    </p>
  );
}
