/**
 * What the visitor does in a room, in this tab and in this browser's other tabs on it: the
 * messages they sent and when they last typed. Names cannot tell the visitor's messages from
 * others' (someone else may pick the same name), and every tab of a browser speaks for the same
 * session, so tabs tell each other over a `BroadcastChannel`.
 *
 * @module
 */
import { useEffect, useRef } from "preact/hooks";

/** How many sent ids are kept waiting to come back; older ones are forgotten first. */
const MAX_PENDING_IDS = 500;
/** How often a tab tells the others that its visitor is typing, at most. */
const TYPING_BROADCAST_MS = 1_000;

/** The visitor's own activity in a room; see {@link useOwnActivity}. */
export interface OwnActivity {
  /** Notes a message sent from this tab under `id`. */
  sent(id: string): void;
  /** Whether the message with `id` is the visitor's own; it is forgotten as it is asked about. */
  claim(id: string): boolean;
  /** Forgets a message that will not come back (discarded, or delivered in a resync). */
  forget(id: string): void;
  /** Notes that the visitor typed, in this tab. */
  typed(): void;
  /** How long ago the visitor last typed in any tab, in ms. */
  sinceTyped(): number;
}

/** Tracks the visitor's own activity in `room` across this browser's tabs on it. */
export function useOwnActivity(room: string): OwnActivity {
  const ids = useRef(new Set<string>());
  const typedAt = useRef(0);
  const told = useRef(0);
  const channel = useRef<BroadcastChannel | null>(null);
  useEffect(() => {
    if (typeof BroadcastChannel === "undefined") return;
    const tabs = new BroadcastChannel(`parley:room:${room}`);
    tabs.onmessage = ({ data }) => {
      if (typeof data?.sent === "string") keep(ids.current, data.sent);
      if (typeof data?.typedAt === "number") {
        typedAt.current = Math.max(typedAt.current, data.typedAt);
      }
    };
    channel.current = tabs;
    return () => {
      channel.current = null;
      tabs.close();
    };
  }, [room]);
  return {
    sent(id) {
      keep(ids.current, id);
      channel.current?.postMessage({ sent: id });
    },
    claim: (id) => ids.current.delete(id),
    forget: (id) => void ids.current.delete(id),
    typed() {
      const now = Date.now();
      typedAt.current = now;
      if (now - told.current < TYPING_BROADCAST_MS) return;
      told.current = now;
      channel.current?.postMessage({ typedAt: now });
    },
    sinceTyped: () => Date.now() - typedAt.current,
  };
}

function keep(ids: Set<string>, id: string): void {
  ids.add(id);
  if (ids.size > MAX_PENDING_IDS) ids.delete(ids.values().next().value!);
}
