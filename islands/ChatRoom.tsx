import { useComputed, useSignal, useSignalEffect } from "@preact/signals";
import { useEffect, useLayoutEffect, useMemo, useRef } from "preact/hooks";
import {
  type ChatConnection,
  connect,
  type ConnectionStatus,
  isOwnMessage,
  type OnlinePerson,
  type OutboxItem,
  type TransportName,
} from "../lib/client.ts";
import type { Speaker } from "../lib/session.ts";
import type { Message } from "../lib/types.ts";
import { MAX_TEXT_LENGTH, parseAuthor, parseText } from "../lib/validation.ts";
import { fetchOlder, OLDER_PAGE_SIZE } from "../lib/ui/history.ts";
import {
  announcement,
  layoutMessages,
  mayHaveOlder,
  mergeMessages,
  resyncAnnouncement,
  sameNames,
  sharedNames,
} from "../lib/ui/messages.ts";
import {
  cleanPeople,
  onlineNames,
  samePeople,
  sharedOnlineNames,
  stillTyping,
  typingLine,
} from "../lib/ui/people.ts";
import { type NextShown, takeIn, toNewest } from "../lib/ui/shown.ts";
import { describeStatus } from "../lib/ui/status.ts";
import { LOCAL_CLOCK, UTC_CLOCK } from "../lib/ui/time.ts";
import { Composer } from "./composer.tsx";
import { type HistoryState, MessageList } from "./message_list.tsx";
import { useOwnActivity } from "./own_activity.ts";
import { RoomHeader, StatusBanner } from "./room_header.tsx";
import { TypingLine } from "./typing_line.tsx";
import { keepUnsent, keptDraft, keptUnsent, useTabMemory } from "./tab_memory.ts";

/** Props of the chat island, serialised into the page by the room route. */
export interface Props {
  room: { id: string; title: string; epoch: string };
  /** The latest messages, oldest first, as server-rendered. */
  messages: Message[];
  /** Force a transport (from `?transport=`); otherwise the client picks. */
  transport?: TransportName;
  /** The visitor's display name and author id in the room, if they have a session. */
  speaker?: Speaker;
}

const NAME_KEY = "parley:name";

/** Why the server would refuse `value` (`parse` holds its rules), or undefined when it would not. */
function refusal(parse: (value: string) => unknown, value: string): string | undefined {
  try {
    parse(value);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Why the trimmed message text cannot be sent, or undefined when it can. */
function textProblem(text: string): string | undefined {
  const length = [...text].length;
  if (length > MAX_TEXT_LENGTH) {
    return `The message is ${length.toLocaleString("en")} characters, ` +
      `the limit is ${MAX_TEXT_LENGTH.toLocaleString("en")}: shorten it to send it`;
  }
  return refusal(parseText, text);
}

/** Why a display name cannot be used, or undefined when it can. */
function nameProblem(name: string): string | undefined {
  return refusal(parseAuthor, name);
}

/**
 * A name stored in this browser (by this page, another tab or an older page) as the server
 * stamps it, or undefined if there is none or the server would refuse it.
 */
function storedName(name: string | null): string | undefined {
  return name !== null && nameProblem(name) === undefined ? parseAuthor(name) : undefined;
}

/**
 * What the visitor typed into a server-rendered field before hydration, which hydration may
 * clear: read while the island first renders, before its fields are patched ("" on the server).
 */
function typedBeforeHydration(selector: string): string {
  if (typeof document === "undefined") return "";
  const field = document.querySelector(selector);
  return field instanceof HTMLTextAreaElement || field instanceof HTMLInputElement
    ? field.value
    : "";
}

/**
 * Whether the visitor is away from the room: its tab is hidden, or its window is behind another
 * (or the visitor is in another application). Arrivals meanwhile count as unread in the title.
 */
function isAway(): boolean {
  return document.visibilityState === "hidden" || !document.hasFocus();
}

/** Within this distance of the bottom the list counts as showing the newest message. */
const FOLLOW_SLACK_PX = 48;
/** Older messages load when the top of the list comes this close. */
const LOAD_AHEAD_PX = 400;

/**
 * The live chat for one room: heading with who is online, connection banner, messages grouped
 * by author and day with history paging, typing indicator and composer.
 */
export default function ChatRoom({ room, messages: initial, transport, speaker: visitor }: Props) {
  const sessionName = visitor?.name;
  const messages = useSignal(initial);
  const outbox = useSignal<OutboxItem[]>([]);
  const status = useSignal<ConnectionStatus>({
    state: "connecting",
    transport: transport ?? "ws",
  });
  const name = useSignal(sessionName ?? "");
  // The author id the visitor's messages carry in this room: from the page, then from each
  // connection as it opens (a new session has a new one).
  const authorId = useSignal(visitor?.authorId);
  // Text typed before the script ran is in the server-rendered fields; hydration may clear them.
  const [typedName, typedDraft] = useMemo(
    () => [
      typedBeforeHydration('input[name="name"]').trim(),
      // Else what this tab had in the box when its last page of the room went (a reload, say).
      typedBeforeHydration("#composer-text") || keptDraft(room.id),
    ],
    [],
  );
  const draft = useSignal(typedDraft);
  // What the name field shows. It follows every keystroke, so a render while a name is being typed
  // (a message arriving, say) keeps the half-typed name instead of putting the chosen one back.
  const nameText = useSignal(typedName || (sessionName ?? ""));
  const notice = useSignal("");
  /** The notice is about the text in the box: it follows the text as it is edited. */
  const textNotice = useSignal(false);
  /**
   * Shows a notice under the composer (none: ""); one `aboutText` is kept up to date as the text
   * is edited.
   */
  const tell = (text: string, { aboutText = false } = {}) => {
    notice.value = text;
    textNotice.value = aboutText;
  };
  const nameInvalid = useSignal(false);
  const hydrated = useSignal(false);
  const networkOnline = useSignal(true);
  const now = useSignal(Date.now());
  const history = useSignal<HistoryState>(mayHaveOlder(initial) ? "idle" : "done");
  const atBottom = useSignal(true);
  const unseen = useSignal(0);
  const unread = useSignal(0);
  const online = useSignal<OnlinePerson[] | null>(null);
  const typing = useSignal<OnlinePerson[]>([]);
  const announced = useSignal("");

  const scroller = useRef<HTMLDivElement>(null);
  const keptScroll = useRef<number | null>(null);
  /** Focus was on "Load older messages" as the last page came: it goes to the history's start. */
  const focusHistoryStart = useRef(false);
  const nameInput = useRef<HTMLInputElement>(null);
  const textInput = useRef<HTMLTextAreaElement>(null);
  /** The kind of pointer pressing the new-messages button ("touch", "mouse"; "": none, a key). */
  const jumpPointer = useRef("");
  const connection = useRef<ChatConnection | null>(null);
  /** Newer messages held back from the list while the reader is up in it (see `takeIn`). */
  const held = useRef<Message[]>([]);
  /** Messages sent after a rename, before the connection under the new name replaced the old. */
  const afterRename = useRef<string[]>([]);
  const own = useOwnActivity(room.id);

  // The server and the first client render use UTC; the visitor's own clock after that.
  const clock = useComputed(() => hydrated.value ? LOCAL_CLOCK : UTC_CLOCK);
  const rows = useComputed(() => layoutMessages(messages.value, clock.value));
  const banner = useComputed(() =>
    describeStatus(status.value, { now: now.value, online: networkOnline.value })
  );
  /** The connection closed for good (the room is gone): nothing can be sent or sent again. */
  const closed = useComputed(() => status.value.state === "closed");
  /**
   * Whether the page is live: who is online and typing is known only then (offline, the lists are
   * not shown), and messages are sent rather than waiting to be.
   */
  const peopleKnown = useComputed(() => banner.value.tone === "live");
  /** Who the header shows online: nobody until the page is live and the server has said. */
  const shownOnline = useComputed(() => peopleKnown.value ? online.value : null);
  /**
   * Names that several sessions (authors of the messages shown, people online and typing, and the
   * visitor as soon as their session is known) have or look like: the message list, the online
   * list and the typing line all tell them apart with tags.
   */
  const lastShared = useRef<ReadonlySet<string>>(new Set());
  const shared = useComputed(() => {
    const people = online.value ?? [];
    const asAuthor = ({ name, authorId }: OnlinePerson) => ({ author: name, authorId });
    const self = { author: name.value, authorId: authorId.value };
    const next = sharedNames(
      [...messages.value, self, ...people.map(asAuthor), ...typing.value.map(asAuthor)],
      sharedOnlineNames(onlineNames(people.map((person) => person.name))),
    );
    // The same names as before stay the same set: someone starting or stopping typing, which
    // recomputes it, then re-renders no message.
    if (!sameNames(next, lastShared.current)) lastShared.current = next;
    return lastShared.current;
  });
  // The visitor's own session is left out by its author id, so someone else of their name typing
  // is shown. From a server that gives typists no ids, their name is left out once, only while
  // they are typing (in any tab).
  const typingParts = useComputed(() =>
    peopleKnown.value
      ? typingLine(typing.value, shared.value, {
        authorId: authorId.value,
        name: own.typing.value ? name.value : "",
      })
      : []
  );

  /**
   * Takes what the visitor left in the name field: a new name is chosen, while nothing (or the
   * name in use) puts the name in use back in the field.
   */
  const commitName = (text: string) => {
    const next = text.trim();
    if (next && next !== name.value) chooseName(next);
    else nameText.value = name.value;
  };

  /**
   * Takes a display name the visitor chose: remembered in this browser, and used from now on; or,
   * if the server would refuse it, says why and leaves the visitor in the name field.
   */
  const chooseName = (typed: string) => {
    if (typed === name.value) return;
    const problem = nameProblem(typed);
    nameInvalid.value = problem !== undefined;
    if (problem !== undefined) {
      tell(`${problem}: pick another`);
      nameInput.current?.focus();
      return;
    }
    // As the server will stamp it (spaces that look alike made one).
    const next = parseAuthor(typed);
    localStorage.setItem(NAME_KEY, next);
    name.value = next;
    nameText.value = next;
    tell("");
  };

  useEffect(() => {
    // No handler saw a name typed before the script ran: one that differs from the name rendered
    // wins over the remembered one.
    if (typedName && typedName !== (sessionName ?? "")) chooseName(typedName);
    else name.value = sessionName ?? storedName(localStorage.getItem(NAME_KEY)) ?? "";
    // Unless the visitor has started typing one meanwhile, the field shows the name in use.
    if (!nameText.value) nameText.value = name.value;
    networkOnline.value = navigator.onLine;
    hydrated.value = true;
    // A draft in the box (kept over a reload, or typed before the script ran) was being typed a
    // moment ago: the room's typing list may still hold that spell, which is the visitor's own.
    if (draft.value.trim()) own.typed();
    const onNetwork = () => (networkOnline.value = navigator.onLine);
    // Back in the window, whether its tab was shown again or the window came forward.
    const onReturn = () => {
      if (!isAway()) unread.value = 0;
    };
    // Another tab of this browser chose a name, and with it the session cookie every tab sends:
    // this tab speaks under it too, and says so, rather than showing a name it no longer uses.
    const onStorage = (event: StorageEvent) => {
      const next = event.key === NAME_KEY ? storedName(event.newValue) : undefined;
      if (next === undefined || next === name.value) return;
      // A name being typed here is left in the field, to be chosen or not.
      if (nameText.value === name.value || nameInvalid.value) nameText.value = next;
      // A notice about the name (refused, or missing) no longer holds.
      if (nameInvalid.value || !name.value) tell("");
      name.value = next;
      nameInvalid.value = false;
    };
    // Day labels ("Today") follow the clock; the reconnect countdown ticks faster below.
    const minutes = setInterval(() => (now.value = Date.now()), 60_000);
    globalThis.addEventListener("online", onNetwork);
    globalThis.addEventListener("offline", onNetwork);
    document.addEventListener("visibilitychange", onReturn);
    globalThis.addEventListener("focus", onReturn);
    globalThis.addEventListener("storage", onStorage);
    return () => {
      globalThis.removeEventListener("storage", onStorage);
      globalThis.removeEventListener("online", onNetwork);
      globalThis.removeEventListener("offline", onNetwork);
      document.removeEventListener("visibilitychange", onReturn);
      globalThis.removeEventListener("focus", onReturn);
      clearInterval(minutes);
    };
  }, []);

  useTabMemory(room.id, { draft, outbox, hydrated });

  // The unread count leads the tab title while the visitor is away (see `isAway`).
  const baseTitle = `${room.title} · Parley`;
  useSignalEffect(() => {
    if (!hydrated.value) return;
    document.title = unread.value > 0 ? `(${unread.value}) ${baseTitle}` : baseTitle;
  });

  // The countdown to the next try ticks each second.
  useSignalEffect(() => {
    if (status.value.retryAt === undefined) return;
    now.value = Date.now();
    const timer = setInterval(() => (now.value = Date.now()), 1000);
    return () => clearInterval(timer);
  });

  // After the list changes, older messages loaded above keep the view where it was; otherwise a
  // reader at the newest stays there (a sent message swapping its pending row for the stored one
  // could otherwise leave the view a row above the newest).
  useLayoutEffect(() => {
    const element = scroller.current;
    if (element && keptScroll.current !== null) element.scrollTop = keptScroll.current;
    // The scroller is a reversed column: 0 is the newest.
    else if (element && atBottom.value) element.scrollTop = 0;
    keptScroll.current = null;
  }, [messages.value, outbox.value]);

  useLayoutEffect(() => {
    if (!focusHistoryStart.current) return;
    focusHistoryStart.current = false;
    document.getElementById("history-start")?.focus();
  }, [history.value]);

  const isAtBottom = (): boolean => {
    const element = scroller.current;
    // The scroller is a reversed column: 0 is the bottom, scrolling up goes negative.
    return !element || Math.abs(element.scrollTop) < FOLLOW_SLACK_PX;
  };

  /** Says `text` in the polite live region, even when it is what it said last ("ok", "ok"). */
  const announce = (text: string) => {
    // A region whose text does not change says nothing: a no-break space makes it change.
    announced.value = text === announced.value ? `${text}\u00a0` : text;
  };

  /** Shows what the list keeps now; dropped older messages can be loaded again. */
  const show = (next: NextShown) => {
    held.current = next.held;
    messages.value = next.shown;
    if (next.trimmed) history.value = "idle";
  };

  /** Back at the newest: what was held back is shown, and the list only keeps the latest. */
  const reachNewest = () => {
    atBottom.value = true;
    unseen.value = 0;
    show(toNewest({ shown: messages.value, held: held.current }));
  };

  const jumpToNewest = () => {
    const element = scroller.current;
    // Past-the-end values clamp to the bottom, in reversed and ordinary scrollers alike.
    if (element) element.scrollTop = element.scrollHeight;
    reachNewest();
  };

  /**
   * Which of `fresh`, just put in the list, others sent. They count as unseen unless the reader
   * follows the newest, and as unread while the visitor is away, and they end their senders' typing.
   */
  const fromOthersIn = (fresh: Message[], following: boolean): Message[] => {
    // A message with the session's author id is the visitor's, from this tab or another (whose
    // word of it may come after it); one without (stored before author ids) is theirs if this
    // browser sent its id. Each sent id comes back once and is forgotten as it does. Another's
    // message under an id the visitor sent is another's (see `isOwnMessage`).
    const mine = (message: Message) => {
      const sent = own.claim(message.id);
      return message.authorId === undefined ? sent : message.authorId === authorId.value;
    };
    const fromOthers = fresh.filter((message) => !mine(message));
    if (fromOthers.length === 0) return fromOthers;
    if (!following) unseen.value += fromOthers.length;
    if (isAway()) unread.value += fromOthers.length;
    // A message ends its sender's spell of typing, shown here at once where its author id (or, from
    // a server without typists' ids, a name no one else online has) tells whose.
    typing.value = stillTyping(typing.value, fromOthers, online.value ?? []);
    return fromOthers;
  };

  const receive = (fresh: Message[]) => {
    const following = isAtBottom();
    show(takeIn({ shown: messages.value, held: held.current }, fresh, { following }));
    const fromOthers = fromOthersIn(fresh, following);
    if (fromOthers.length > 0) announce(announcement(fromOthers));
  };

  // The connection follows the name and hydration as this render saw them. Read inside the effect,
  // the signals could already hold a change this render's deps had not: the page then connected,
  // and at once connected again for the render that change caused.
  const live = hydrated.value;
  const speaker = name.value;
  useEffect(() => {
    if (!live) return;
    const after = connection.current?.last ?? initial.at(-1)?.seq ?? 0;
    const lastId = connection.current ? connection.current.lastId : initial.at(-1)?.id;
    const pending = connection.current?.outbox ?? [];
    const first = connection.current === null;
    connection.current?.close();
    const epoch = connection.current?.epoch ?? room.epoch;
    // A page that was live reconnects under its new name, and its banner says so.
    const wasLive = connection.current?.wasLive ?? false;
    // Each connection confirms the session under the current name (creating or renaming it).
    const chat = connect(room.id, {
      name: speaker || undefined,
      after,
      lastId,
      epoch,
      transport,
      wasLive,
    });
    connection.current = chat;
    const showStatus = (next: ConnectionStatus) => {
      // The banner counts down from now: the clock may have been left minutes behind.
      now.value = Date.now();
      status.value = next;
      // Known as it opens: a first message's row has its colour before it comes back.
      if (chat.authorId !== undefined) authorId.value = chat.authorId;
      // Who is online and typing is only known while live: the next connection says again.
      if (next.state !== "live") {
        typing.value = [];
        online.value = null;
      }
    };
    // The last connection's "Live" no longer holds: what is sent now waits for this one.
    showStatus(chat.status);
    const unsubscribe = [
      chat.on("status", showStatus),
      chat.on("outbox", (items) => {
        outbox.value = items;
        keepUnsent(room.id, items);
      }),
      chat.on("resync", (latest) => {
        // What the list did not have yet counts as arrived, like any other arrival.
        const known = new Set([...messages.value, ...held.current].map((message) => message.id));
        const fromOthers = fromOthersIn(latest.filter((message) => !known.has(message.id)), true);
        for (const message of latest) own.forget(message.id);
        held.current = [];
        messages.value = latest;
        history.value = mayHaveOlder(latest) ? "idle" : "done";
        // What the reader was reading, and what the new-messages button counted, is gone from the
        // list: it opens at the newest, as a fresh page would.
        jumpToNewest();
        announce(resyncAnnouncement(fromOthers));
      }),
      chat.on("messages", receive),
      chat.on("presence", (_names, people) => {
        // Presence also changes as people type: the same people online leave the lists as they are.
        const next = cleanPeople(people);
        if (!samePeople(online.value, next)) online.value = next;
      }),
      // The server drops a name about 5 s after that person's last keystroke.
      chat.on("typing", (_names, people) => (typing.value = cleanPeople(people))),
    ];
    for (const item of pending) chat.send(item.text, item.id);
    for (const text of afterRename.current.splice(0)) own.sent(chat.send(text));
    // The first connection sends again what this tab's last page of the room left unsent.
    if (first) {
      const shown = new Map(initial.map((message) => [message.id, message]));
      for (const item of keptUnsent(room.id)) {
        // Stored already if the page shows it; someone else's message under its id does not count.
        const stored = shown.get(item.id);
        if (stored && isOwnMessage(stored, item.text, authorId.value)) continue;
        own.sent(chat.send(item.text, item.id));
      }
      // What the page already shows is not kept for the next page to send again.
      keepUnsent(room.id, chat.outbox);
    }
    return () => {
      for (const off of unsubscribe) off();
      chat.close();
    };
  }, [live, speaker]);

  const loadOlder = async () => {
    if (history.value === "loading" || history.value === "done") return;
    const first = messages.value[0];
    if (first === undefined) return void (history.value = "done");
    history.value = "loading";
    // A resync, or a return to the newest that let the list's top go, replaces the list while the
    // page is on its way: it then joins nothing, and what replaced the list says what is older.
    const replaced = () => messages.value[0] !== first;
    try {
      const page = await fetchOlder(room.id, first.seq, { limit: OLDER_PAGE_SIZE });
      if (replaced()) return;
      const epoch = connection.current?.epoch ?? room.epoch;
      // History from another epoch of the log does not belong above these messages.
      if (page.epoch !== epoch) return void (history.value = "idle");
      // Older messages go above: keep the distance from the bottom, so nothing moves.
      keptScroll.current = scroller.current?.scrollTop ?? null;
      const before = messages.value.length;
      messages.value = mergeMessages(page.messages, messages.value);
      const loaded = messages.value.length - before;
      announce(
        loaded === 0
          ? "Older messages are no longer kept"
          : loaded === 1
          ? "1 older message loaded"
          : `${loaded} older messages loaded`,
      );
      const done = page.messages.length < OLDER_PAGE_SIZE || !mayHaveOlder(page.messages);
      // The button goes away with the last page: focus on it goes to what replaces it.
      focusHistoryStart.current = done &&
        document.activeElement?.classList.contains("load-older") === true;
      history.value = done ? "done" : "idle";
    } catch {
      if (replaced()) return;
      history.value = "error";
      // Said as a success is: the button keeps the focus, and its new name is not read out.
      announce("Older messages could not be loaded");
    }
  };

  const onScroll = () => {
    const element = scroller.current;
    if (!element) return;
    const fromBottom = Math.abs(element.scrollTop);
    if (fromBottom < FOLLOW_SLACK_PX) reachNewest();
    else atBottom.value = false;
    const fromTop = element.scrollHeight - element.clientHeight - fromBottom;
    if (fromTop < LOAD_AHEAD_PX && history.value === "idle") loadOlder();
  };

  /** Drops a failed message; the row and its focused button go, so focus goes to the box. */
  const discard = (id: string) => {
    connection.current?.discard(id);
    own.forget(id);
    textInput.current?.focus();
  };

  const send = () => {
    const text = draft.value.trim();
    if (!name.value || nameInvalid.value) {
      if (!nameInvalid.value) tell("Pick a display name first");
      nameInput.current?.focus();
      return;
    }
    if (!text) {
      // Send looks disabled with nothing (or only spaces) in the box: it leads to the box.
      textInput.current?.focus();
      return;
    }
    // Closed for good: Send is disabled, and Enter does nothing either.
    if (!connection.current || closed.value) return;
    // Refused here, it stays in the box to be fixed; the visitor is still typing it.
    const problem = textProblem(text);
    if (problem) {
      tell(problem, { aboutText: true });
      return;
    }
    tell("");
    // The server stamps a message with the name its connection was opened under: one sent just
    // after a rename waits for the connection under the new name.
    if (connection.current.name === name.value) own.sent(connection.current.send(text));
    else afterRename.current.push(text);
    draft.value = "";
    jumpToNewest();
    // Sent with the button, the next message is typed in the box (and a phone keeps its keyboard).
    textInput.current?.focus();
  };

  return (
    <>
      <RoomHeader
        title={room.title}
        id={room.id}
        online={shownOnline}
        shared={shared.value}
        self={authorId.value}
      />
      <section
        class="chat"
        aria-label={`Chat in ${room.title}`}
        onKeyDown={(event) => {
          if (event.key !== "Escape" || event.defaultPrevented || event.isComposing) return;
          // Focus on a message link would be left behind above the view, and on the new-messages
          // button would go with it: it goes to the message box.
          const focused = document.activeElement;
          const follows = scroller.current?.contains(focused) ||
            focused?.classList.contains("jump");
          jumpToNewest();
          if (follows) textInput.current?.focus();
        }}
      >
        <StatusBanner banner={banner.value} onRetry={() => connection.current?.reconnectNow()} />
        <div class="chat-body">
          <MessageList
            roomTitle={room.title}
            rows={rows.value}
            lastMessage={messages.value.at(-1)}
            outbox={outbox.value}
            waiting={!peopleKnown.value}
            shared={shared.value}
            self={{ author: name.value, authorId: authorId.value }}
            clock={clock.value}
            now={now.value}
            history={history.value}
            interactive={hydrated.value}
            scrollerRef={scroller}
            onScroll={onScroll}
            onLoadOlder={loadOlder}
            // Closed for good, a retry could only fail again.
            onRetry={closed.value ? undefined : (id) => {
              connection.current?.retry(id);
              // The row's buttons go as it is sent again: focus goes to the box, not the page.
              textInput.current?.focus();
            }}
            onEdit={(id) => {
              const text = outbox.value.find((item) => item.id === id)?.text;
              if (text === undefined) return;
              // After whatever is being typed now, so nothing typed is lost.
              draft.value = draft.value.trim() ? `${draft.value}\n${text}` : text;
              discard(id);
            }}
            onDiscard={discard}
          />
          {unseen.value > 0 && !atBottom.value && (
            <button
              type="button"
              class="jump"
              // Read on the way down: not every browser's click says which pointer made it.
              onPointerDown={(event) => (jumpPointer.current = event.pointerType)}
              onClick={() => {
                jumpToNewest();
                // The button goes away: focus goes where the reader is headed, not to the page. A
                // finger goes to the list, as focus in the box would bring up the keyboard over it.
                const touch = jumpPointer.current === "touch";
                jumpPointer.current = "";
                (touch ? scroller : textInput).current?.focus();
              }}
            >
              {unseen.value === 1 ? "1 new message" : `${unseen.value} new messages`}
              <span aria-hidden="true">↓</span>
            </button>
          )}
        </div>
        <TypingLine parts={typingParts} />
        <p class="visually-hidden" aria-live="polite" aria-atomic="true">{announced.value}</p>
        <Composer
          roomTitle={room.title}
          nameText={nameText.value}
          draft={draft}
          notice={notice.value}
          nameInvalid={nameInvalid.value}
          textInvalid={textNotice.value && notice.value !== ""}
          // Closed for good, nothing can be sent: the banner says why.
          interactive={hydrated.value && !closed.value}
          nameRef={nameInput}
          textRef={textInput}
          onNameText={(text) => {
            nameText.value = text;
            nameInvalid.value = false;
          }}
          onName={commitName}
          onDraft={(text) => {
            draft.value = text;
            // A notice about the text follows it until it is sent or cleared: updated as it is
            // edited, gone while it would do, back if it would not again.
            const trimmed = text.trim();
            if (textNotice.value) {
              tell(trimmed && (textProblem(trimmed) ?? ""), { aboutText: trimmed !== "" });
            }
            if (!trimmed) return;
            connection.current?.typing();
            own.typed();
          }}
          onSend={send}
        />
      </section>
    </>
  );
}
