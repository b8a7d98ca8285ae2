import { now } from "../message_text.ts";
import type { Tally } from "../tally.ts";
import type { Sender } from "./sender.ts";

/** Where a {@link PostSender} sends and what it reports to. */
export interface PostSenderOptions {
  /** The server's `http://host:port` origin. */
  origin: string;
  room: string;
  /** The author name (sent as `author` for servers without sessions). */
  name: string;
  /** The session token, sent as `Authorization: Bearer`. */
  token?: string;
  tally: Tally;
  /** Called after each send settles, e.g. to send the next one (closed loop). */
  onSettled?: () => void;
}

/** Sends messages with `POST /api/rooms/:room/messages`, as SSE and long-poll clients do. */
export class PostSender implements Sender {
  /** The room the messages go to. */
  readonly room: string;
  #url: URL;
  #options: PostSenderOptions;
  #pending = 0;
  #abort = new AbortController();
  #headers: Record<string, string>;

  /** @param options see {@link PostSenderOptions} */
  constructor(options: PostSenderOptions) {
    this.room = options.room;
    this.#options = options;
    this.#url = new URL(`/api/rooms/${options.room}/messages`, options.origin);
    this.#headers = { "content-type": "application/json" };
    if (options.token) this.#headers.authorization = `Bearer ${options.token}`;
  }

  /** Sends not yet answered. */
  get pending(): number {
    return this.#pending;
  }

  /** Posts one message; a 200 or 201 counts as an ack, anything else as a refusal. */
  send(id: string, text: string, tag: string): void {
    const sentAt = now();
    this.#pending++;
    this.#post(id, text)
      .then((error) => {
        if (error === undefined) this.#options.tally.recordAck(tag, sentAt);
        else this.#options.tally.recordReject(tag, error);
      })
      .finally(() => {
        this.#pending--;
        this.#options.onSettled?.();
      });
  }

  /** Abandons the requests still in flight. */
  close(): void {
    this.#abort.abort();
  }

  /** Posts; resolves with undefined on success, else with why it failed. */
  async #post(id: string, text: string): Promise<string | undefined> {
    try {
      const response = await fetch(this.#url, {
        method: "POST",
        headers: this.#headers,
        body: JSON.stringify({ id, author: this.#options.name, text }),
        signal: this.#abort.signal,
      });
      if (response.ok) {
        await response.body?.cancel();
        return undefined;
      }
      return `POST ${response.status} ${(await response.text()).slice(0, 200)}`;
    } catch (error) {
      return `POST failed: ${(error as Error).message}`;
    }
  }
}
