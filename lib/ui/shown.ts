/**
 * How many messages the list of a page left open for hours keeps. Following the newest, it keeps
 * the latest {@link MAX_SHOWN}. Up in the list reading, arrivals are added below until it holds
 * {@link MAX_WHILE_READING} (or what the reader paged back to), so the view does not move; later
 * ones are held back (the newest {@link MAX_SHOWN} of them), counted by the new-messages button,
 * and shown when the reader returns to the newest. Older ones load again on demand.
 *
 * @module
 */
import type { Message } from "../types.ts";
import { mergeMessages } from "./messages.ts";

/** While following the newest messages, the list keeps at most this many. */
export const MAX_SHOWN = 500;
/** Up in the list reading, arrivals are added below it until it holds this many. */
export const MAX_WHILE_READING = 2 * MAX_SHOWN;

/** What the list shows, and the newer messages held back from it. */
export interface Shown {
  /** The messages shown, oldest first, without gaps. */
  shown: Message[];
  /** The newest messages that came while the list was full and the reader up in it. */
  held: Message[];
}

/** A {@link Shown}, and whether it dropped older messages (which may be loaded again). */
export interface NextShown extends Shown {
  trimmed: boolean;
}

/**
 * Takes in messages just delivered: shown (the latest {@link MAX_SHOWN} of the list) while the
 * reader follows the newest; added below, or held back once the list is full, while not.
 */
export function takeIn(
  current: Shown,
  fresh: readonly Message[],
  { following }: { following: boolean },
): NextShown {
  const { shown, held } = current;
  if (following) return toNewest({ shown, held: mergeMessages(held, fresh) });
  // Once some are held, the rest are too: the list ends where the messages it shows do.
  if (held.length > 0) {
    return { shown, held: mergeMessages(held, fresh).slice(-MAX_SHOWN), trimmed: false };
  }
  const room = Math.max(MAX_WHILE_READING, shown.length);
  const next = mergeMessages(shown, fresh);
  return {
    shown: next.slice(0, room),
    held: next.slice(room).slice(-MAX_SHOWN),
    trimmed: false,
  };
}

/**
 * The list as the reader comes back to the newest: the held messages shown, and only the latest
 * {@link MAX_SHOWN} kept. A gap between the list and what was held (more came than were held)
 * falls in what is dropped, so the list stays without gaps.
 */
export function toNewest({ shown, held }: Shown): NextShown {
  // Nothing to change: the same list, which re-renders nothing.
  if (held.length === 0 && shown.length <= MAX_SHOWN) return { shown, held, trimmed: false };
  const all = mergeMessages(shown, held);
  if (all.length <= MAX_SHOWN) return { shown: all, held: [], trimmed: false };
  return { shown: all.slice(-MAX_SHOWN), held: [], trimmed: true };
}
