/**
 * The Parley client: one connection to one room over WebSocket, SSE or long-polling, with
 * resume from the last delivered seq, an outbox that sends one message at a time (so a sender's
 * messages are stored in the order they were sent) and retries unacknowledged sends with the
 * same id, and reconnects with exponential backoff and full jitter. Works in browsers and Deno.
 *
 * @module
 */
import type { Message } from "./types.ts";
import type { ParleyError } from "./errors.ts";
import { parseClientId, parseText } from "./validation.ts";
import type {
  ClosedReason,
  OpenTransport,
  Transport,
  TransportName,
} from "./transports/transport.ts";
import { openEventSource } from "./transports/event_source.ts";
import { openLongPoll } from "./transports/long_poll.ts";
import { onlinePeople, type OnlinePerson, typingPeople } from "./transports/presence_update.ts";
import { openWebSocket } from "./transports/websocket.ts";

export type { Message, OnlinePerson, TransportName };

/**
 * Where the connection stands: `connecting` until it is first live (however many tries fail),
 * `reconnecting` once it has been.
 */
export type ConnectionState = "connecting" | "live" | "reconnecting" | "closed";

/** The connection's state, the transport it uses, and when it will retry. */
export interface ConnectionStatus {
  state: ConnectionState;
  transport: TransportName;
  /** After a try failed: when the next attempt starts, in ms since the epoch. */
  retryAt?: number;
  /** Once closed for good: the error code that ended it. */
  error?: string;
}

/** A message the user sent that the server has not yet confirmed, or refused. */
export interface OutboxItem {
  id: string;
  text: string;
  state: "sending" | "failed";
  /** Why a failed message failed, as `"<message> (<code>)"`. */
  error?: string;
  /** Why a failed message failed: the error code and its sentence, apart. */
  failure?: Failure;
}

/** Why a message failed: a snake_case code for programs and a sentence for people. */
export interface Failure {
  code: string;
  message: string;
}

/**
 * Whether a stored message under an id this client sent is its own: it carries this session's
 * `authorId` (or none, as messages stored before there were author ids), or the text sent, as the
 * server decides for a sender come back under a new session. Otherwise another person took the id.
 */
export function isOwnMessage(
  message: Message,
  text: string,
  authorId: string | undefined,
): boolean {
  return message.authorId === undefined || message.authorId === authorId || message.text === text;
}

/** Options for {@link connect}. */
export interface ConnectOptions {
  /**
   * The display name to send under: a session with this name is created (or renamed) before
   * connecting. Without a name or token the connection only reads.
   */
  name?: string;
  /** A session token from {@link createSession}, for clients without cookies. */
  token?: string;
  /** Deliver every message after this seq; default: only new ones. */
  after?: number;
  /** The epoch `after` was issued in (from a page's props or an earlier connection). */
  epoch?: string;
  /**
   * The id of the message at `after`: the server checks it is still the one stored there, and
   * resyncs the connection if a log restored from a backup has given that seq to another since.
   */
  lastId?: string;
  /** Use only this transport (no fallback); default: WebSocket, falling back to SSE, then polling. */
  transport?: TransportName;
  /** The server's origin; default: the page's. */
  baseUrl?: string | URL;
  /**
   * This connection takes over from one that was live (a page connecting again under a new name):
   * its tries are reconnects, and its status says `reconnecting` until it opens.
   */
  wasLive?: boolean;
}

interface Listeners {
  messages: (messages: Message[]) => void;
  /** The cursor could not resume: these latest messages replace everything shown so far. */
  resync: (messages: Message[]) => void;
  status: (status: ConnectionStatus) => void;
  outbox: (items: OutboxItem[]) => void;
  /**
   * The display names online in the room, whenever that changes, and the same sessions with
   * their author ids (which a server before them does not give).
   */
  presence: (online: string[], people: OnlinePerson[]) => void;
  /**
   * The display names typing now, whenever that changes, and the same sessions with their author
   * ids (which a server before them does not give).
   */
  typing: (names: string[], people: OnlinePerson[]) => void;
}

const OPENERS: Record<TransportName, OpenTransport> = {
  ws: openWebSocket,
  sse: openEventSource,
  poll: openLongPoll,
};
/** The fallback order: each transport works through more proxies than the one before. */
const FALLBACK: TransportName[] = ["ws", "sse", "poll"];
/** Where the fallback a page settled on is remembered for the browser session. */
const REMEMBERED_TRANSPORT = "parley:transport";
/** How long a fallback is remembered: after that the next page tries WebSocket again. */
const FALLBACK_MEMORY_MS = 10 * 60_000;
/** Failures to open in a row after which the next transport is tried. */
const FAILURES_BEFORE_FALLBACK = 2;

const BACKOFF_BASE_MS = 250;
const TYPING_INTERVAL_MS = 2_000;
const BACKOFF_CAP_MS = 10_000;
const OPEN_TIMEOUT_MS = 5_000;
/**
 * The longest a transport is given to open. Each attempt that runs out of time gives the next
 * twice as long: over 2 s round trips a WebSocket's connection, TLS and upgrade take 6 s or more,
 * slow but working, while a proxy that blocks it without a word is still left after two tries.
 */
const MAX_OPEN_TIMEOUT_MS = 20_000;
/** How long a sent message may go unanswered on a live transport before it is sent again. */
const ANSWER_TIMEOUT_MS = 10_000;
/**
 * How long a sent message may go unanswered before the transport is asked to check its link (a
 * WebSocket pings, and gives the link up without an answer): a send into a dead link is sent
 * again over the next one within seconds, not after half a minute of silence.
 */
const ANSWER_CHECK_MS = 3_000;
/**
 * How many times in a row the message in flight may be answered "later" (or not at all) before
 * it is marked failed, so that one the server cannot take does not hold back every later one.
 * Tries while the device is offline do not count: they could not reach the server.
 */
const MAX_LATER_ANSWERS = 10;

let idCounter = 0;

/** Makes a client message id unique to this page load. */
function newClientId(): string {
  return `c-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}-${++idCounter}`;
}

/** A connection to one room; see {@link connect}. */
export class ChatConnection {
  #room: string;
  #name: string | undefined;
  #token: string | undefined;
  /** The session cookie holds the session (this page made it): no token goes in URLs. */
  #cookieSession = false;
  /** A socket came without the cookie (cleared, blocked, Secure over http): tokens in URLs. */
  #cookieFailed = false;
  /** The session was made again after the server said a send had none; reset by an ack. */
  #sessionRenewed = false;
  /** A session is being created: the transport opens when it is. */
  #startingSession = false;
  /** How many "later" answers the message in flight has had in a row. */
  #laterAnswers = { id: "", count: 0 };
  #baseUrl: URL;
  #transportName: TransportName;
  #transport: Transport | undefined;
  #last: number | undefined;
  /** The id of the message at `#last`, when it is known. */
  #lastId: string | undefined;
  #epoch: string | undefined;
  #authorId: string | undefined;
  /**
   * Messages not yet delivered back; `ackedSeq` is the seq an ack said one was stored under, in
   * the log of epoch `ackedEpoch`, on the transport that was the `ackedOpen`th to open.
   */
  #outbox = new Map<
    string,
    OutboxItem & { ackedSeq?: number; ackedEpoch?: string; ackedOpen?: number }
  >();
  /** How many transports have opened: the one open now is the last of them. */
  #opens = 0;
  #listeners: { [K in keyof Listeners]: Set<Listeners[K]> } = {
    messages: new Set(),
    resync: new Set(),
    presence: new Set(),
    typing: new Set(),
    status: new Set(),
    outbox: new Set(),
  };
  #status: ConnectionStatus;
  #attempt = 0;
  #forced: boolean;
  /** When typing was last told, on the page's monotonic clock: a clock set back holds none up. */
  #lastTyping = -Infinity;
  /** The id of the message on its way (or waiting to be sent again); the next waits for it. */
  #inFlight: string | undefined;
  /** Resends the message in flight: after the server's wait, or when it goes unanswered. */
  #resendTimer: ReturnType<typeof setTimeout> | undefined;
  #failedOpens = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #openTimer: ReturnType<typeof setTimeout> | undefined;
  /** How long the transport may take to open (see {@link MAX_OPEN_TIMEOUT_MS}). */
  #openTimeoutMs = OPEN_TIMEOUT_MS;
  /** A transport has opened (or one did on the connection this took over from): tries reconnect. */
  #wasLive: boolean;
  #closed = false;

  /**
   * @param room the room to join
   * @param options see {@link ConnectOptions}
   */
  constructor(room: string, options: ConnectOptions) {
    this.#room = room;
    this.#name = options.name;
    this.#token = options.token;
    this.#last = options.after;
    this.#lastId = options.lastId;
    this.#epoch = options.epoch;
    this.#baseUrl = new URL(options.baseUrl ?? globalThis.location.href);
    this.#forced = options.transport !== undefined;
    this.#transportName = options.transport ?? rememberedTransport() ?? FALLBACK[0];
    this.#wasLive = options.wasLive ?? false;
    this.#status = {
      state: this.#wasLive ? "reconnecting" : "connecting",
      transport: this.#transportName,
    };
    globalThis.addEventListener?.("online", this.#networkBack);
    globalThis.document?.addEventListener("visibilitychange", this.#wake);
    queueMicrotask(() => this.#open());
  }

  /** The display name this connection speaks as (the server stamps its sends with it). */
  get name(): string | undefined {
    return this.#name;
  }

  /** The seq of the last message delivered, which a reconnect resumes from. */
  get last(): number | undefined {
    return this.#last;
  }

  /** The current status. */
  get status(): ConnectionStatus {
    return this.#status;
  }

  /** A transport has opened on this connection (or on the one it took over from). */
  get wasLive(): boolean {
    return this.#wasLive;
  }

  /** The messages sent but not yet delivered back, oldest first. */
  get outbox(): OutboxItem[] {
    return [...this.#outbox.values()].map(({ id, text, state, failure }) => ({
      id,
      text,
      state,
      error: failure && `${failure.message} (${failure.code})`,
      failure,
    }));
  }

  /** The id of the message at `last`, when it is known (not after opening at the head). */
  get lastId(): string | undefined {
    return this.#lastId;
  }

  /** The epoch of the room's log that `last` belongs to. */
  get epoch(): string | undefined {
    return this.#epoch;
  }

  /**
   * The session's author id in the room, as the server said when the connection opened: the one
   * its own messages come back with (undefined before, and without a session).
   */
  get authorId(): string | undefined {
    return this.#authorId;
  }

  /** Listens for messages, resyncs, status, outbox or presence changes; returns an unsubscribe. */
  on<K extends keyof Listeners>(event: K, listener: Listeners[K]): () => void {
    this.#listeners[event].add(listener);
    return () => this.#listeners[event].delete(listener);
  }

  /**
   * Sends text; it waits in the outbox until the server confirms it. Returns its client id. Text
   * (or an id) the server would refuse fails at once, without a round trip; the rest goes trimmed,
   * with line endings as `\n`, as the server would store it.
   */
  send(text: string, id = newClientId()): string {
    let checked: string;
    try {
      parseClientId(id);
      checked = parseText(text);
    } catch (error) {
      const { code, message } = error as ParleyError;
      this.#outbox.set(id, { id, text, state: "sending" });
      this.#fail(id, { code, message });
      return id;
    }
    this.#outbox.set(id, { id, text: checked, state: "sending" });
    if (this.#closed) {
      this.#fail(id, this.#closedFailure());
      return id;
    }
    this.#emitOutbox();
    // Sending ends a spell of typing (the server drops it), so the next keystroke tells at once.
    this.#lastTyping = -Infinity;
    this.#sendNext();
    return id;
  }

  /** Tells the room you are typing; calls closer together than 2 s are dropped. */
  typing(): void {
    const now = performance.now();
    if (this.#status.state !== "live" || now - this.#lastTyping < TYPING_INTERVAL_MS) return;
    this.#lastTyping = now;
    this.#transport?.typing();
  }

  /** Sends a failed message again under its original id. */
  retry(id: string): void {
    const item = this.#outbox.get(id);
    if (!item || item.state !== "failed") return;
    this.#outbox.delete(id);
    // A retry starts afresh: the count of "later" answers, and the one new session it may make.
    if (this.#laterAnswers.id === id) this.#laterAnswers = { id: "", count: 0 };
    this.#sessionRenewed = false;
    this.send(item.text, id);
  }

  /** Drops a failed message from the outbox. */
  discard(id: string): void {
    if (this.#outbox.delete(id)) this.#emitOutbox();
  }

  /** Closes the connection for good. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#resendTimer);
    globalThis.removeEventListener?.("online", this.#networkBack);
    globalThis.document?.removeEventListener("visibilitychange", this.#wake);
    this.#dropTransport();
    this.#setStatus({ state: "closed", transport: this.#transportName });
  }

  #open(): void {
    if (this.#closed || this.#startingSession) return;
    if (this.#name !== undefined && this.#token === undefined) return void this.#startSession();
    // A transport still opening is replaced, never left running beside the new one.
    this.#dropTransport();
    const open = OPENERS[this.#transportName];
    const target = {
      baseUrl: this.#baseUrl,
      room: this.#room,
      token: this.#token,
      tokenInUrl: !this.#cookieSession,
      after: this.#last,
      epoch: this.#epoch,
      last: this.#lastId,
    };
    let current: Transport | undefined = undefined;
    const isCurrent = () => current !== undefined && this.#transport === current;
    // Cleared when it opens. A renewed stream opens while the status still says live: the status
    // cannot tell whether this transport opened.
    this.#openTimer = setTimeout(() => {
      if (!isCurrent()) return;
      this.#openTimeoutMs = Math.min(2 * this.#openTimeoutMs, MAX_OPEN_TIMEOUT_MS);
      this.#onTransportClosed({ opened: false });
    }, this.#openTimeoutMs);
    current = open(target, {
      open: (head, epoch, authorId) => {
        if (!isCurrent()) return;
        // A cursor from another epoch is answered with a resync right after this.
        this.#epoch = epoch;
        this.#authorId = authorId;
        clearTimeout(this.#openTimer);
        this.#attempt = 0;
        this.#failedOpens = 0;
        this.#last ??= head;
        this.#wasLive = true;
        this.#opens++;
        this.#setStatus({ state: "live", transport: this.#transportName });
        // What waited goes now, oldest first, one at a time.
        this.#sendNext();
      },
      messages: (messages) => isCurrent() && this.#deliver(messages),
      resync: (head, messages) => isCurrent() && this.#resync(head, messages),
      presence: (presence) => {
        if (!isCurrent()) return;
        const people = onlinePeople(presence);
        for (const listener of this.#listeners.presence) listener(presence.online, people);
        const typists = typingPeople(presence);
        for (const listener of this.#listeners.typing) listener(presence.typing, typists);
      },
      ack: (id, seq) => {
        if (!isCurrent()) return;
        const item = this.#outbox.get(id);
        if (item) {
          Object.assign(item, { ackedSeq: seq, ackedEpoch: this.#epoch, ackedOpen: this.#opens });
        }
        this.#sessionRenewed = false;
        // The server ended the typing spell as it took the message, maybe after a keystroke's
        // signal sent since (over HTTP they race): the next keystroke tells the room again.
        this.#lastTyping = -Infinity;
        this.#answered(id);
        // Stored before what this connection has delivered (sent again by a page reloaded after
        // it landed): it will not come again, so it leaves the outbox now.
        if (item && this.#last !== undefined && seq <= this.#last) {
          this.#outbox.delete(id);
          this.#emitOutbox();
        }
      },
      retryLater: (id, afterMs, code) => isCurrent() && this.#answerLater(id, afterMs, code),
      rejected: (id, code, message) => {
        if (!isCurrent()) return;
        if (code === "session_required" && this.#recoverSession()) return;
        this.#fail(id, { code, message });
        this.#answered(id);
      },
      closed: (reason) => isCurrent() && this.#onTransportClosed(reason),
    });
    this.#transport = current;
  }

  /** Creates the session named in the options, then opens the transport. */
  async #startSession(): Promise<void> {
    this.#startingSession = true;
    try {
      this.#token = (await createSession(this.#baseUrl, this.#name!)).token;
      // A page on the server's origin that takes cookies now has the session's cookie, which
      // goes with every request there.
      this.#cookieSession = !this.#cookieFailed &&
        globalThis.navigator?.cookieEnabled === true &&
        globalThis.location?.origin === this.#baseUrl.origin;
    } catch (error) {
      const code = (error as { code?: string }).code;
      const fatal = code === "invalid_author" ? code : undefined;
      return this.#onTransportClosed({ opened: false, fatal });
    } finally {
      this.#startingSession = false;
    }
    this.#open();
  }

  /**
   * Sends the oldest message not yet stored, unless one is on its way or waiting to be sent
   * again: one at a time, so the server stores a sender's messages in the order they were sent,
   * even when it asks for one to be sent again later. The server keeps a message once per id,
   * so sending one again after a lost answer is safe.
   */
  #sendNext(): void {
    if (this.#inFlight !== undefined || this.#status.state !== "live" || !this.#transport) return;
    const next = [...this.#outbox.values()].find((item) =>
      item.state === "sending" && item.ackedSeq === undefined
    );
    if (!next) return;
    this.#inFlight = next.id;
    this.#transport.send({ id: next.id, text: next.text });
    clearTimeout(this.#resendTimer);
    // No answer soon: the link may have stopped carrying without a word, which the transport
    // makes sure of now rather than after its silence runs out. No answer at all counts as
    // "later", at once.
    this.#resendTimer = setTimeout(() => {
      // Set before the check, which may give the link up (clearing it) at once.
      this.#resendTimer = setTimeout(
        () => this.#answerLater(next.id, 0),
        ANSWER_TIMEOUT_MS - ANSWER_CHECK_MS,
      );
      this.#transport?.check?.();
    }, ANSWER_CHECK_MS);
  }

  /**
   * The server asked for the message in flight again later, or did not answer: it goes again
   * after `afterMs` (unless answered or delivered first), or, after too many such answers in a
   * row, is marked failed so the ones after it can go. A rate limit does not count towards
   * those: it says when the message will be taken, and people sharing an address may each be
   * told "later" many times over while the address's rate is spent. Nor does a try made while the
   * device is offline (a train in a tunnel): it says nothing about the server, and the message
   * waits for the network, holding the ones after it in their order.
   */
  #answerLater(id: string, afterMs: number, code?: string): void {
    if (this.#inFlight !== id) return;
    clearTimeout(this.#resendTimer);
    if (this.#laterAnswers.id !== id) this.#laterAnswers = { id, count: 0 };
    const counts = code !== "rate_limited" && globalThis.navigator?.onLine !== false;
    if (counts && ++this.#laterAnswers.count >= MAX_LATER_ANSWERS) {
      const message = `The server could not take it after ${MAX_LATER_ANSWERS} tries`;
      this.#fail(id, { code: "retry_limit", message });
      return this.#answered(id);
    }
    this.#resendTimer = setTimeout(() => this.#answered(id), afterMs);
  }

  /**
   * The server found no session on a send: the session is gone (expired, or the server's data
   * was reset), or the socket came without the session cookie. Makes a new session, then (if
   * the server still finds none) puts the token in the URL instead of relying on the cookie,
   * and reconnects; says whether it did (if not, the send fails as refused).
   */
  #recoverSession(): boolean {
    if (this.#name !== undefined && !this.#sessionRenewed) {
      this.#sessionRenewed = true;
      this.#token = undefined;
    } else if (this.#cookieSession) {
      this.#cookieFailed = true;
      this.#cookieSession = false;
    } else {
      return false;
    }
    this.#dropTransport();
    clearTimeout(this.#resendTimer);
    this.#inFlight = undefined;
    // Not live until the new transport opens: sends wait for it.
    this.#tryNow();
    return true;
  }

  /** Closes the transport, if any, without the close counting as a failure. */
  #dropTransport(): void {
    const transport = this.#transport;
    this.#transport = undefined;
    transport?.close();
    clearTimeout(this.#openTimer);
  }

  /** Why nothing more can be sent, once the connection has closed for good. */
  #closedFailure(): Failure {
    const code = this.#status.state === "closed" && this.#status.error || "closed";
    const message = code === "room_not_found"
      ? "The room no longer exists"
      : "The connection has closed: reload the page to send it";
    return { code, message };
  }

  /**
   * The connection closed for good: what was waiting to be sent or to come back fails, so it can
   * be copied or discarded. One acknowledged is failed too: a connection closes for good when the
   * room is gone or the log was reset or restored, which takes its messages with it.
   */
  #failOutbox(): void {
    const failure = this.#closedFailure();
    for (const item of this.#outbox.values()) {
      if (item.state !== "sending") continue;
      item.state = "failed";
      item.failure = failure;
    }
    this.#emitOutbox();
  }

  /** Marks a message failed, for `failure`. */
  #fail(id: string, failure: Failure): void {
    const item = this.#outbox.get(id);
    if (!item) return;
    item.state = "failed";
    item.failure = failure;
    this.#emitOutbox();
  }

  /** The message in flight is stored, refused or due again: the oldest waiting one goes next. */
  #answered(id: string): void {
    if (this.#inFlight !== id) return;
    clearTimeout(this.#resendTimer);
    this.#inFlight = undefined;
    this.#sendNext();
  }

  #deliver(messages: Message[]): void {
    const fresh = messages.filter((message) => message.seq > (this.#last ?? -1));
    if (fresh.length === 0) return;
    this.#last = fresh[fresh.length - 1].seq;
    this.#lastId = fresh[fresh.length - 1].id;
    const delivered = this.#removeFromOutbox(fresh);
    for (const listener of this.#listeners.messages) listener(fresh);
    if (delivered) this.#emitOutbox();
  }

  #resync(head: number, messages: Message[]): void {
    this.#last = head;
    this.#lastId = messages.at(-1)?.seq === head ? messages.at(-1)?.id : undefined;
    this.#removeFromOutbox(messages);
    for (const [id, item] of this.#outbox) {
      if (item.ackedSeq === undefined) continue;
      // Acknowledged on this transport, it was stored after the resync's head was read: it comes
      // next, as any message does. One acknowledged earlier and past the head was stored in a log
      // since restored from a backup taken before it.
      const restoredAway = item.ackedSeq > head && item.ackedOpen !== this.#opens;
      if (item.ackedEpoch !== this.#epoch || restoredAway) {
        // Stored in a log that is gone (the server's data was reset or restored): sent again
        // under its id, which stores it once.
        item.ackedSeq = item.ackedEpoch = item.ackedOpen = undefined;
      } else if (item.ackedSeq <= head) {
        // Stored before the head but older than the messages the resync carries: it will not
        // be delivered now, so it leaves the outbox here.
        this.#outbox.delete(id);
      }
    }
    for (const listener of this.#listeners.resync) listener(messages);
    this.#emitOutbox();
    this.#sendNext();
  }

  /**
   * Drops this client's stored messages from the outbox (one in flight is answered); says whether
   * any were. Someone else's message under an item's id leaves the item, to be sent and refused
   * (`id_taken`) rather than vanish as if it had been stored.
   */
  #removeFromOutbox(messages: Message[]): boolean {
    let removed = false;
    for (const message of messages) {
      const item = this.#outbox.get(message.id);
      if (item === undefined) continue;
      if (item.ackedSeq === undefined && !isOwnMessage(message, item.text, this.#authorId)) {
        continue;
      }
      this.#outbox.delete(message.id);
      removed = true;
      this.#answered(message.id);
    }
    return removed;
  }

  #onTransportClosed(reason: ClosedReason): void {
    this.#dropTransport();
    clearTimeout(this.#resendTimer);
    // The answer to what was in flight is lost with the transport: it goes again once live.
    this.#inFlight = undefined;
    // Ended by the server only to be opened again: the next one opens now, and who is online
    // and the status stay as they are meanwhile.
    if (reason.renew && !this.#closed) return this.#open();
    // Who is online is only known while connected.
    for (const listener of this.#listeners.presence) listener([], []);
    for (const listener of this.#listeners.typing) listener([], []);
    if (this.#closed) return;
    if (reason.fatal) {
      this.#closed = true;
      this.#setStatus({ state: "closed", transport: this.#transportName, error: reason.fatal });
      this.#failOutbox();
      return;
    }
    // A transport that cannot open while the server answers plain HTTP is being blocked (a
    // proxy): after repeated failures, fall back. A server that is down says nothing about it.
    if (!reason.opened && !reason.busy && !this.#forced) {
      const transport = this.#transportName;
      serverReachable(this.#baseUrl).then((reachable) => {
        if (!reachable || this.#closed || this.#transportName !== transport) return;
        // A later try came through while the server was asked (a slow link): it is kept.
        if (this.#status.state === "live") return;
        if (++this.#failedOpens >= FAILURES_BEFORE_FALLBACK) this.#fallBack();
      });
    }
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** this.#attempt);
    const delay = Math.random() * ceiling;
    this.#attempt++;
    this.#tryingAt(Date.now() + delay);
    this.#retryTimer = setTimeout(() => this.#open(), delay);
  }

  /**
   * Moves to the next transport after repeated failures to open, and remembers it. It is tried at
   * once, and the banner names it: the backoff grew with the failures of the one left, which
   * over a slow link kept failing while the server was asked whether it answers at all.
   */
  #fallBack(): void {
    const next = FALLBACK[FALLBACK.indexOf(this.#transportName) + 1];
    if (this.#forced || next === undefined) return;
    this.#transportName = next;
    this.#failedOpens = 0;
    this.#attempt = 0;
    this.#openTimeoutMs = OPEN_TIMEOUT_MS;
    try {
      const remembered = { transport: next, at: Date.now() };
      globalThis.sessionStorage?.setItem(REMEMBERED_TRANSPORT, JSON.stringify(remembered));
    } catch {
      // Storage may be disabled; the fallback then lasts for this connection only.
    }
    this.#tryNow();
  }

  /**
   * While waiting for the next try, tries at once instead (someone asked to); does nothing while
   * live, already trying, or closed.
   */
  reconnectNow(): void {
    if (this.#closed || this.#status.state === "live") return;
    // Already trying: a transport or a session on its way.
    if (this.#transport !== undefined || this.#startingSession) return;
    this.#tryNow();
  }

  /** Opens the transport now, in place of the retry waited for; the status stops counting down. */
  #tryNow(): void {
    clearTimeout(this.#retryTimer);
    this.#tryingAt(Date.now());
    this.#open();
  }

  /**
   * Says when the next try starts (now, for one starting now): still connecting if no transport
   * has opened yet, as on a first load whose first try failed; reconnecting once one has.
   */
  #tryingAt(retryAt: number): void {
    const state = this.#wasLive ? "reconnecting" : "connecting";
    this.#setStatus({ state, transport: this.#transportName, retryAt });
  }

  /**
   * The tab shown again (or the network back, see {@link #networkBack}): no reason to wait out the
   * backoff; and a link that looks live may have died meanwhile (a laptop asleep), which the
   * transport makes sure of now.
   */
  #wake = (): void => {
    if (globalThis.document?.visibilityState === "hidden") return;
    if (this.#status.state === "live") this.#transport?.check?.();
    else this.reconnectNow();
  };

  /**
   * Back online, maybe on another network (out of a tunnel, from Wi-Fi to mobile data): a link
   * opened on the old one may be dead without a word, and would be trusted until its silence ran
   * out, half a minute and more, while sends went nowhere. It is opened again, resuming where it
   * was; one that was not live is tried at once.
   */
  #networkBack = (): void => {
    if (this.#status.state === "live") this.#onTransportClosed({ opened: true });
    else this.#wake();
  };

  #setStatus(status: ConnectionStatus): void {
    this.#status = status;
    for (const listener of this.#listeners.status) listener(status);
  }

  #emitOutbox(): void {
    const items = this.outbox;
    for (const listener of this.#listeners.outbox) listener(items);
  }
}

/**
 * Picks or changes the display name: creates (or renames) the session, which sets the session
 * cookie in a browser, and returns the token for clients without cookies.
 */
export async function createSession(
  baseUrl: string | URL,
  name: string,
): Promise<{ name: string; token: string }> {
  const response = await fetch(new URL("/api/session", baseUrl), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name }),
    // A connection waits for its session: one that never comes must not hold it up for good.
    signal: AbortSignal.timeout(OPEN_TIMEOUT_MS),
  });
  const body = await response.json();
  if (!response.ok) {
    throw Object.assign(new Error(body.error?.message ?? response.statusText), {
      code: body.error?.code,
    });
  }
  return { name: body.session.name, token: body.token };
}

/** Whether the server answers plain HTTP (its health check) within a few seconds. */
async function serverReachable(baseUrl: URL): Promise<boolean> {
  try {
    const response = await fetch(new URL("/healthz", baseUrl), {
      signal: AbortSignal.timeout(OPEN_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * The fallback this browser session settled on in the last 10 minutes, if any: the network (a
 * proxy, a train's Wi-Fi) may let WebSockets through again later.
 */
function rememberedTransport(): TransportName | undefined {
  try {
    const stored = globalThis.sessionStorage?.getItem(REMEMBERED_TRANSPORT);
    const { transport, at } = JSON.parse(stored ?? "null") ?? {};
    if (typeof at !== "number" || Date.now() - at > FALLBACK_MEMORY_MS) return undefined;
    return FALLBACK.find((name) => name === transport);
  } catch {
    return undefined;
  }
}

/** Connects to a room; see {@link ChatConnection}. */
export function connect(room: string, options: ConnectOptions): ChatConnection {
  return new ChatConnection(room, options);
}
