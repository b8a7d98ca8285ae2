/**
 * The workers of one `deno serve --parallel` process, linked over a `BroadcastChannel` so that
 * one of them writes the log and the others hear what it wrote without reading it back.
 *
 * Every worker announces itself on start; the worker with the smallest id is the writer. The
 * others forward their appends to it (batched per turn of the event loop) and wait for its
 * answer; every commit is broadcast so each worker's hub can hand it to its subscribers at once.
 * A forwarded append is answered by that broadcast when it stored the message (matched by room
 * and id), and by a message of its own otherwise (an error, or a message already stored).
 * One writer means no race for SQLite's write lock and bigger group commits. Correctness never
 * rests on the link: until a worker hears of a smaller id it commits by itself, and commits stay
 * checked against the log clock, so any worker (or another process) may write.
 *
 * Deno's in-process `BroadcastChannel` drops messages for a receiver that falls more than 256
 * messages behind, so every message may be lost: a forwarded append carries an id (one is made
 * for it when the client sent none) and is committed by the forwarding worker itself when no
 * answer came within {@link FORWARD_TIMEOUT_MS}, which the id makes safe to repeat; a lost
 * commit broadcast is made good by the hub's `kv.watch`.
 *
 * @module
 */
import { ParleyError } from "./errors.ts";
import { serverMadeId } from "./group_commit.ts";
import type { AppendResult, MessageLog } from "./message_log.ts";
import type { Message, NewMessage } from "./types.ts";

type Outcome =
  | { ok: AppendResult }
  | { error: { status: number; code: string; message: string } }
  /** The worker asked is leaving and committed nothing: ask the next writer. */
  | { redirect: true };

/** What workers say to each other; `to` names the one worker a message is for. */
type LinkMessage =
  | { kind: "hello"; from: string }
  | { kind: "here"; from: string }
  | { kind: "bye"; from: string }
  | { kind: "append"; from: string; to: string; items: [number, string, NewMessage][] }
  | { kind: "appended"; to: string; items: [number, Outcome][] }
  | { kind: "committed"; rooms: [string, Message[]][] };

/** An append as forwarded: always with an id, so committing it twice stores it once. */
type ForwardedInput = NewMessage & { id: string };

interface Forwarded {
  room: string;
  input: ForwardedInput;
  /** Whether the id was made here, so a "not created" answer can only mean an earlier try. */
  madeId: boolean;
  sentAt: number;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

/** How long a forwarded append waits for the writer before this worker commits it itself. */
export const FORWARD_TIMEOUT_MS = 1_000;
/** How long a closed link still sends back appends forwarded to it. */
const CLOSE_LINGER_MS = 100;

function awaitingKey(room: string, id: string): string {
  return `${room}\n${id}`;
}

function outcomeOf(settled: PromiseSettledResult<AppendResult>): Outcome {
  if (settled.status === "fulfilled") return { ok: settled.value };
  const error = settled.reason;
  return error instanceof ParleyError
    ? { error: { status: error.status, code: error.code, message: error.message } }
    : { error: { status: 503, code: "storage_unavailable", message: String(error) } };
}

/** Counters of a link, for metrics and tests. */
export interface LinkStats {
  /** Appends sent to the writer. */
  forwarded: number;
  /** Forwarded appends this worker committed itself after the writer did not answer in time. */
  timedOut: number;
}

/** Links this worker's log with the other workers of its process that use the same store. */
export class WorkerLink {
  readonly id: string = crypto.randomUUID();
  readonly stats: LinkStats = { forwarded: 0, timedOut: 0 };
  #channel: BroadcastChannel;
  #log: MessageLog;
  #peers = new Set<string>();
  #forwarded = new Map<number, Forwarded>();
  /** The request waiting for each forwarded message, by room and id. */
  #awaiting = new Map<string, number>();
  #nextRequest = 0;
  #outbox = new Map<string, [number, string, NewMessage][]>();
  #committed: [string, Message[]][] = [];
  #stopListening: () => void;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #leaving = false;
  #closing = false;
  #closed = false;

  /**
   * @param log this worker's log: its appends are routed through the link from now on
   * @param channelName the channel every worker on the same store joins
   */
  constructor(log: MessageLog, channelName: string) {
    this.#log = log;
    this.#channel = new BroadcastChannel(channelName);
    this.#channel.onmessage = (event: MessageEvent<LinkMessage>) => this.#receive(event.data);
    this.#stopListening = log.onCommitted((room, messages, byPeer) => {
      if (!byPeer) this.#broadcastCommitted(room, messages);
    });
    log.routeAppends((room, input) => this.#append(room, input));
    this.#post({ kind: "hello", from: this.id });
  }

  /** The worker that writes the log: the smallest id this worker knows of. */
  get writer(): string {
    let writer = this.id;
    for (const peer of this.#peers) if (peer < writer) writer = peer;
    return writer;
  }

  /** How many other workers this one knows of. */
  get peers(): number {
    return this.#peers.size;
  }

  /**
   * Starts leaving, for a shutdown: peers stop forwarding here, appends that arrive from now on
   * are sent back to be asked elsewhere, and this worker commits its own appends itself. Appends
   * already taken are still committed and answered until {@link close}.
   */
  leave(): void {
    if (this.#leaving) return;
    this.#post({ kind: "bye", from: this.id });
    this.#leaving = true;
    this.#peers.clear();
  }

  /**
   * Leaves the link for good; call once the store is closed. The channel stays open a moment
   * longer to send back appends peers forwarded before they heard this worker leave.
   */
  close(): void {
    if (this.#closing) return;
    this.leave();
    this.#closing = true;
    this.#stopListening();
    this.#log.routeAppends(undefined);
    clearInterval(this.#sweeper);
    for (const request of [...this.#forwarded.keys()]) {
      this.#take(request)?.reject(
        new ParleyError(
          503,
          "storage_unavailable",
          "Cannot append the message: this worker is shutting down",
        ),
      );
    }
    setTimeout(() => {
      this.#closed = true;
      this.#channel.close();
    }, CLOSE_LINGER_MS);
  }

  #append(room: string, input: NewMessage): Promise<AppendResult> {
    const writer = this.writer;
    if (writer === this.id) return this.#log.appendHere(room, input);
    const madeId = input.id === undefined;
    const forwardedInput = { ...input, id: input.id ?? serverMadeId() };
    this.stats.forwarded++;
    return new Promise((resolve, reject) => {
      const request = this.#nextRequest++;
      this.#forwarded.set(request, {
        room,
        input: forwardedInput,
        madeId,
        sentAt: Date.now(),
        resolve,
        reject,
      });
      this.#awaiting.set(awaitingKey(room, forwardedInput.id), request);
      this.#sweeper ??= setInterval(() => this.#sweep(), FORWARD_TIMEOUT_MS / 4);
      const queue = this.#outbox.get(writer);
      if (queue) queue.push([request, room, forwardedInput]);
      else {
        this.#outbox.set(writer, [[request, room, forwardedInput]]);
        if (this.#outbox.size === 1) setTimeout(() => this.#flushOutbox(), 0);
      }
    });
  }

  #flushOutbox(): void {
    for (const [writer, items] of this.#outbox) {
      this.#post({ kind: "append", from: this.id, to: writer, items });
    }
    this.#outbox.clear();
  }

  /** Commits here what the writer has not answered in time (lost on the way, or gone). */
  #sweep(): void {
    const now = Date.now();
    for (const [request, forwarded] of this.#forwarded) {
      if (now - forwarded.sentAt < FORWARD_TIMEOUT_MS) continue;
      this.#take(request);
      this.stats.timedOut++;
      this.#complete(forwarded, this.#log.appendHere(forwarded.room, forwarded.input));
    }
    if (this.#forwarded.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /** Takes a forwarded append out of the waiting ones, or undefined when it was answered. */
  #take(request: number): Forwarded | undefined {
    const forwarded = this.#forwarded.get(request);
    if (!forwarded) return undefined;
    this.#forwarded.delete(request);
    this.#awaiting.delete(awaitingKey(forwarded.room, forwarded.input.id));
    return forwarded;
  }

  #complete(forwarded: Forwarded, result: Promise<AppendResult>): void {
    result.then(({ message, created }) => {
      // An id made here was only ever sent by this call: found stored, it was this call's.
      forwarded.resolve({ message, created: created || forwarded.madeId });
    }, forwarded.reject);
  }

  #broadcastCommitted(room: string, messages: Message[]): void {
    if (this.#peers.size === 0) return;
    if (this.#committed.push([room, messages]) === 1) {
      queueMicrotask(() => {
        const rooms = this.#committed;
        this.#committed = [];
        this.#post({ kind: "committed", rooms });
      });
    }
  }

  #receive(message: LinkMessage): void {
    if (this.#closed) return;
    switch (message.kind) {
      case "hello":
        if (this.#leaving) return;
        this.#peers.add(message.from);
        return this.#post({ kind: "here", from: this.id });
      case "here":
        if (!this.#leaving) this.#peers.add(message.from);
        return;
      case "bye":
        // What was forwarded to it and stays unanswered is committed here by the sweep.
        this.#peers.delete(message.from);
        return;
      case "append":
        if (message.to === this.id) this.#serve(message.from, message.items);
        return;
      case "appended":
        if (message.to === this.id) this.#settle(message.items);
        return;
      case "committed":
        for (const [room, messages] of message.rooms) {
          this.#answerFrom(room, messages);
          this.#log.publish(room, messages);
        }
    }
  }

  /** Answers the forwarded appends a commit broadcast stored. */
  #answerFrom(room: string, messages: Message[]): void {
    if (this.#awaiting.size === 0) return;
    for (const message of messages) {
      const request = this.#awaiting.get(awaitingKey(room, message.id));
      const forwarded = request === undefined ? undefined : this.#take(request);
      forwarded?.resolve({ message, created: true });
    }
  }

  async #serve(from: string, items: [number, string, NewMessage][]): Promise<void> {
    if (this.#leaving) {
      const answers = items.map(([request]): [number, Outcome] => [request, { redirect: true }]);
      return this.#post({ kind: "appended", to: from, items: answers });
    }
    // It forwards here, so it is a peer, and will hear the commit broadcast.
    this.#peers.add(from);
    const settled = await Promise.allSettled(
      items.map(([, room, input]) => this.#log.appendHere(room, input)),
    );
    // What a commit stored was answered by its broadcast (which a leaving worker no longer
    // sends); the rest is answered here.
    const answers = settled.flatMap((result, i): [number, Outcome][] =>
      result.status === "fulfilled" && result.value.created && !this.#leaving
        ? []
        : [[items[i][0], outcomeOf(result)]]
    );
    if (answers.length > 0) this.#post({ kind: "appended", to: from, items: answers });
  }

  #settle(items: [number, Outcome][]): void {
    for (const [request, outcome] of items) {
      const forwarded = this.#take(request);
      if (!forwarded) continue;
      if ("ok" in outcome) this.#complete(forwarded, Promise.resolve(outcome.ok));
      else if ("redirect" in outcome) {
        this.#complete(forwarded, this.#append(forwarded.room, forwarded.input));
      } else {
        const { status, code, message } = outcome.error;
        forwarded.reject(new ParleyError(status, code, message));
      }
    }
  }

  #post(message: LinkMessage): void {
    if (this.#closed) return;
    try {
      this.#channel.postMessage(message);
    } catch (error) {
      console.error("Cannot reach the other workers:", error);
    }
  }
}
