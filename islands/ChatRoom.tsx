import { useComputed, useSignal } from "@preact/signals";
import { useEffect, useLayoutEffect, useRef } from "preact/hooks";
import {
  type ChatConnection,
  connect,
  type ConnectionStatus,
  type OutboxItem,
  type TransportName,
} from "../lib/client.ts";
import type { Message } from "../lib/types.ts";

/** Props of the chat island, serialised into the page by the room route. */
export interface Props {
  room: { id: string; title: string; epoch: string };
  /** The latest messages, oldest first, as server-rendered. */
  messages: Message[];
  /** Force a transport (from `?transport=`); otherwise the client picks. */
  transport?: TransportName;
  /** The display name of the visitor's session, if they have one. */
  sessionName?: string;
}

const NAME_KEY = "parley:name";
const MAX_SHOWN = 500;
const FOLLOW_SLACK_PX = 48;

/** The live chat: message list, connection status and composer for one room. */
export default function ChatRoom({ room, messages: initial, transport, sessionName }: Props) {
  const messages = useSignal(initial);
  const outbox = useSignal<OutboxItem[]>([]);
  const status = useSignal<ConnectionStatus>({
    state: "connecting",
    transport: transport ?? "ws",
  });
  const name = useSignal(sessionName ?? "");
  const draft = useSignal("");
  const notice = useSignal("");
  const hydrated = useSignal(false);
  const list = useRef<HTMLOListElement>(null);
  const following = useRef(true);
  const connection = useRef<ChatConnection | null>(null);

  useEffect(() => {
    name.value = sessionName ?? localStorage.getItem(NAME_KEY) ?? "";
    hydrated.value = true;
  }, []);

  useEffect(() => {
    if (!hydrated.value) return;
    const after = connection.current?.last ?? initial.at(-1)?.seq ?? 0;
    const pending = connection.current?.outbox ?? [];
    connection.current?.close();
    const epoch = connection.current?.epoch ?? room.epoch;
    // Each connection confirms the session under the current name (creating or renaming it).
    const chat = connect(room.id, { name: name.value || undefined, after, epoch, transport });
    connection.current = chat;
    chat.on("status", (next) => (status.value = next));
    chat.on("outbox", (items) => (outbox.value = items));
    chat.on("resync", (latest) => (messages.value = latest));
    chat.on("messages", (fresh) => {
      const list = messages.value.concat(fresh);
      messages.value = list.length > MAX_SHOWN ? list.slice(-MAX_SHOWN) : list;
    });
    for (const item of pending) chat.send(item.text, item.id);
    return () => chat.close();
  }, [hydrated.value, name.value]);

  useLayoutEffect(() => {
    const element = list.current;
    if (element && following.current) element.scrollTop = element.scrollHeight;
  }, [messages.value, outbox.value]);

  const onScroll = () => {
    const element = list.current;
    if (!element) return;
    following.current =
      element.scrollHeight - element.scrollTop - element.clientHeight < FOLLOW_SLACK_PX;
  };

  const submit = (event: Event) => {
    event.preventDefault();
    const text = draft.value.trim();
    if (!name.value) {
      notice.value = "Pick a display name first";
      return;
    }
    if (!text || !connection.current) return;
    notice.value = "";
    following.current = true;
    connection.current.send(text);
    draft.value = "";
  };

  const statusText = useComputed(() => describeStatus(status.value));

  return (
    <section class="chat" aria-label={`Chat in ${room.title}`}>
      <p class={`status status-${status.value.state}`} role="status">{statusText}</p>
      <ol class="messages" ref={list} onScroll={onScroll} aria-live="polite">
        {messages.value.length === 0 && outbox.value.length === 0 && (
          <li class="empty">No messages yet. Say hello!</li>
        )}
        {messages.value.map((message) => (
          <MessageItem key={message.seq} message={message} localTime={hydrated.value} />
        ))}
        {outbox.value.map((item) => (
          <PendingItem
            key={item.id}
            item={item}
            author={name.value}
            onRetry={() => connection.current?.retry(item.id)}
          />
        ))}
      </ol>
      <form class="composer" onSubmit={submit}>
        <NameField
          name={name.value}
          onChange={(next) => {
            localStorage.setItem(NAME_KEY, next);
            name.value = next;
          }}
        />
        <label class="visually-hidden" for="composer-text">Message</label>
        <textarea
          id="composer-text"
          rows={1}
          maxLength={4000}
          placeholder={`Message ${room.title}`}
          value={draft.value}
          onInput={(event) => (draft.value = event.currentTarget.value)}
          onKeyDown={(event) => {
            if (event.key === "Enter" && !event.shiftKey && !event.isComposing) submit(event);
          }}
        />
        <button type="submit">Send</button>
        {notice.value && <p class="notice" role="alert">{notice.value}</p>}
      </form>
    </section>
  );
}

function describeStatus(status: ConnectionStatus): string {
  const via = { ws: "WebSocket", sse: "Server-Sent Events", poll: "long-polling" }[
    status.transport
  ];
  switch (status.state) {
    case "connecting":
      return "Connecting…";
    case "live":
      return `Live · ${via}`;
    case "reconnecting": {
      const seconds = Math.max(1, Math.ceil(((status.retryAt ?? 0) - Date.now()) / 1000));
      return `Reconnecting in ${seconds} s · ${via}`;
    }
    case "closed":
      return status.error === "room_not_found" ? "This room no longer exists" : "Disconnected";
  }
}

function formatTime(at: number, local: boolean): string {
  return new Date(at).toLocaleTimeString(local ? undefined : "en-GB", {
    hour: "2-digit",
    minute: "2-digit",
    timeZone: local ? undefined : "UTC",
  });
}

function MessageItem({ message, localTime }: { message: Message; localTime: boolean }) {
  return (
    <li class="message" data-seq={message.seq}>
      <span class="author">{message.author}</span>
      <time dateTime={new Date(message.at).toISOString()}>
        {formatTime(message.at, localTime)}
      </time>
      <p class="text">{message.text}</p>
    </li>
  );
}

function PendingItem(
  { item, author, onRetry }: { item: OutboxItem; author: string; onRetry: () => void },
) {
  return (
    <li class={`message pending pending-${item.state}`}>
      <span class="author">{author}</span>
      <span class="pending-state">
        {item.state === "sending" ? "sending…" : `failed: ${item.error ?? "not sent"}`}
      </span>
      <p class="text">{item.text}</p>
      {item.state === "failed" && <button type="button" onClick={onRetry}>Retry</button>}
    </li>
  );
}

function NameField({ name, onChange }: { name: string; onChange: (name: string) => void }) {
  return (
    <label class="name-field">
      <span>Name</span>
      <input
        name="name"
        required
        maxLength={32}
        autoComplete="nickname"
        placeholder="Your name"
        value={name}
        onChange={(event) => {
          const next = event.currentTarget.value.trim();
          if (next) onChange(next);
        }}
      />
    </label>
  );
}
