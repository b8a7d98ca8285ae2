import { Delivery, toDeliveries } from "./delivery.ts";
import { roomNotFound, shuttingDown } from "./errors.ts";
import { LOG_CLOCK_KEY, roomKey } from "./keys.ts";
import { getAll } from "./kv_reads.ts";
import type { MessageLog } from "./message_log.ts";
import {
  nobodyPresent,
  type Presence,
  presenceMarkKey,
  presenceVersion,
  type RoomPresence,
} from "./presence.ts";
import { HistoryTrimmedError, withTrimmed } from "./room_reader.ts";
import { RoundRobin } from "./round_robin.ts";
import type { Message, Room, StoredRoom } from "./types.ts";

export { Delivery };

/** A live subscription to a room; `close()` stops delivery and frees the room's watch when last. */
export interface Subscription {
  /** The room's head when the subscription started. */
  readonly head: number;
  close(): void;
}

/** Called with each batch, in seq order, with no gaps and no repeats. */
export type DeliveryListener = (delivery: Delivery) => void;

/** Options of {@link Hub.subscribe}. */
export interface SubscribeOptions {
  /** Deliver every message after this seq first; default: the head now (only new messages). */
  after?: number;
  /** Called once with the head, before any delivery (to send a welcome); awaited. */
  onStart?: (head: number) => void | Promise<void>;
  /** Called with who is online and typing once live, then whenever that changes. */
  onPresence?: (presence: RoomPresence) => void;
  /**
   * The subscriber's own presence entry, being written: the first `onPresence` waits for it and
   * a read of the room's presence after it, so that it lists the subscriber's own session.
   */
  joined?: Promise<void>;
  /**
   * Called when retention deleted messages this subscriber had not been sent yet (its feed fell
   * behind by more than the history limit): nothing more is delivered, and the subscriber should
   * end, so that its client reconnects from its cursor and is resynced.
   */
  onGap?: () => void;
  /**
   * Awaited after each delivery of the backlog: resolves to false when the subscriber has ended
   * (say, as a slow consumer), which ends the backlog. It paces a long backlog to the client's
   * reading (see `lib/room_to_write.ts`).
   */
  backlogRoom?: () => Promise<boolean>;
}

/** Options of {@link Hub.poll}. */
export interface PollOptions {
  /** The presence version the client last saw; a different one answers at once. */
  seenPresence?: string;
  /** The most messages to answer with. */
  limit: number;
  /** How long to wait for a message, in ms. */
  waitMs: number;
  /** Aborted when the client gives up; frees the waiter at once. */
  signal?: AbortSignal;
}

/** What a poll answers: the messages after the cursor (up to the limit) and the head. */
export interface PollResult {
  head: number;
  messages: Message[];
}

/** Options of {@link Hub}. */
export interface HubOptions {
  /** Keep a room's watch this long after its last subscriber leaves (poll clients come back). */
  lingerMs?: number;
  /**
   * Also check each watched room about this often, in ms (0: never): its head, when the log clock
   * moved since its feed last caught up, and its presence, when the room's presence mark moved or
   * an entry read before ran out. A safety net for separate server processes on one KV file,
   * whose appends `kv.watch` does not report to each other, for lost commit broadcasts, and for
   * presence that expires. The checks are spread over the interval, a tenth of the rooms at a
   * time, so a worker with many rooms does not pause for all of them at once; the keys of a tenth
   * are read ten to a `getMany`.
   */
  headCheckMs?: number;
  /** Where presence and typing live; without it rooms report nobody. */
  presence?: Presence;
  /**
   * Whether each room's feed watches its record with `kv.watch` (default true). Without a
   * watch, a feed learns of new messages only from `log.onCommitted` and the head check: enough
   * when every commit in the process reaches `onCommitted` (a worker link does that).
   */
  watch?: boolean;
  /**
   * The least time between two deliveries of one room to its subscribers, in ms (default 0: each
   * as it comes). A room's first messages after a quiet spell go out at once; what arrives sooner
   * after a delivery waits for the rest of the interval and goes out with it, in as few frames as
   * fit (see `lib/delivery.ts`). Waiting polls are answered at once either way.
   */
  deliveryIntervalMs?: number;
}

const PAGE = 500;
/**
 * How many messages a backlog reads at a time: it waits for the client between deliveries, and
 * what it has read meanwhile is held for it (up to 50 messages of 16 KiB).
 */
const BACKLOG_PAGE = 50;
/**
 * The most of the live room a subscriber holds while its backlog loads, in the bytes its
 * deliveries are estimated at (see `lib/delivery.ts`): past it, what it holds is let go and read
 * again from the log when the backlog gets there, so a reader that paces a long backlog slowly
 * cannot make the worker keep a busy room's messages for it meanwhile.
 */
export const MAX_HELD_BYTES = 1024 * 1024;
/** How long local presence changes are gathered before the room's presence is re-read. */
const PRESENCE_COALESCE_MS = 50;

const SWEEP_MS = 250;
/** Into how many turns the head and presence checks of the open rooms are spread. */
const CHECK_SLICES = 10;

class Subscriber {
  #held: Delivery[] | null = [];
  /** What {@link #held} takes, in {@link Delivery.bytes}. */
  #heldBytes = 0;
  /** The last seq of the live messages let go while the backlog loaded, to read from the log. */
  dropped = 0;
  #gapped = false;
  /** The last seq retention deleted before the feed read it, while the backlog was loading. */
  #trimmedWhileLoading = 0;

  onPresence: ((presence: RoomPresence) => void) | undefined;

  constructor(
    public last: number,
    readonly listener: DeliveryListener,
    readonly onGap: (() => void) | undefined,
  ) {}

  /** Delivers what is new to this subscriber; holds it while the backlog is still loading. */
  offer(delivery: Delivery): void {
    if (this.#gapped) return;
    if (this.#held) return this.#hold(delivery);
    const fresh = delivery.after(this.last);
    if (!fresh) return;
    this.last = fresh.last;
    try {
      this.listener(fresh);
    } catch (error) {
      console.error("A subscriber failed to take a delivery:", error);
    }
  }

  /** Holds a delivery while the backlog loads; past {@link MAX_HELD_BYTES}, lets all go. */
  #hold(delivery: Delivery): void {
    this.#held!.push(delivery);
    this.#heldBytes += delivery.bytes;
    if (this.#heldBytes <= MAX_HELD_BYTES) return;
    this.dropped = delivery.last;
    this.#held = [];
    this.#heldBytes = 0;
  }

  /**
   * The feed skipped messages up to `trimmed`, which retention deleted before it read them: a
   * subscriber yet to get them gets nothing more, and is told. One still loading its backlog has
   * no cursor yet, so it is judged once its backlog has gone.
   */
  trimmed(trimmed: number): void {
    if (this.#held !== null) {
      this.#trimmedWhileLoading = Math.max(this.#trimmedWhileLoading, trimmed);
    } else if (this.last < trimmed) {
      this.#gap();
    }
  }

  #gap(): void {
    if (this.#gapped) return;
    this.#gapped = true;
    try {
      this.onGap?.();
    } catch (error) {
      console.error("A subscriber failed to take a gap:", error);
    }
  }

  /**
   * Tells who is online and typing in `room`, once told the first time; a listener's throw is
   * logged, so that it keeps nobody else from being told.
   */
  tellPresence(presence: RoomPresence, room: string): void {
    try {
      this.onPresence?.(presence);
    } catch (error) {
      console.error(`Cannot tell a subscriber of room "${room}" who is there:`, error);
    }
  }

  /** Ends the backlog phase and hands over what arrived meanwhile. */
  goLive(): void {
    const held = this.#held ?? [];
    this.#held = null;
    if (this.last < this.#trimmedWhileLoading) return this.#gap();
    for (const delivery of held) this.offer(delivery);
  }
}

/** A long-poll request waiting for the first message after its cursor. */
interface Waiter {
  after: number;
  deadline: number;
  /** Whether the poll follows presence, and so is answered when it changes. */
  followsPresence: boolean;
  finish(messages: Message[]): void;
}

/** One room watched by this worker: one `kv.watch`, shared by all local subscribers. */
class RoomFeed {
  readonly subscribers = new Set<Subscriber>();
  readonly waiters = new Set<Waiter>();
  presence: RoomPresence = nobodyPresent();
  closed = false;
  cursor: number;
  lingering: ReturnType<typeof setTimeout> | undefined;
  #reader: ReadableStreamDefaultReader<Deno.KvEntryMaybe<unknown>[]> | undefined;
  #catchingUp: Promise<void> = Promise.resolve();
  /** Messages up to the cursor not yet handed to subscribers, waiting for the interval to pass. */
  #outbox: Message[] = [];
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #lastFlush = -Infinity;
  /** The versionstamp of the presence mark the last read was made after (undefined: none). */
  #presenceMark: string | null | undefined;
  /** When an entry of the last presence read runs out. */
  #presenceExpires = -Infinity;
  /** Presence reads started, and the number of the newest whose result was applied. */
  #presenceReads = 0;
  #presenceApplied = 0;
  /**
   * The log clock's versionstamp as read before the last check that found the feed caught up
   * with its room's record (undefined: none yet); while the clock still reads so, no commit has
   * happened since, and the record need not be read again.
   */
  clockSeen: string | null | undefined;
  /** The room's `trimmed` as the last head check read it. */
  #trimmedSeen = 0;

  constructor(
    /** The room's record as read when the feed opened (its head is the cursor's start). */
    readonly record: Room,
    kv: Deno.Kv,
    readonly log: MessageLog,
    watch: boolean,
    readonly deliveryIntervalMs: number,
  ) {
    this.cursor = record.head;
    if (watch) {
      this.#reader = kv.watch([roomKey(record.id)]).getReader();
      this.#pump(this.#reader);
    }
  }

  /** Reads presence and, when it changed, tells subscribers and answers waiting polls. */
  async checkPresence(presence: Presence): Promise<void> {
    const read = ++this.#presenceReads;
    const { presence: next, expires } = await presence.read(this.record.id);
    // A read that finished after a newer one must not put back what it saw.
    if (read < this.#presenceApplied) return;
    this.#presenceApplied = read;
    this.#presenceExpires = expires;
    if (JSON.stringify(next) === JSON.stringify(this.presence)) return;
    this.presence = next;
    for (const subscriber of this.subscribers) subscriber.tellPresence(next, this.record.id);
    for (const waiter of this.waiters) if (waiter.followsPresence) waiter.finish([]);
  }

  /**
   * Reads presence again when the room's presence mark, as just read, moved since the last
   * read after it, or when an entry of that read has run out; otherwise it still holds.
   */
  async seePresenceMark(mark: string | null, presence: Presence): Promise<void> {
    if (mark === this.#presenceMark && Date.now() < this.#presenceExpires) return;
    await this.checkPresence(presence);
    this.#presenceMark = mark;
  }

  /**
   * Catches up to the room's record as read directly, for wake-ups `kv.watch` cannot carry
   * (another process), and once caught up remembers `clock`, the log clock read before it. A
   * record whose retention first passed the cursor is left to the next check: it may be a linked
   * worker's commit whose broadcast is on its way, and reading it from KV would end every
   * subscriber; only a feed that stayed behind what the last check saw trimmed reads it.
   */
  async seeRecord(room: Room | null, clock: string | null): Promise<void> {
    const trimmedSeen = this.#trimmedSeen;
    this.#trimmedSeen = room?.trimmed ?? 0;
    if (room && room.head > this.cursor) {
      const onItsWay = room.trimmed > this.cursor && trimmedSeen <= this.cursor;
      if (!onItsWay) await this.#catchUpTo(room.head);
    }
    if (room === null || this.cursor >= room.head) this.clockSeen = clock;
  }

  get idle(): boolean {
    return this.subscribers.size === 0 && this.waiters.size === 0;
  }

  async #pump(reader: ReadableStreamDefaultReader<Deno.KvEntryMaybe<unknown>[]>): Promise<void> {
    try {
      while (!this.closed) {
        const { done, value } = await reader.read();
        if (done) break;
        const room = value[0].value as Room | null;
        if (room && room.head > this.cursor) await this.#catchUpTo(room.head);
      }
    } catch (error) {
      if (!this.closed) console.error(`The watch on room "${this.record.id}" failed:`, error);
    }
  }

  /**
   * Catches up to `head`, one catch-up at a time, whoever asked for it. A head read ahead of the
   * cursor may be this worker's own commit, seen in the store before the commit hands its
   * messages over (see {@link offerCommitted}): that hand-over is waited for and goes first, so
   * only what never comes in memory is read from KV, where retention may have deleted it already.
   */
  async #catchUpTo(head: number): Promise<void> {
    await this.log.settled();
    return await this.#inTurn(() => this.#catchUp(head));
  }

  /** Runs a step that moves the cursor after every step asked for before it. */
  #inTurn(step: () => void | Promise<void>): Promise<void> {
    this.#catchingUp = this.#catchingUp.then(step).catch((error) => {
      if (!this.closed) {
        console.error(`Cannot read new messages of room "${this.record.id}":`, error);
      }
    });
    return this.#catchingUp;
  }

  /**
   * Delivers messages just committed (by this worker or a linked one) without reading them back
   * from KV. When they do not continue from the cursor, something in between was missed (a lost
   * broadcast): read up to them from KV instead.
   */
  offerCommitted(messages: Message[]): void {
    this.#inTurn(async () => {
      const last = messages[messages.length - 1].seq;
      if (this.closed || last <= this.cursor) return;
      if (messages[0].seq > this.cursor + 1) return await this.#catchUp(last);
      this.#deliver(messages.filter(({ seq }) => seq > this.cursor));
    });
  }

  async #catchUp(head: number): Promise<void> {
    while (this.cursor < head && !this.closed) {
      let messages: Message[];
      try {
        messages = await this.log.readAfter(this.record.id, this.cursor, PAGE);
      } catch (error) {
        if (!(error instanceof HistoryTrimmedError)) throw error;
        this.#skipTrimmed(error.trimmed);
        continue;
      }
      if (messages.length === 0) break;
      this.#deliver(messages);
    }
  }

  /**
   * Retention deleted messages right after the cursor, up to `trimmed`, before the feed read
   * them (it fell behind by more than the history limit). No client may see that gap: each
   * subscriber yet to get them is told (it ends, and its client's reconnect is resynced), each
   * poll waiting for them is answered with nothing (its next poll is resynced), and the cursor
   * moves past them, so the feed reads on from the first message kept.
   */
  #skipTrimmed(trimmed: number): void {
    for (const subscriber of this.subscribers) subscriber.trimmed(trimmed);
    for (const waiter of [...this.waiters]) {
      if (waiter.after < trimmed) waiter.finish([]);
    }
    this.cursor = Math.max(this.cursor, trimmed);
  }

  /**
   * Moves the cursor past consecutive messages after it, answers the waiting polls they continue
   * from, and hands them to subscribers: now, or together with what follows once the delivery
   * interval since their last delivery has passed.
   */
  #deliver(messages: Message[]): void {
    // A read that was in flight when the feed closed has nobody left to deliver to.
    if (this.closed) return;
    this.cursor = messages[messages.length - 1].seq;
    for (const waiter of this.waiters) {
      // Only a batch that continues right after the poll's cursor may answer it; a poll whose
      // cursor the feed had already passed is answered by its own read (see poll()).
      if (messages[0].seq > waiter.after + 1) continue;
      const fresh = messages.filter((message) => message.seq > waiter.after);
      if (fresh.length > 0) waiter.finish(fresh);
    }
    this.#outbox.push(...messages);
    if (this.#flushTimer !== undefined) return;
    const wait = this.#lastFlush + this.deliveryIntervalMs - performance.now();
    if (wait <= 0) return this.#flush();
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flush();
    }, wait);
  }

  /** Hands the outbox to every subscriber. */
  #flush(): void {
    const messages = this.#outbox;
    this.#outbox = [];
    this.#lastFlush = performance.now();
    for (const delivery of toDeliveries(messages)) {
      for (const subscriber of this.subscribers) subscriber.offer(delivery);
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.lingering);
    clearTimeout(this.#flushTimer);
    this.#reader?.cancel().catch(() => {});
  }
}

/**
 * The per-worker fan-out: one KV watch per room that has local subscribers or waiting polls,
 * each wake-up read once with `list` and serialised once, then handed to all of them.
 */
export class Hub {
  #kv: Deno.Kv;
  #log: MessageLog;
  #lingerMs: number;
  #feeds = new Map<string, Promise<RoomFeed>>();
  #waiters = new Set<Waiter>();
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #headCheckMs: number;
  #headChecker: ReturnType<typeof setInterval> | undefined;
  /** The open rooms, dealt into the turns of {@link #headChecker}. */
  #checks = new RoundRobin<RoomFeed>(CHECK_SLICES);
  #presence: Presence | undefined;
  #watch: boolean;
  #deliveryIntervalMs: number;
  #open = new Map<string, RoomFeed>();
  /** Commits announced for rooms whose feeds are reading their records, kept for those feeds. */
  #opening = new Map<string, Message[][]>();
  #closed = false;
  #stopListening: () => void;
  #presenceRefreshes = new Map<
    string,
    { promise: Promise<void>; resolve: () => void; timer: ReturnType<typeof setTimeout> }
  >();

  /**
   * @param kv the store whose room records are watched
   * @param log the log messages are read from
   * @param options see {@link HubOptions}
   */
  constructor(kv: Deno.Kv, log: MessageLog, options: HubOptions = {}) {
    this.#kv = kv;
    this.#log = log;
    this.#stopListening = log.onCommitted((room, messages) => {
      const feed = this.#open.get(room);
      if (feed) feed.offerCommitted(messages);
      else this.#opening.get(room)?.push(messages);
    });
    this.#lingerMs = options.lingerMs ?? 0;
    this.#headCheckMs = options.headCheckMs ?? 0;
    this.#presence = options.presence;
    this.#watch = options.watch ?? true;
    this.#deliveryIntervalMs = options.deliveryIntervalMs ?? 0;
  }

  /** How many rooms this worker is watching now. */
  get watchedRooms(): number {
    return this.#feeds.size;
  }

  /**
   * A room this worker follows now, with the newest seq its feed has reached as its head (waiting
   * polls are answered up to it; sockets and streams may still wait out the delivery interval);
   * undefined when it does not follow the room. The head may trail the store's by a moment.
   */
  liveRoom(room: string): Room | undefined {
    const feed = this.#open.get(room);
    return feed && !feed.closed ? { ...feed.record, head: feed.cursor } : undefined;
  }

  /** Who is online and typing in a room this worker watches (nobody when it does not). */
  presenceOf(room: string): RoomPresence {
    return this.#open.get(room)?.presence ?? nobodyPresent();
  }

  /**
   * Re-reads a watched room's presence soon, after a local join, leave or keystroke. Requests
   * within {@link PRESENCE_COALESCE_MS} share one read, so a crowd joining at once costs a few
   * reads, not one per person.
   */
  refreshPresence(room: string): Promise<void> {
    // A closed hub reads nothing more, and leaves no timer behind.
    if (this.#closed) return Promise.resolve();
    const pending = this.#presenceRefreshes.get(room);
    if (pending) return pending.promise;
    const { promise, resolve } = Promise.withResolvers<void>();
    const timer = setTimeout(async () => {
      this.#presenceRefreshes.delete(room);
      const feed = this.#open.get(room);
      if (this.#presence && feed) await feed.checkPresence(this.#presence).catch(() => {});
      resolve();
    }, PRESENCE_COALESCE_MS);
    const refresh = { promise, resolve, timer };
    this.#presenceRefreshes.set(room, refresh);
    return refresh.promise;
  }

  /** How many long-poll requests are waiting now. */
  get waitingPolls(): number {
    return this.#waiters.size;
  }

  /**
   * Subscribes to a room: first every message after `after`, then every new one. Throws
   * `room_not_found` for an unknown room.
   */
  async subscribe(
    room: string,
    listener: DeliveryListener,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    const subscriber = new Subscriber(0, listener, options.onGap);
    const feed = await this.#joinFeed(room, (feed) => feed.subscribers.add(subscriber));
    const subscription = {
      head: 0,
      close: () => {
        feed.subscribers.delete(subscriber);
        this.#leave(feed);
      },
    };
    try {
      // The head is read after joining, so it is at least the feed's cursor: backlog and live
      // deliveries overlap rather than leave a gap, and the overlap is filtered by seq.
      subscription.head = (await this.#log.getRoom(room))?.head ?? 0;
      subscriber.last = Math.min(options.after ?? subscription.head, subscription.head);
      await options.onStart?.(subscription.head);
      await this.#sendBacklog(room, subscriber, subscription.head, options.backlogRoom);
    } catch (error) {
      subscription.close();
      throw error;
    }
    // It never rejects: its waits do not, and telling is guarded.
    if (options.onPresence) {
      void this.#firstPresence(feed, subscriber, options.onPresence, options.joined);
    }
    return subscription;
  }

  /**
   * Tells a subscriber the room's presence, once its own entry (if any) is written and read back,
   * and from then on every change. The read is the coalesced refresh that tells the room's other
   * subscribers of the join; meanwhile messages flow.
   */
  async #firstPresence(
    feed: RoomFeed,
    subscriber: Subscriber,
    onPresence: (presence: RoomPresence) => void,
    joined: Promise<void> | undefined,
  ): Promise<void> {
    if (joined) {
      await joined;
      await this.refreshPresence(feed.record.id);
    }
    // Gone meanwhile, or the hub closed: subscribers of a closed hub are told nothing more.
    if (feed.closed || !feed.subscribers.has(subscriber)) return;
    subscriber.onPresence = onPresence;
    subscriber.tellPresence(feed.presence, feed.record.id);
  }

  /**
   * Waits for the first messages after `after` and answers with up to `limit` of them and the
   * newest seq this worker has seen, or with none once `waitMs` passes or `signal` aborts.
   * Throws `room_not_found` for an unknown room.
   */
  async poll(room: string, after: number, options: PollOptions): Promise<PollResult> {
    const { promise, resolve } = Promise.withResolvers<PollResult>();
    let feed: RoomFeed | undefined;
    const waiter: Waiter = {
      after,
      deadline: Date.now() + options.waitMs,
      followsPresence: options.seenPresence !== undefined,
      finish: (messages) => {
        if (!feed?.waiters.delete(waiter)) return;
        this.#waiters.delete(waiter);
        options.signal?.removeEventListener("abort", abort);
        this.#leave(feed);
        const head = Math.max(feed.cursor, messages.at(-1)?.seq ?? 0);
        resolve({ head, messages: messages.slice(0, options.limit) });
      },
    };
    const abort = () => waiter.finish([]);
    const joined = await this.#joinFeed(room, (joined) => {
      feed = joined;
      joined.waiters.add(waiter);
      this.#waiters.add(waiter);
    });
    this.#sweeper ??= setInterval(() => this.#sweep(), SWEEP_MS);
    if (options.signal?.aborted) abort();
    options.signal?.addEventListener("abort", abort, { once: true });
    if (options.seenPresence !== undefined) {
      if (presenceVersion(joined.presence) !== options.seenPresence) waiter.finish([]);
    }
    // A message the feed has already passed would never wake us: read it now instead.
    if (joined.cursor > after) {
      // A cursor retention passed meanwhile gets nothing here; its next poll is resynced.
      this.#log.readAfter(room, after, options.limit)
        .then(waiter.finish, () => waiter.finish([]));
    }
    return await promise;
  }

  /** Stops every watch and answers every waiting poll; subscribers receive nothing more. */
  close(): void {
    this.#closed = true;
    this.#stopListening();
    for (const { timer, resolve } of this.#presenceRefreshes.values()) {
      clearTimeout(timer);
      resolve();
    }
    this.#presenceRefreshes.clear();
    for (const waiter of [...this.#waiters]) waiter.finish([]);
    for (const feed of this.#feeds.values()) feed.then((f) => f.close(), () => {});
    this.#feeds.clear();
    this.#open.clear();
    this.#checks = new RoundRobin<RoomFeed>(CHECK_SLICES);
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    clearInterval(this.#headChecker);
    this.#headChecker = undefined;
  }

  #sweep(): void {
    const now = Date.now();
    for (const waiter of this.#waiters) {
      if (waiter.deadline <= now) waiter.finish([]);
    }
    if (this.#waiters.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /**
   * Sends a subscriber every message up to `head`, and up to the live messages it let go
   * meanwhile, then makes it live in the same turn as it last found none let go past its cursor.
   */
  async #sendBacklog(
    room: string,
    subscriber: Subscriber,
    head: number,
    hasRoom?: () => Promise<boolean>,
  ): Promise<void> {
    let ended = false;
    while (!ended && subscriber.last < Math.max(head, subscriber.dropped)) {
      const messages = await this.#log.readAfter(room, subscriber.last, BACKLOG_PAGE);
      if (messages.length === 0) break;
      for (const delivery of toDeliveries(messages)) {
        subscriber.last = delivery.last;
        subscriber.listener(delivery);
        if (hasRoom && !await hasRoom()) {
          ended = true;
          break;
        }
      }
    }
    subscriber.goLive();
  }

  /**
   * Finds or opens the room's feed and attaches to it in the same tick as it is checked open,
   * so the last subscriber leaving in between cannot close it under the newcomer.
   */
  async #joinFeed(room: string, attach: (feed: RoomFeed) => void): Promise<RoomFeed> {
    for (;;) {
      let pending = this.#feeds.get(room);
      if (!pending) {
        pending = this.#openFeed(room);
        this.#feeds.set(room, pending);
        pending.catch(() => this.#feeds.delete(room));
      }
      const feed = await pending;
      if (!feed.closed) {
        clearTimeout(feed.lingering);
        feed.lingering = undefined;
        attach(feed);
        return feed;
      }
    }
  }

  async #openFeed(room: string): Promise<RoomFeed> {
    // A commit announced while the record is read may be missing from it, and would reach no
    // feed: without a watch to report it, it would wait for the head check.
    const announced: Message[][] = [];
    this.#opening.set(room, announced);
    let record: Room | null;
    try {
      record = await this.#log.getRoom(room);
    } finally {
      // In the same turn as the feed is opened below, so no announcement falls in between.
      if (this.#opening.get(room) === announced) this.#opening.delete(room);
    }
    if (record === null) {
      throw roomNotFound(room);
    }
    if (this.#closed) throw shuttingDown();
    const feed = new RoomFeed(record, this.#kv, this.#log, this.#watch, this.#deliveryIntervalMs);
    this.#open.set(room, feed);
    for (const messages of announced) feed.offerCommitted(messages);
    if (this.#presence) await feed.checkPresence(this.#presence).catch(() => {});
    if (this.#closed) {
      feed.close();
      throw shuttingDown();
    }
    if (this.#headCheckMs > 0) {
      this.#checks.add(feed);
      this.#headChecker ??= setInterval(
        () => this.#checkSlice(),
        this.#headCheckMs / CHECK_SLICES,
      );
    }
    return feed;
  }

  /** Checks the next slice of open rooms (see {@link #check}). */
  #checkSlice(): void {
    const feeds = this.#checks.next();
    if (feeds.length > 0) this.#check(feeds).catch(() => {});
  }

  /**
   * Reads the log clock, then, ten keys to a read, the records of the rooms whose feeds have not
   * caught up since the clock last moved and the presence marks of all of them; catches those
   * feeds up, and reads the presence of rooms whose mark moved or whose presence ran out.
   */
  async #check(feeds: RoomFeed[]): Promise<void> {
    const presence = this.#presence;
    const { versionstamp: clock } = await this.#kv.get(LOG_CLOCK_KEY);
    const behind = feeds.filter((feed) => feed.clockSeen !== clock);
    const marks = presence ? feeds.map((feed) => presenceMarkKey(feed.record.id)) : [];
    const entries = await getAll(this.#kv, [
      ...behind.map((feed) => roomKey(feed.record.id)),
      ...marks,
    ]);
    behind.forEach((feed, i) => {
      const record = entries[i].value as StoredRoom | null;
      feed.seeRecord(record && withTrimmed(record), clock).catch(() => {});
    });
    if (!presence) return;
    feeds.forEach((feed, i) => {
      feed.seePresenceMark(entries[behind.length + i].versionstamp, presence).catch(() => {});
    });
  }

  #leave(feed: RoomFeed): void {
    if (!feed.idle || feed.closed) return;
    const stop = () => {
      if (!feed.idle || feed.closed) return;
      feed.close();
      this.#feeds.delete(feed.record.id);
      this.#open.delete(feed.record.id);
      this.#checks.delete(feed);
      if (this.#open.size === 0) {
        clearInterval(this.#headChecker);
        this.#headChecker = undefined;
      }
    };
    if (this.#lingerMs === 0) return stop();
    clearTimeout(feed.lingering);
    feed.lingering = setTimeout(stop, this.#lingerMs);
  }
}
