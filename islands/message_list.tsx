/**
 * The message list of the chat island: day dividers, author groups, the outbox's pending
 * messages, and the "load older messages" control at the top. Plain function components; the
 * island owns every piece of state.
 *
 * @module
 */
import type { Ref } from "preact";
import type { OutboxItem } from "../lib/client.ts";
import type { Message } from "../lib/types.ts";
import { tokenize } from "../lib/ui/linkify.ts";
import {
  type Author,
  authorTag,
  continuesGroup,
  describeFailure,
  type ListRow,
} from "../lib/ui/messages.ts";
import { avatarHue, initial } from "../lib/ui/people.ts";
import { TaggedName } from "./author_tag.tsx";
import { type Clock, dayLabel, fullTime, timeOfDay } from "../lib/ui/time.ts";

/** Where paging back through history stands. */
export type HistoryState = "idle" | "loading" | "done" | "error";

/** Props of {@link MessageList}. */
export interface MessageListProps {
  roomTitle: string;
  rows: ListRow[];
  /** The last message shown, which a pending message may continue the group of. */
  lastMessage: Message | undefined;
  outbox: OutboxItem[];
  /** True while the page is not live: the outbox's messages wait to be sent. */
  waiting: boolean;
  /** Names whose authors are told apart with tags (see `sharedNames`), as the header does. */
  shared: ReadonlySet<string>;
  /** The visitor's display name and session's public id, which pending messages are shown under. */
  self: Author;
  clock: Clock;
  now: number;
  history: HistoryState;
  /** False until hydrated: controls that need the script stay disabled before. */
  interactive: boolean;
  scrollerRef: Ref<HTMLDivElement>;
  onScroll: () => void;
  onLoadOlder: () => void;
  /** Sends a failed message again; none once nothing can be sent (the room is gone). */
  onRetry?: (id: string) => void;
  /** Puts a refused message's text back in the message box to be edited (and drops it). */
  onEdit: (id: string) => void;
  onDiscard: (id: string) => void;
}

/**
 * The scrolling list. The scroller is a reversed flex column, so it starts at the newest
 * message before any script runs and keeps its place when older messages are prepended.
 */
export function MessageList(props: MessageListProps) {
  const { rows, outbox, self, shared, clock, now } = props;
  // `now` ticks only once a minute: the last message may be later (its day is "Today" just after
  // midnight), and a pending message will be stored after it.
  const latest = Math.max(now, props.lastMessage?.at ?? now);
  const empty = rows.length === 0 && outbox.length === 0;
  return (
    <div
      class="scroller"
      ref={props.scrollerRef}
      onScroll={props.onScroll}
      tabIndex={0}
      role="region"
      aria-label="Messages"
    >
      <div class="scroller-content">
        {!empty && (
          <HistoryTop
            roomTitle={props.roomTitle}
            // History that starts after seq 1: retention deleted what came before.
            trimmed={(rows.find((row) => row.kind === "message")?.message.seq ?? 1) > 1}
            state={props.history}
            interactive={props.interactive}
            onLoadOlder={props.onLoadOlder}
          />
        )}
        <ol class="messages">
          {empty && <li class="empty">No messages yet. Say hello!</li>}
          {rows.map((row) =>
            row.kind === "day"
              ? <DayDivider key={`day-${row.day}`} day={row.day} now={latest} clock={clock} />
              : (
                <MessageItem
                  key={row.message.seq}
                  message={row.message}
                  first={row.first}
                  tag={authorTag(row.message, shared)}
                  clock={clock}
                />
              )
          )}
          {outbox.map((item, index) => (
            <PendingItem
              key={item.id}
              item={item}
              author={self}
              tag={authorTag(self, shared)}
              waiting={props.waiting}
              first={index === 0 &&
                !continuesGroup(props.lastMessage, { ...self, at: latest }, clock)}
              onRetry={props.onRetry && (() => props.onRetry!(item.id))}
              onEdit={() => props.onEdit(item.id)}
              onDiscard={() => props.onDiscard(item.id)}
            />
          ))}
        </ol>
      </div>
    </div>
  );
}

function HistoryTop(
  { roomTitle, trimmed, state, interactive, onLoadOlder }: {
    roomTitle: string;
    trimmed: boolean;
    state: HistoryState;
    interactive: boolean;
    onLoadOlder: () => void;
  },
) {
  if (state === "done") {
    // Focusable from script: focus moves here from the button it replaces.
    return (
      <p class="history-top history-start" id="history-start" tabIndex={-1}>
        {trimmed
          ? "Older messages are no longer kept: the room keeps only its latest ones."
          : `This is the start of ${roomTitle}.`}
      </p>
    );
  }
  const loading = state === "loading";
  return (
    <div class="history-top">
      {state === "error" && <span class="history-error">Older messages could not be loaded.</span>}
      {/* While loading it stays focusable (aria-disabled, not disabled), so focus is not lost. */}
      <button
        type="button"
        class="load-older"
        disabled={!interactive}
        aria-disabled={loading}
        aria-busy={loading}
        onClick={() => loading || onLoadOlder()}
      >
        {loading
          ? "Loading older messages…"
          : state === "error"
          ? "Try again"
          : "Load older messages"}
      </button>
    </div>
  );
}

function DayDivider({ day, now, clock }: { day: string; now: number; clock: Clock }) {
  return (
    <li class="day-divider">
      <h2>
        <time dateTime={day}>{dayLabel(day, now, clock)}</time>
      </h2>
    </li>
  );
}

/** An author's initial, coloured by their session where the message says which it is. */
function Avatar({ author }: { author: Author }) {
  return (
    <span class={`avatar hue-${avatarHue(author.authorId ?? author.author)}`} aria-hidden="true">
      {initial(author.author)}
    </span>
  );
}

function Timestamp({ at, clock, class: className }: { at: number; clock: Clock; class?: string }) {
  return (
    <time class={className} dateTime={new Date(at).toISOString()} title={fullTime(at, clock)}>
      {timeOfDay(at, clock)}
    </time>
  );
}

/**
 * An author's name, with the tag that tells them apart when someone else here has the name. A
 * follow-on message names its author for screen readers only.
 */
function AuthorName({ name, tag, hidden }: { name: string; tag: string; hidden?: boolean }) {
  if (hidden) return <span class="author visually-hidden">{tag ? `${name} ${tag}` : name}</span>;
  return <TaggedName name={name} tag={tag} nameClass="author" />;
}

function MessageItem(
  { message, first, tag, clock }: {
    message: Message;
    first: boolean;
    tag: string;
    clock: Clock;
  },
) {
  if (first) {
    return (
      <li class="message first" data-seq={message.seq}>
        <Avatar author={message} />
        <p class="meta">
          <AuthorName name={message.author} tag={tag} /> <Timestamp at={message.at} clock={clock} />
        </p>
        <MessageText text={message.text} />
      </li>
    );
  }
  return (
    <li class="message" data-seq={message.seq}>
      <AuthorName name={message.author} tag={tag} hidden />
      <Timestamp at={message.at} clock={clock} class="gutter-time" />
      <MessageText text={message.text} />
    </li>
  );
}

/** Message text with http(s) URLs as links; everything else is text, never markup. */
function MessageText({ text }: { text: string }) {
  return (
    <p class="text" dir="auto">
      {tokenize(text).map((token, index) =>
        token.kind === "link"
          ? (
            <a key={index} href={token.href} rel="noopener noreferrer" target="_blank">
              {token.text}
            </a>
          )
          : token.text
      )}
    </p>
  );
}

function PendingItem(
  { item, author, tag, waiting, first, onRetry, onEdit, onDiscard }: {
    item: OutboxItem;
    author: Author;
    tag: string;
    waiting: boolean;
    first: boolean;
    onRetry?: () => void;
    onEdit: () => void;
    onDiscard: () => void;
  },
) {
  const failed = item.state === "failed";
  const failure = describeFailure(item.failure);
  return (
    <li class={`message pending pending-${item.state}${first ? " first" : ""}`}>
      {first
        ? (
          <>
            <Avatar author={author} />
            <p class="meta">
              <AuthorName name={author.author} tag={tag} />
            </p>
          </>
        )
        : <AuthorName name={author.author} tag={tag} hidden />}
      <MessageText text={item.text} />
      {failed
        ? (
          <p class="pending-state" role="alert">
            <span>Failed to send{failure.reason ? `: ${failure.reason}` : ""} —</span>
            {failure.edit
              ? <button type="button" class="link-button" onClick={onEdit}>Edit</button>
              : onRetry && (
                <button type="button" class="link-button" onClick={onRetry}>Retry</button>
              )}
            <button type="button" class="link-button" onClick={onDiscard}>Discard</button>
          </p>
        )
        : <p class="pending-state">{waiting ? "Waiting to send…" : "Sending…"}</p>}
    </li>
  );
}
