/**
 * The workers of one `deno serve --parallel` process, linked over a `BroadcastChannel` so that
 * one of them writes the log and the others hear what it wrote without reading it back.
 *
 * Every worker announces itself on start; the worker with the smallest id is the writer. The
 * others forward their appends to it (batched per turn of the event loop) and wait for its
 * answer; every commit is broadcast so each worker's hub can hand it to its subscribers at once.
 * One writer means no race for SQLite's write lock and bigger group commits. Correctness never
 * rests on the election: until a worker hears of a smaller id it commits by itself, and commits
 * stay checked against the room records, so any worker (or another process) may write.
 *
 * @module
 */
import { ParleyError } from "./errors.ts";
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

interface Forwarded {
  writer: string;
  room: string;
  input: NewMessage;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

/** How long appends forwarded to a writer that said goodbye may still wait for its answer. */
const BYE_GRACE_MS = 2_000;
/** How long a closed link still sends back appends forwarded to it. */
const CLOSE_LINGER_MS = 100;

function outcomeOf(settled: PromiseSettledResult<AppendResult>): Outcome {
  if (settled.status === "fulfilled") return { ok: settled.value };
  const error = settled.reason;
  return error instanceof ParleyError
    ? { error: { status: error.status, code: error.code, message: error.message } }
    : { error: { status: 503, code: "storage_unavailable", message: String(error) } };
}

/** Links this worker's log with the other workers of its process that use the same store. */
export class WorkerLink {
  readonly id: string = crypto.randomUUID();
  #channel: BroadcastChannel;
  #log: MessageLog;
  #peers = new Set<string>();
  #forwarded = new Map<number, Forwarded>();
  #nextRequest = 0;
  #outbox: [number, string, NewMessage][] = [];
  #committed: [string, Message[]][] = [];
  #stopListening: () => void;
  #leaving = false;
  #closing = false;
  #closed = false;
  #byeTimers = new Set<ReturnType<typeof setTimeout>>();

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
    for (const timer of this.#byeTimers) clearTimeout(timer);
    this.#failForwarded(() => true, "this worker is shutting down");
    setTimeout(() => {
      this.#closed = true;
      this.#channel.close();
    }, CLOSE_LINGER_MS);
  }

  #append(room: string, input: NewMessage): Promise<AppendResult> {
    const writer = this.writer;
    if (writer === this.id) return this.#log.appendHere(room, input);
    return new Promise((resolve, reject) => {
      const request = this.#nextRequest++;
      this.#forwarded.set(request, { writer, room, input, resolve, reject });
      if (this.#outbox.push([request, room, input]) === 1) {
        queueMicrotask(() => this.#flushOutbox());
      }
    });
  }

  #flushOutbox(): void {
    const items = this.#outbox;
    this.#outbox = [];
    // Requests of one turn share the writer they were made for, unless a "bye" came between.
    const byWriter = Map.groupBy(items, ([request]) => this.#forwarded.get(request)?.writer);
    for (const [writer, part] of byWriter) {
      if (writer !== undefined) {
        this.#post({ kind: "append", from: this.id, to: writer, items: part });
      }
    }
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
        return this.#forget(message.from);
      case "append":
        if (message.to === this.id) this.#serve(message.from, message.items);
        return;
      case "appended":
        if (message.to === this.id) this.#settle(message.items);
        return;
      case "committed":
        for (const [room, messages] of message.rooms) this.#log.publish(room, messages);
    }
  }

  /**
   * A peer left: no more forwarding to it. It answers what it took before; whatever it has not
   * answered after {@link BYE_GRACE_MS} fails.
   */
  #forget(peer: string): void {
    this.#peers.delete(peer);
    const timer = setTimeout(() => {
      this.#byeTimers.delete(timer);
      this.#failForwarded(({ writer }) => writer === peer, "the worker writing it shut down");
    }, BYE_GRACE_MS);
    Deno.unrefTimer(timer);
    this.#byeTimers.add(timer);
  }

  async #serve(from: string, items: [number, string, NewMessage][]): Promise<void> {
    if (this.#leaving) {
      const answers = items.map(([request]): [number, Outcome] => [request, { redirect: true }]);
      return this.#post({ kind: "appended", to: from, items: answers });
    }
    const settled = await Promise.allSettled(
      items.map(([, room, input]) => this.#log.appendHere(room, input)),
    );
    const answers = settled.map((result, i): [number, Outcome] => [items[i][0], outcomeOf(result)]);
    this.#post({ kind: "appended", to: from, items: answers });
  }

  #settle(items: [number, Outcome][]): void {
    for (const [request, outcome] of items) {
      const forwarded = this.#forwarded.get(request);
      if (!forwarded) continue;
      this.#forwarded.delete(request);
      if ("ok" in outcome) forwarded.resolve(outcome.ok);
      else if ("redirect" in outcome) {
        this.#append(forwarded.room, forwarded.input).then(forwarded.resolve, forwarded.reject);
      } else {
        const { status, code, message } = outcome.error;
        forwarded.reject(new ParleyError(status, code, message));
      }
    }
  }

  #failForwarded(which: (forwarded: Forwarded) => boolean, why: string): void {
    for (const [request, forwarded] of this.#forwarded) {
      if (!which(forwarded)) continue;
      this.#forwarded.delete(request);
      forwarded.reject(
        new ParleyError(503, "storage_unavailable", `Cannot append the message: ${why}`),
      );
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
