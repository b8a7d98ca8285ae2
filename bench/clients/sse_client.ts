import { now, parseMessageText } from "../message_text.ts";
import type { Receiver, Tally } from "../tally.ts";

/**
 * A Server-Sent Events receiver on `GET /api/rooms/:room/events`, parsing the stream by hand
 * (`event:`/`data:` lines, blank-line separated) so the benchmark controls every step.
 */
export class SseClient {
  /** The room this client is in. */
  readonly room: string;
  /** Resolves with the head on the `welcome` event; rejects if the stream fails first. */
  readonly ready: Promise<number>;
  #tally: Tally;
  #receiver: Receiver;
  #abort = new AbortController();
  #loop: Promise<void>;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;

  /**
   * @param origin the server's `http://host:port` origin
   * @param room the room to follow
   * @param tally where deliveries are recorded
   */
  constructor(origin: string, room: string, tally: Tally) {
    this.room = room;
    this.#tally = tally;
    this.#receiver = tally.addReceiver(room);
    const welcome = Promise.withResolvers<number>();
    this.ready = welcome.promise;
    this.ready.catch(() => {});
    this.#loop = this.#run(new URL(`/api/rooms/${room}/events`, origin), welcome)
      .catch((error) => welcome.reject(error));
  }

  /** Ends the stream and waits for the reader to stop. */
  async close(): Promise<void> {
    this.#abort.abort();
    await this.#reader?.cancel().catch(() => {});
    await this.#loop;
  }

  async #run(url: URL, welcome: PromiseWithResolvers<number>): Promise<void> {
    const response = await fetch(url, { signal: this.#abort.signal });
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw new Error(`GET ${url.pathname} answered ${response.status}`);
    }
    const reader = response.body.getReader();
    this.#reader = reader;
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          this.#dispatch(buffer.slice(0, end), welcome);
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      if (!this.#abort.signal.aborted) throw error;
    }
  }

  #dispatch(block: string, welcome: PromiseWithResolvers<number>): void {
    let event = "message";
    let data = "";
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data += line.slice(6);
    }
    if (data === "") return;
    if (event === "message") {
      const message = JSON.parse(data) as { seq: number; text: string };
      this.#tally.deliver(this.#receiver, message.seq, parseMessageText(message.text), now());
    } else if (event === "welcome") {
      const head = (JSON.parse(data) as { head: number }).head;
      this.#receiver.last = head;
      welcome.resolve(head);
    }
  }
}
