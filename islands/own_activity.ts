/**
 * What the visitor does in a room, in this tab and in this browser's other tabs on it: the
 * messages they sent and when they last typed. Names cannot tell the visitor's messages from
 * others' (someone else may pick the same name), and every tab of a browser speaks for the same
 * session, so tabs tell each other over a `BroadcastChannel`.
 *
 * @module
 */
import { type ReadonlySignal, useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";

/** How many sent ids are kept waiting to come back; older ones are forgotten first. */
const MAX_PENDING_IDS = 500;
/** How often a tab tells the others that its visitor is typing, at most. */
const TYPING_BROADCAST_MS = 1_000;
/**
 * How long after the visitor last typed their own name may still be in a room's typing list: the
 * server drops a spell 5 s after its last signal, a second or so later everywhere.
 */
const OWN_TYPING_MS = 8_000;
/**
 * How long after a send the room's typing list may still hold the spell the send ended: until
 * the server's next list comes, the visitor's name is left out of it as while typing.
 */
const AFTER_SEND_MS = 1_500;

/** The visitor's own activity in a room; see {@link useOwnActivity}. */
export interface OwnActivity {
  /** Notes a message sent from this tab under `id`; sending ends the visitor's typing (soon). */
  sent(id: string): void;
  /** Whether the message with `id` is the visitor's own; it is forgotten as it is asked about. */
  claim(id: string): boolean;
  /** Forgets a message that will not come back (discarded, or delivered in a resync). */
  forget(id: string): void;
  /** Notes that the visitor typed, in this tab. */
  typed(): void;
  /**
   * Whether the visitor typed recently enough, in any tab, to be in the room's typing list (or
   * sent a message so recently that the list may not say yet that the spell ended).
   */
  typing: ReadonlySignal<boolean>;
}

/** Tracks the visitor's own activity in `room` across this browser's tabs on it. */
export function useOwnActivity(room: string): OwnActivity {
  const ids = useRef(new Set<string>());
  const typing = useSignal(false);
  const typedAt = useRef(0);
  const typingEnds = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const told = useRef(0);
  const channel = useRef<BroadcastChannel | null>(null);
  /** The visitor typed at `at` (in this tab or another): typing until the window after it ends. */
  const typedUntil = (at: number) => {
    typedAt.current = Math.max(typedAt.current, at);
    const left = typedAt.current + OWN_TYPING_MS - Date.now();
    if (left <= 0) return;
    typing.value = true;
    clearTimeout(typingEnds.current);
    typingEnds.current = setTimeout(() => (typing.value = false), left);
  };
  /**
   * A message was sent: the server ends the session's spell of typing, in every tab, and says so
   * in its next typing list; the name is left out until then.
   */
  const stoppedTyping = () => {
    typedAt.current = 0;
    clearTimeout(typingEnds.current);
    if (!typing.value) return;
    typingEnds.current = setTimeout(() => (typing.value = false), AFTER_SEND_MS);
  };
  useEffect(() => {
    if (typeof BroadcastChannel === "undefined") return;
    const tabs = new BroadcastChannel(`parley:room:${room}`);
    tabs.onmessage = ({ data }) => {
      if (typeof data?.sent === "string") {
        keep(ids.current, data.sent);
        stoppedTyping();
      }
      if (typeof data?.typedAt === "number") typedUntil(data.typedAt);
    };
    channel.current = tabs;
    return () => {
      channel.current = null;
      tabs.close();
      clearTimeout(typingEnds.current);
    };
  }, [room]);
  return {
    sent(id) {
      keep(ids.current, id);
      stoppedTyping();
      channel.current?.postMessage({ sent: id });
    },
    claim: (id) => ids.current.delete(id),
    forget: (id) => void ids.current.delete(id),
    typed() {
      const now = Date.now();
      typedUntil(now);
      if (now - told.current < TYPING_BROADCAST_MS) return;
      told.current = now;
      channel.current?.postMessage({ typedAt: now });
    },
    typing,
  };
}

function keep(ids: Set<string>, id: string): void {
  ids.add(id);
  if (ids.size > MAX_PENDING_IDS) ids.delete(ids.values().next().value!);
}
