/**
 * The workers of one `deno serve --parallel` process, linked over a `BroadcastChannel` so that
 * one of them writes the log and the others hear what it wrote without reading it back.
 *
 * Every worker announces itself on start and every few seconds after; the worker with the
 * smallest id is the writer. The others forward their appends to it (batched per turn of the
 * event loop, one batch per room at a time, so a room's messages keep their order) and every
 * commit is broadcast, so each worker's hub hands it to its subscribers at once. A forwarded
 * append is answered by that broadcast when it stored the message (matched by room and id), and
 * by a message of its own otherwise (an error, or a message already stored). One writer means no
 * race for SQLite's write lock and bigger group commits. Correctness never rests on the link:
 * until a worker hears of a smaller id it commits by itself, and commits stay checked against the
 * log clock, so any worker (or another process) may write.
 *
 * Deno's in-process `BroadcastChannel` drops messages for a receiver that falls more than 256
 * messages behind, so every message may be lost: a forwarded append carries an id (one is made
 * for it when the client sent none) and is committed by the forwarding worker itself when no
 * answer came within {@link FORWARD_TIMEOUT_MS}, which the id makes safe to repeat; a lost commit
 * broadcast shows as a gap in the next one, which the hub reads from KV, or is found by the hub's
 * once-a-second head check; a lost announcement is made good by the next one.
 *
 * @module
 */
import { ParleyError } from "./errors.ts";
import { serverMadeId } from "./commit_plan.ts";
import type { AppendResult, MessageLog } from "./message_log.ts";
import type { Message, NewMessage } from "./types.ts";

/** How an append ended: stored (or found stored), or refused. */
type Answer = { ok: AppendResult } | { error: { status: number; code: string; message: string } };

/** What a writer answers: an {@link Answer}, or "leaving, committed nothing: ask the next". */
type Outcome = Answer | { redirect: true };

/** An append as forwarded: always with an id, so committing it twice stores it once. */
type ForwardedInput = NewMessage & { id: string };

/** What workers say to each other; `to` names the one worker a message is for. */
type LinkMessage =
  | { kind: "hello"; from: string }
  | { kind: "here"; from: string }
  | { kind: "bye"; from: string }
  | { kind: "append"; from: string; to: string; items: [number, string, ForwardedInput][] }
  | { kind: "appended"; from: string; to: string; items: [number, Outcome][] }
  | { kind: "committed"; from: string; rooms: [string, Message[]][] };

interface Forwarded {
  request: number;
  room: string;
  input: ForwardedInput;
  /** Whether the id was made here, so a "not created" answer can only mean an earlier try. */
  madeId: boolean;
  /** When it was sent to the writer; undefined while it waits for the room's earlier appends. */
  sentAt?: number;
  /** Whether this worker commits it itself (the writer did not answer in time). */
  local?: boolean;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

/** A room's forwarded appends: those sent and not yet answered, and those waiting behind them. */
interface RoomQueue {
  sent: Set<Forwarded>;
  waiting: Forwarded[];
}

/** Counters of a link, for metrics and tests. */
export interface LinkStats {
  /** Appends sent to the writer. */
  forwarded: number;
  /** Forwarded appends this worker committed itself after the writer did not answer in time. */
  timedOut: number;
}

/** How long a forwarded append waits for the writer before this worker commits it itself. */
export const FORWARD_TIMEOUT_MS = 1_000;
// Messages a writer stored this long before a forward was sent are searched too, in case the
// clock stepped back meanwhile.
const CLOCK_MARGIN_MS = 250;
/** How often a worker announces itself again, in case an announcement was lost. */
const ANNOUNCE_MS = 5_000;
/** How long a closed link still sends back appends forwarded to it. */
const CLOSE_LINGER_MS = 100;

function awaitingKey(room: string, id: string): string {
  return `${room}\n${id}`;
}

function answerOf(settled: PromiseSettledResult<AppendResult>): Answer {
  if (settled.status === "fulfilled") return { ok: settled.value };
  const error = settled.reason;
  return error instanceof ParleyError
    ? { error: { status: error.status, code: error.code, message: error.message } }
    : { error: { status: 503, code: "storage_unavailable", message: String(error) } };
}

function shuttingDown(): ParleyError {
  return new ParleyError(
    503,
    "storage_unavailable",
    "Cannot append the message: this worker is shutting down",
  );
}

/**
 * Whether a stored message could have been made from a forwarded send: the same author (name
 * and session) and text. Two sessions' sends of one id never match; one session's two sends of
 * one id through two workers, with the same text, both do (see PROTOCOL.md, Idempotency).
 */
function madeFrom(message: Message, input: ForwardedInput): boolean {
  return message.text === input.text && message.author === input.author &&
    message.authorId === input.authorId;
}

/** Links this worker's log with the other workers of its process that use the same store. */
export class WorkerLink {
  readonly id: string = crypto.randomUUID();
  readonly stats: LinkStats = { forwarded: 0, timedOut: 0 };
  #channel: BroadcastChannel;
  #log: MessageLog;
  #peers = new Set<string>();
  #nextRequest = 0;
  /** Forwarded appends not yet answered, by request number. */
  #forwarded = new Map<number, Forwarded>();
  /** Forwarded appends sent and not yet answered, by room and id. */
  #awaiting = new Map<string, Set<Forwarded>>();
  #rooms = new Map<string, RoomQueue>();
  /** Appends this worker is committing itself as the writer, by room: later forwards wait. */
  #direct = new Map<string, number>();
  /** Workers that left: never taken for peers again, whatever they still send. */
  #gone = new Set<string>();
  /** Rooms with appends to send at the end of this turn. */
  #outbox = new Set<string>();
  #committed: [string, Message[]][] = [];
  #stopListening: () => void;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #announcer: ReturnType<typeof setInterval>;
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
    this.#announcer = setInterval(() => this.#post({ kind: "hello", from: this.id }), ANNOUNCE_MS);
    Deno.unrefTimer(this.#announcer);
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
    clearInterval(this.#announcer);
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
    this.#sweeper = undefined;
    this.#outbox.clear();
    for (const forwarded of [...this.#forwarded.values()]) {
      this.#take(forwarded);
      forwarded.reject(shuttingDown());
    }
    this.#rooms.clear();
    setTimeout(() => {
      this.#closed = true;
      this.#channel.close();
    }, CLOSE_LINGER_MS);
  }

  #append(room: string, input: NewMessage): Promise<AppendResult> {
    // Appends still queued for the room go first, even once this worker writes itself.
    if (this.writer === this.id && !this.#rooms.has(room)) return this.#appendDirect(room, input);
    return new Promise((resolve, reject) => {
      const forwarded: Forwarded = {
        request: this.#nextRequest++,
        room,
        input: { ...input, id: input.id ?? serverMadeId() },
        madeId: input.id === undefined,
        resolve,
        reject,
      };
      this.#forwarded.set(forwarded.request, forwarded);
      this.#enqueue(forwarded);
    });
  }

  /**
   * Commits an append here, as the writer, and counts it while it is in flight: should another
   * worker become the writer meanwhile, the room's next forwards wait for it.
   */
  #appendDirect(room: string, input: NewMessage): Promise<AppendResult> {
    this.#direct.set(room, (this.#direct.get(room) ?? 0) + 1);
    const result = this.#log.appendHere(room, input);
    const done = () => {
      const left = this.#direct.get(room)! - 1;
      if (left > 0) return void this.#direct.set(room, left);
      this.#direct.delete(room);
      if (this.#rooms.get(room)?.sent.size === 0) this.#schedule(room);
    };
    result.then(done, done);
    return result;
  }

  /** Whether a room's waiting forwards must wait for earlier appends still in flight. */
  #busy(room: string, queue: RoomQueue): boolean {
    return queue.sent.size > 0 || this.#direct.has(room);
  }

  /** Queues a forward behind the room's unanswered ones, or for this turn's batch. */
  #enqueue(forwarded: Forwarded): void {
    let queue = this.#rooms.get(forwarded.room);
    if (!queue) this.#rooms.set(forwarded.room, queue = { sent: new Set(), waiting: [] });
    queue.waiting.push(forwarded);
    if (!this.#busy(forwarded.room, queue)) this.#schedule(forwarded.room);
  }

  #schedule(room: string): void {
    if (this.#closing) return;
    if (this.#outbox.size === 0) setTimeout(() => this.#flushOutbox(), 0);
    this.#outbox.add(room);
  }

  /** Sends the scheduled rooms' waiting appends to the writer, all in one message. */
  #flushOutbox(): void {
    const writer = this.writer;
    const now = Date.now();
    const items: [number, string, ForwardedInput][] = [];
    for (const room of this.#outbox) {
      const queue = this.#rooms.get(room);
      if (!queue || this.#busy(room, queue) || queue.waiting.length === 0) continue;
      const batch = queue.waiting;
      queue.waiting = [];
      if (writer === this.id) {
        // The writer left meanwhile: this worker writes now, in the same order.
        for (const forwarded of batch) {
          queue.sent.add(forwarded);
          this.#commitHere(forwarded);
        }
        continue;
      }
      for (const forwarded of batch) {
        forwarded.sentAt = now;
        queue.sent.add(forwarded);
        const key = awaitingKey(room, forwarded.input.id);
        const same = this.#awaiting.get(key);
        if (same) same.add(forwarded);
        else this.#awaiting.set(key, new Set([forwarded]));
      }
      for (const { request, input } of batch) items.push([request, room, input]);
    }
    this.#outbox.clear();
    if (items.length > 0) {
      this.stats.forwarded += items.length;
      this.#post({ kind: "append", from: this.id, to: writer, items });
    }
    this.#sweeper ??= setInterval(() => this.#sweep(), FORWARD_TIMEOUT_MS / 4);
  }

  /** Commits here what the writer has not answered in time (lost on the way, or gone). */
  #sweep(): void {
    const now = Date.now();
    const late: Forwarded[] = [];
    for (const forwarded of this.#forwarded.values()) {
      if (forwarded.sentAt === undefined || now - forwarded.sentAt < FORWARD_TIMEOUT_MS) continue;
      this.stats.timedOut++;
      // It stays in its room's sent set until stored, so later appends still wait for it, and
      // from now on only its own commit answers it.
      late.push(forwarded);
      forwarded.local = true;
    }
    for (const [room, items] of Map.groupBy(late, ({ room }) => room)) {
      this.#commitLate(room, items, Math.min(...items.map(({ sentAt }) => sentAt!)));
    }
    for (const forwarded of late) forwarded.sentAt = undefined;
    if (this.#forwarded.size === 0 || this.#closing) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /**
   * Commits a room's forwarded appends with this worker's own group commit, then answers them.
   * The writer may have stored them and only its answer was lost: in a busy room more than the
   * committer's window of ids (`lib/recent_ids.ts`) may have followed since, so the messages
   * stored since the first was sent are searched for their ids first.
   */
  async #commitLate(room: string, items: Forwarded[], sentAt: number): Promise<void> {
    const ids = new Set(items.map(({ input }) => input.id));
    const stored = await this.#log.findStoredSince(room, ids, sentAt - CLOCK_MARGIN_MS)
      .catch(() => new Map<string, Message>());
    for (const forwarded of items) {
      const message = stored.get(forwarded.input.id);
      if (message) this.#settle(forwarded, { ok: { message, created: false } });
      else this.#commitHere(forwarded);
    }
  }

  /** Commits a forwarded append with this worker's own group commit, then answers it. */
  #commitHere(forwarded: Forwarded): void {
    this.#log.appendHere(forwarded.room, forwarded.input).then(
      (result) => this.#settle(forwarded, { ok: result }),
      (error) => this.#settle(forwarded, answerOf({ status: "rejected", reason: error })),
    );
  }

  /** Answers a forwarded append, once, and sends the room's next appends. */
  #settle(forwarded: Forwarded, outcome: Answer): void {
    if (!this.#take(forwarded)) return;
    if ("ok" in outcome) {
      const { message, created } = outcome.ok;
      // An id made here was only ever sent by this call: found stored, it was this call's.
      forwarded.resolve({ message, created: created || forwarded.madeId });
    } else {
      const { status, code, message } = outcome.error;
      forwarded.reject(new ParleyError(status, code, message));
    }
  }

  /** Puts appends a leaving writer sent back in front of their rooms' queues, in order. */
  #requeue(sentBack: Forwarded[]): void {
    for (const [room, items] of Map.groupBy(sentBack, ({ room }) => room)) {
      const queue = this.#rooms.get(room);
      if (!queue) continue;
      for (const forwarded of items) {
        queue.sent.delete(forwarded);
        forwarded.sentAt = undefined;
        const key = awaitingKey(room, forwarded.input.id);
        this.#awaiting.get(key)?.delete(forwarded);
        if (this.#awaiting.get(key)?.size === 0) this.#awaiting.delete(key);
      }
      queue.waiting = [...items, ...queue.waiting];
      if (queue.sent.size === 0) this.#schedule(room);
    }
  }

  /** Takes a forwarded append out of every queue; false when it was answered already. */
  #take(forwarded: Forwarded): boolean {
    if (!this.#forwarded.delete(forwarded.request)) return false;
    const key = awaitingKey(forwarded.room, forwarded.input.id);
    const same = this.#awaiting.get(key);
    same?.delete(forwarded);
    if (same?.size === 0) this.#awaiting.delete(key);
    const queue = this.#rooms.get(forwarded.room);
    if (!queue) return true;
    queue.sent.delete(forwarded);
    // A forward sent back and requeued may be answered (by its own commit) while it waits.
    queue.waiting = queue.waiting.filter((waiting) => waiting !== forwarded);
    if (queue.sent.size > 0) return true;
    if (queue.waiting.length > 0) this.#schedule(forwarded.room);
    else this.#rooms.delete(forwarded.room);
    return true;
  }

  #broadcastCommitted(room: string, messages: Message[]): void {
    if (this.#peers.size === 0) return;
    if (this.#committed.push([room, messages]) === 1) {
      queueMicrotask(() => {
        const rooms = this.#committed;
        this.#committed = [];
        this.#post({ kind: "committed", from: this.id, rooms });
      });
    }
  }

  #receive(message: LinkMessage): void {
    if (this.#closed) return;
    if (message.kind === "bye") {
      // What was forwarded to it and stays unanswered is committed here by the sweep.
      this.#forgetPeer(message.from);
      return;
    }
    // Anyone who speaks is a peer, so a lost announcement is made good by any later message.
    if (!this.#leaving && !this.#gone.has(message.from)) this.#peers.add(message.from);
    switch (message.kind) {
      case "hello":
        if (!this.#leaving) this.#post({ kind: "here", from: this.id });
        return;
      case "append":
        if (message.to === this.id) this.#serve(message);
        return;
      case "appended": {
        if (message.to !== this.id) return;
        const sentBack: Forwarded[] = [];
        for (const [request, outcome] of message.items) {
          const forwarded = this.#forwarded.get(request);
          // One this worker commits itself is answered by that commit alone.
          if (!forwarded || forwarded.local) continue;
          if ("redirect" in outcome) sentBack.push(forwarded);
          else this.#settle(forwarded, outcome);
        }
        // A writer that sends appends back is leaving, whether or not its goodbye arrived.
        if (sentBack.length > 0) this.#forgetPeer(message.from);
        return this.#requeue(sentBack);
      }
      case "committed":
        for (const [room, messages] of message.rooms) {
          this.#answerFrom(room, messages);
          this.#log.publish(room, messages);
        }
    }
  }

  /** A peer left: it is never taken for one again, even if a late message of it arrives. */
  #forgetPeer(peer: string): void {
    this.#peers.delete(peer);
    this.#gone.add(peer);
  }

  /**
   * Answers the forwarded appends a commit broadcast stored: under each id, the first sent that
   * the message was made from. A message of that id made from another send (of this worker's, or
   * another worker's, sent to the writer first) answers none of them: each is a repeat, which the
   * writer answers itself, as not created.
   */
  #answerFrom(room: string, messages: Message[]): void {
    if (this.#awaiting.size === 0) return;
    for (const message of messages) {
      for (const forwarded of this.#awaiting.get(awaitingKey(room, message.id)) ?? []) {
        if (!madeFrom(message, forwarded.input)) continue;
        this.#settle(forwarded, { ok: { message, created: true } });
        break;
      }
    }
  }

  async #serve(message: Extract<LinkMessage, { kind: "append" }>): Promise<void> {
    const { from, items } = message;
    if (this.#leaving) {
      const answers = items.map(([request]): [number, Outcome] => [request, { redirect: true }]);
      return this.#post({ kind: "appended", from: this.id, to: from, items: answers });
    }
    const settled = await Promise.allSettled(
      items.map(([, room, input]) => this.#log.appendHere(room, input)),
    );
    // What a commit stored was answered by its broadcast, which goes out only while the sender
    // is a peer and this worker is not leaving (a sender that said goodbye meanwhile is no
    // longer one); the rest is answered here. A repeated id in one batch is answered both ways.
    const broadcast = this.#peers.has(from) && !this.#leaving;
    const answers = settled.flatMap((result, i): [number, Outcome][] =>
      result.status === "fulfilled" && result.value.created && broadcast
        ? []
        : [[items[i][0], answerOf(result)]]
    );
    if (answers.length > 0) {
      this.#post({ kind: "appended", from: this.id, to: from, items: answers });
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
