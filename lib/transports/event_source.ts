import type { Message } from "../types.ts";
import { postMessage, postTyping } from "./http_send.ts";
import { type OpenTransport, roomUrl, type TransportTarget } from "./transport.ts";

/**
 * Asks the JSON API why a stream could not open, since an EventSource hides the status:
 * the error code when reconnecting cannot help, else undefined.
 */
async function fatalCause(
  target: TransportTarget,
  signal: AbortSignal,
): Promise<string | undefined> {
  const url = roomUrl(target, "messages", { cursor: true });
  url.searchParams.set("limit", "1");
  try {
    const response = await fetch(url, { signal });
    const code = (await response.json())?.error?.code;
    return code === "room_not_found" || code === "invalid_cursor" ? code : undefined;
  } catch {
    return undefined;
  }
}

/** Server-Sent Events to receive, `POST` to send. */
export const openEventSource: OpenTransport = (target, events) => {
  const source = new EventSource(roomUrl(target, "events", { cursor: true }));
  const sends = new AbortController();
  const probe = new AbortController();
  let opened = false;
  let closed = false;

  function stop(): void {
    closed = true;
    source.close();
    sends.abort();
  }

  source.addEventListener("welcome", (event) => {
    opened = true;
    const { head, epoch } = JSON.parse((event as MessageEvent).data);
    events.open(head, epoch);
  });
  source.addEventListener("presence", (event) => {
    events.presence(JSON.parse((event as MessageEvent).data));
  });
  source.addEventListener("resync", (event) => {
    const { head, messages } = JSON.parse((event as MessageEvent).data);
    events.resync(head, messages);
  });
  source.addEventListener("message", (event) => {
    events.messages([JSON.parse((event as MessageEvent).data) as Message]);
  });
  // EventSource would reconnect by itself; the connection owns reconnects and resumes instead.
  source.onerror = () => {
    if (closed) return;
    stop();
    if (opened) return events.closed({ opened });
    fatalCause(target, probe.signal).then((fatal) => events.closed({ opened, fatal }));
  };

  return {
    send(message) {
      postMessage(target, message, events, sends.signal);
    },
    typing() {
      postTyping(target, sends.signal);
    },
    close() {
      stop();
      probe.abort();
    },
  };
};
