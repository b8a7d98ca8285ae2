import type { Message } from "../types.ts";
import { postMessage, postTyping } from "./http_send.ts";
import { Liveness, SILENCE } from "./liveness.ts";
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
  const liveness = new Liveness({
    deadMs: SILENCE.streamMs,
    quietMs: SILENCE.streamPingMs + SILENCE.shownGraceMs,
    onDead: giveUp,
  });

  /** The link stopped carrying: the stream is ended and reported closed. */
  function giveUp(): void {
    if (closed) return;
    stop();
    events.closed({ opened });
  }

  function stop(): void {
    closed = true;
    liveness.stop();
    source.close();
    sends.abort();
  }

  /** Listens for one kind of event; every event tells the liveness watch the stream carries. */
  function on(name: string, listener: (data: string) => void): void {
    source.addEventListener(name, (event) => {
      liveness.heard();
      listener((event as MessageEvent).data);
    });
  }

  on("welcome", (data) => {
    opened = true;
    const { head, epoch, authorId } = JSON.parse(data);
    events.open(head, epoch, authorId);
  });
  on("presence", (data) => events.presence(JSON.parse(data)));
  on("resync", (data) => {
    const { head, messages } = JSON.parse(data);
    events.resync(head, messages);
  });
  on("ping", () => {});
  // The server ends a stream after some minutes (so a reader gone without a word leaves the
  // room): open the next one at once.
  on("reconnect", () => {
    if (closed) return;
    stop();
    events.closed({ opened, renew: true });
  });
  on("message", (data) => events.messages([JSON.parse(data) as Message]));
  // EventSource would reconnect by itself; the connection owns reconnects and resumes instead.
  source.onerror = () => {
    if (closed) return;
    stop();
    if (opened) return events.closed({ opened });
    whyNotOpened(target, probe.signal).then((why) => events.closed({ opened, ...why }));
  };

  return {
    send(message) {
      postMessage(target, message, { ...events, unanswered: giveUp }, sends.signal);
    },
    typing() {
      postTyping(target, sends.signal);
    },
    check() {
      liveness.suspect();
    },
    close() {
      stop();
      probe.abort();
    },
  };
};
