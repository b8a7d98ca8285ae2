import type { Message } from "../types.ts";
import { postMessage } from "./http_send.ts";
import type { OpenTransport, TransportTarget } from "./transport.ts";

/**
 * Asks the JSON API why a stream could not open, since an EventSource hides the status:
 * the error code when reconnecting cannot help, else undefined.
 */
async function fatalCause(
  target: TransportTarget,
  signal: AbortSignal,
): Promise<string | undefined> {
  const url = new URL(`/api/rooms/${encodeURIComponent(target.room)}/messages`, target.baseUrl);
  url.searchParams.set("limit", "1");
  if (target.after !== undefined) url.searchParams.set("after", String(target.after));
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
  const url = new URL(`/api/rooms/${encodeURIComponent(target.room)}/events`, target.baseUrl);
  if (target.after !== undefined) url.searchParams.set("after", String(target.after));
  const source = new EventSource(url);
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
    events.open(JSON.parse((event as MessageEvent).data).head);
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
    close() {
      stop();
      probe.abort();
    },
  };
};
