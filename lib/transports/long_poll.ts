import type { Message } from "../types.ts";
import { fetchWithin } from "../fetch_within.ts";
import { postMessage, postTyping } from "./http_send.ts";
import { elapsedSince, type Moment, momentNow, SILENCE } from "./liveness.ts";
import { FATAL_CODES, type OpenTransport, roomUrl, type TransportTarget } from "./transport.ts";

const POLL_LIMIT = 500;
/**
 * The pages that open a poll carry one message at most: the connection gives a transport a few
 * seconds to open, which a backlog of 500 messages may take over a slow link. The rest comes
 * with the first wait, answered at once.
 */
const OPEN_LIMIT = 1;

interface Page {
  epoch: string;
  head: number;
  resync?: boolean;
  messages: Message[];
  online?: string[];
  /** The author id of each session of `online` (servers before it leave it out). */
  onlineAuthorIds?: string[];
  typing?: string[];
  /** The author id of each session of `typing` (servers before it leave it out). */
  typingAuthorIds?: string[];
  /** The version of the presence fields, sent back so a change answers a waiting poll. */
  presence?: string;
  /** The session's author id in the room. */
  authorId?: string;
}

/** Long-polling to receive (`GET …/messages?after=&epoch=&wait=`), `POST` to send. */
export const openLongPoll: OpenTransport = (target, events) => {
  const controller = new AbortController();
  const headers: HeadersInit = target.token ? { authorization: `Bearer ${target.token}` } : {};
  let seenPresence: string | undefined;
  /** When the poll the server holds now was sent, if one is. */
  let waitingSince: Moment | undefined;
  let opened = false;

  /** Ends the poll, once: what is on its way is dropped, and the transport reported closed. */
  function end(fatal?: string): void {
    if (controller.signal.aborted) return;
    controller.abort();
    events.closed({ opened, fatal });
  }

  async function fetchPage(cursor: TransportTarget, wait?: number): Promise<Page> {
    const url = roomUrl(cursor, "messages", { cursor: true });
    url.searchParams.set("limit", String(wait === undefined ? OPEN_LIMIT : POLL_LIMIT));
    if (wait !== undefined) url.searchParams.set("wait", String(wait));
    if (seenPresence !== undefined) url.searchParams.set("presence", seenPresence);
    // A poll unanswered well past the time the server may hold it went over a link that stopped
    // carrying without closing: the client reconnects. A page of 500 messages may still take its
    // time to arrive over a slow link.
    const withinMs = (wait ?? 0) * 1000 + SILENCE.pollGraceMs;
    waitingSince = wait === undefined ? undefined : momentNow();
    const response = await fetchWithin(url, withinMs, { signal: controller.signal, headers });
    waitingSince = undefined;
    const body = await response.json();
    if (!response.ok) {
      throw Object.assign(new Error(body.error?.message), { code: body.error?.code });
    }
    return body;
  }

  async function run(): Promise<void> {
    try {
      const cursor = { ...target };
      if (cursor.after === undefined) {
        const start = await fetchPage(cursor);
        Object.assign(cursor, { after: start.head, epoch: start.epoch });
      }
      let page = await fetchPage(cursor);
      // The opening page had the cursor's message checked; the polls after it move on from there.
      cursor.last = undefined;
      opened = true;
      // Open at the cursor this page continues from, not at its head: its messages are the ones
      // committed since, and a client with no cursor of its own starts from this one.
      events.open(cursor.after ?? page.head, page.epoch, page.authorId);
      for (;;) {
        if (page.presence !== undefined && page.presence !== seenPresence) {
          seenPresence = page.presence;
          events.presence({
            online: page.online ?? [],
            onlineAuthorIds: page.onlineAuthorIds,
            typing: page.typing ?? [],
            typingAuthorIds: page.typingAuthorIds,
          });
        }
        if (page.resync) {
          events.resync(page.head, page.messages);
          Object.assign(cursor, { after: page.head, epoch: page.epoch });
        } else if (page.messages.length > 0) {
          events.messages(page.messages);
          cursor.after = page.messages[page.messages.length - 1].seq;
        }
        page = await fetchPage(cursor, Math.round(SILENCE.pollWaitMs / 1000));
      }
    } catch (error) {
      const code = (error as { code?: string }).code;
      end(code !== undefined && FATAL_CODES.has(code) ? code : undefined);
    }
  }

  run();
  return {
    send(message) {
      postMessage(target, message, { ...events, unanswered: () => end() }, controller.signal);
    },
    typing() {
      postTyping(target, controller.signal);
    },
    check() {
      // The server answers a poll within its `wait`: one unanswered well past that went over a
      // link that stopped carrying. The next transport resumes from the cursor.
      const limitMs = SILENCE.pollWaitMs + SILENCE.shownGraceMs;
      if (waitingSince === undefined || elapsedSince(waitingSince) < limitMs) return;
      end();
    },
    close() {
      controller.abort();
    },
  };
};
