import type { Message } from "../types.ts";
import { postMessage, postTyping } from "./http_send.ts";
import { FATAL_CODES, type OpenTransport, roomUrl, type TransportTarget } from "./transport.ts";

/**
 * Asks why a stream could not open, since an EventSource hides the status: a `HEAD` of the same
 * URL gets the same checks. `busy`: the server is at its connection cap for this client (so
 * another transport cannot help). `fatal`: the error code when reconnecting cannot help, as the
 * JSON API names it (a 400 or 404 without its code may be a proxy's, which a fallback can pass).
 */
async function whyNotOpened(
  target: TransportTarget,
  signal: AbortSignal,
): Promise<{ fatal?: string; busy?: boolean }> {
  try {
    const head = await fetch(roomUrl(target, "events", { cursor: true }), {
      method: "HEAD",
      signal,
    });
    if (head.status === 429) return { busy: true };
    if (head.status !== 400 && head.status !== 404) return {};
    const url = roomUrl(target, "messages", { cursor: true });
    url.searchParams.set("limit", "1");
    const code = (await (await fetch(url, { signal })).json())?.error?.code;
    return FATAL_CODES.has(code) ? { fatal: code } : {};
  } catch {
    return {};
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
  // The server ends a stream after some minutes (so a reader gone without a word leaves the
  // room): open the next one at once.
  source.addEventListener("reconnect", () => {
    if (closed) return;
    stop();
    events.closed({ opened, renew: true });
  });
  source.addEventListener("message", (event) => {
    events.messages([JSON.parse((event as MessageEvent).data) as Message]);
  });
  // EventSource would reconnect by itself; the connection owns reconnects and resumes instead.
  source.onerror = () => {
    if (closed) return;
    stop();
    if (opened) return events.closed({ opened });
    whyNotOpened(target, probe.signal).then((why) => events.closed({ opened, ...why }));
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
