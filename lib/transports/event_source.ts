import type { Message } from "../types.ts";
import { postMessage } from "./http_send.ts";
import type { OpenTransport } from "./transport.ts";

/** Server-Sent Events to receive, `POST` to send. */
export const openEventSource: OpenTransport = (target, events) => {
  const url = new URL(`/api/rooms/${encodeURIComponent(target.room)}/events`, target.baseUrl);
  if (target.after !== undefined) url.searchParams.set("after", String(target.after));
  const source = new EventSource(url);
  const sends = new AbortController();
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
    events.closed({ opened });
  };

  return {
    send(message) {
      postMessage(target, message, events, sends.signal);
    },
    close: stop,
  };
};
