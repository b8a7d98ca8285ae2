import { now, parseMessageText } from "../message_text.ts";
import type { Receiver, Tally } from "../tally.ts";

/** How long each poll may wait on the server, in seconds (as Parley's own client). */
export const POLL_WAIT_SECONDS = 25;
const POLL_LIMIT = 500;

interface Page {
  head: number;
  messages: { seq: number; text: string }[];
}

/**
 * A long-polling receiver: reads the head, then loops on
 * `GET /api/rooms/:room/messages?after=<cursor>&wait=25&limit=500` until closed.
 */
export class PollClient {
  /** The room this client is in. */
  readonly room: string;
  /** Resolves with the head once the first poll is on its way; rejects if the head read fails. */
  readonly ready: Promise<number>;
  /** Polls that failed (network error or non-2xx) while the client was open. */
  errors = 0;
  #url: URL;
  #tally: Tally;
  #receiver: Receiver;
  #abort = new AbortController();
  #loop: Promise<void>;

  /**
   * @param origin the server's `http://host:port` origin
   * @param room the room to follow
   * @param tally where deliveries are recorded
   */
  constructor(origin: string, room: string, tally: Tally) {
    this.room = room;
    this.#tally = tally;
    this.#receiver = tally.addReceiver(room);
    this.#url = new URL(`/api/rooms/${room}/messages`, origin);
    const head = Promise.withResolvers<number>();
    this.ready = head.promise;
    this.ready.catch(() => {});
    this.#loop = this.#run(head.resolve, head.reject);
  }

  /** Stops polling and waits for the loop to end. */
  async close(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  async #fetchPage(query: Record<string, number>): Promise<Page> {
    const url = new URL(this.#url);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, String(value));
    const response = await fetch(url, { signal: this.#abort.signal });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`GET ${url.pathname} answered ${response.status}`);
    }
    return await response.json() as Page;
  }

  async #run(ready: (head: number) => void, fail: (error: unknown) => void): Promise<void> {
    let cursor: number;
    try {
      cursor = (await this.#fetchPage({ limit: 1 })).head;
    } catch (error) {
      fail(error);
      return;
    }
    this.#receiver.last = cursor;
    ready(cursor);
    while (!this.#abort.signal.aborted) {
      try {
        const page = await this.#fetchPage({
          after: cursor,
          wait: POLL_WAIT_SECONDS,
          limit: POLL_LIMIT,
        });
        const at = now();
        for (const message of page.messages) {
          this.#tally.deliver(this.#receiver, message.seq, parseMessageText(message.text), at);
        }
        cursor = page.messages.at(-1)?.seq ?? cursor;
      } catch {
        if (this.#abort.signal.aborted) return;
        this.errors++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}
