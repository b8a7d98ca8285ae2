/**
 * Telling a silent connection from a dead one. A link that stops carrying without closing (a
 * laptop put to sleep, a Wi-Fi network left, a NAT that forgot the connection) leaves a WebSocket
 * or an event stream open for minutes, showing "Live" while nothing arrives and sends go
 * nowhere. Each transport tells its {@link Liveness} whenever it hears from the server, and the
 * connection is given up, so the client reconnects, when the server stays silent: past `deadMs`
 * for a server that speaks at least that often (an event stream's pings), or for `answerMs`
 * after the transport asked it for a word (a WebSocket's `ping`) following `askAfterMs` of
 * silence; `ask` returns whether it could. A link suspected sooner (the tab shown again, a send
 * unanswered) is asked at once, or, where the server speaks unasked, given up if it has been
 * silent past `quietMs`.
 *
 * @module
 */

/** How long each transport lets the server stay silent, in ms (tests shorten them). */
export const SILENCE = {
  /**
   * How often silence is checked. Timers in a hidden tab may run later, which only delays it; in
   * a tab the browser froze, the first check after may come before the events that queued up,
   * and reconnect a stream that was fine (it resumes where it was).
   */
  checkMs: 5_000,
  /** A WebSocket sends `ping` after this much silence… */
  pingAfterMs: 20_000,
  /** …and gives the link up if nothing at all comes back within this. */
  pongWithinMs: 10_000,
  /** The server answers pings at most once a second: one the page asks coming back waits this. */
  pingGapMs: 1_500,
  /** An event stream hears a `ping` event every 15 s (`STREAM_TIMING` in `lib/event_stream.ts`)… */
  streamPingMs: 15_000,
  /** …so past this, two were missed, and it is given up. */
  streamMs: 35_000,
  /** How long a long poll asks the server to hold it (`wait`), in ms (whole seconds). */
  pollWaitMs: 25_000,
  /** A long poll may go unanswered this long past the time the server may hold it. */
  pollGraceMs: 10_000,
  /**
   * How long past its server's longest silence (the time between an event stream's pings, a long
   * poll's `wait`) a link that carries may still be silent, a slow trip included. A link found
   * silent longer when the tab is shown again has stopped carrying: it is given up at once.
   */
  shownGraceMs: 5_000,
  /**
   * A message sent over HTTP (an event stream's or a long poll's `POST`) whose answer has not
   * started within this went over a link that stopped carrying: the link is given up, and the
   * message goes again over the next, as over a WebSocket whose ping went unanswered. A slow link
   * that works is not given up: over 2 s round trips a fresh connection, TLS and the request take
   * 6 s, and the server is given 2 s more to store the message. It is under the client's 10 s
   * (`ANSWER_TIMEOUT_MS` in `lib/client.ts`), after which a second copy would go beside the first.
   */
  sendAnswerMs: 8_000,
};

/** A moment on the monotonic clock and on the wall clock, for {@link elapsedSince}. */
export interface Moment {
  monotonic: number;
  wall: number;
}

/** Now, on both clocks. */
export function momentNow(): Moment {
  return { monotonic: performance.now(), wall: Date.now() };
}

/**
 * How long ago `moment` was, for a page that may have slept since: by the monotonic clock, or by
 * the wall clock when that says longer, as it does after the machine slept (the monotonic clock
 * stops meanwhile on some systems). A wall clock set forward only makes a silence look long, which
 * costs a reopen that resumes where it was; one set back is not believed.
 */
export function elapsedSince(moment: Moment): number {
  return Math.max(performance.now() - moment.monotonic, Date.now() - moment.wall);
}

/** How a {@link Liveness} asks the server for a word, where it can. */
interface Asking {
  askAfterMs: number;
  answerMs: number;
  ask: () => boolean;
}

/**
 * How a {@link Liveness} judges a server that speaks unasked: silent past `deadMs`, it is dead;
 * suspected, past `quietMs`, the longest it is silent while the link carries.
 */
interface Speaking {
  deadMs: number;
  quietMs: number;
}

/** How a {@link Liveness} tells that the server has gone silent. */
export type LivenessOptions =
  & { onDead: () => void }
  & (Speaking | Asking);

/** Watches a live connection for silence; see the module. */
export class Liveness {
  #heardAt = momentNow();
  #lastAskedAt = -Infinity;
  /** Gives the link up when the word asked for is due; set while it has not come. */
  #answerDue: ReturnType<typeof setTimeout> | undefined;
  #timer: ReturnType<typeof setInterval>;

  constructor(readonly options: LivenessOptions) {
    this.#timer = setInterval(() => this.#check(), SILENCE.checkMs);
  }

  /** The server was heard from: the silence starts again. */
  heard(): void {
    this.#heardAt = momentNow();
    clearTimeout(this.#answerDue);
    this.#answerDue = undefined;
  }

  /**
   * The link may have stopped carrying unseen (the page was away, a send went unanswered): the
   * server is asked for a word now (unless it was just asked, too recently to answer again), and
   * the link given up without one within `answerMs`. A server that speaks unasked is not asked:
   * the link is given up at once if it has been silent past `quietMs`, the machine's sleep
   * included.
   */
  suspect(): void {
    const options = this.options;
    if ("deadMs" in options) {
      if (elapsedSince(this.#heardAt) >= options.quietMs) this.#giveUp();
    } else if (this.#answerDue === undefined) {
      if (performance.now() - this.#lastAskedAt >= SILENCE.pingGapMs) this.#ask(options);
    }
  }

  /** Stops watching. */
  stop(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#answerDue);
  }

  #check(): void {
    const silentMs = performance.now() - this.#heardAt.monotonic;
    const options = this.options;
    if ("deadMs" in options) {
      if (silentMs >= options.deadMs) this.#giveUp();
    } else if (this.#answerDue === undefined && silentMs >= options.askAfterMs) {
      // Asked only after a silence, and judged only on the answer: a check that comes late (a
      // hidden tab's timers) never takes a quiet room for a dead link.
      this.#ask(options);
    }
  }

  #giveUp(): void {
    this.stop();
    this.options.onDead();
  }

  /**
   * Asks the server for a word, if it can (a socket still opening cannot), and gives the link up
   * when the answer is due and has not come: then, not at the next check, seconds later.
   */
  #ask(options: Asking): void {
    if (!options.ask()) return;
    this.#lastAskedAt = performance.now();
    this.#answerDue = setTimeout(() => this.#giveUp(), options.answerMs);
  }
}
