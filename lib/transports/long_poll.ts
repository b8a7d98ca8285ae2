import type { Message } from "../types.ts";
import { postMessage } from "./http_send.ts";
import type { OpenTransport } from "./transport.ts";

/** How long each poll may be held by the server, in seconds. */
export const POLL_WAIT_SECONDS = 25;
const POLL_LIMIT = 500;

interface Page {
  head: number;
  messages: Message[];
}

/** Long-polling to receive (`GET …/messages?after=&wait=`), `POST` to send. */
export const openLongPoll: OpenTransport = (target, events) => {
  const controller = new AbortController();
  const messagesUrl = new URL(
    `/api/rooms/${encodeURIComponent(target.room)}/messages`,
    target.baseUrl,
  );

  async function fetchPage(query: Record<string, number>): Promise<Page> {
    const url = new URL(messagesUrl);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, String(value));
    const response = await fetch(url, { signal: controller.signal });
    const body = await response.json();
    if (!response.ok) {
      throw Object.assign(new Error(body.error?.message), { code: body.error?.code });
    }
    return body;
  }

  async function run(): Promise<void> {
    let opened = false;
    try {
      let cursor = target.after ?? (await fetchPage({ limit: 1 })).head;
      const first = await fetchPage({ after: cursor, limit: POLL_LIMIT });
      opened = true;
      events.open(first.head);
      let page = first;
      for (;;) {
        if (page.messages.length > 0) {
          events.messages(page.messages);
          cursor = page.messages[page.messages.length - 1].seq;
        }
        page = await fetchPage({ after: cursor, wait: POLL_WAIT_SECONDS, limit: POLL_LIMIT });
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      const code = (error as { code?: string }).code;
      const fatal = code === "room_not_found" || code === "invalid_cursor" ? code : undefined;
      controller.abort();
      events.closed({ opened, fatal });
    }
  }

  run();
  return {
    send(message) {
      postMessage(target, message, events, controller.signal);
    },
    close() {
      controller.abort();
    },
  };
};
