/**
 * How the workers of one `deno serve` process agree that every one of them has reached a point:
 * the end of its shutdown, so that one may end the process when Deno would not (in Deno 2.9.6 a
 * WebSocket whose client dropped the connection without a close frame leaves its worker's event
 * loop something to wait for, for good, and `deno serve` never exits by itself); or its start, so
 * that one of them alone says what every one of them found ({@link warnOnce}). No worker
 * knows its place among the others, and they share no memory.
 *
 * Each worker says on a `BroadcastChannel` when it is done, and waits until as many workers as
 * the process has (`DENO_JOBS`) have said so. It counts, rather than waiting for the workers it
 * happens to know of, because a worker still starting is known to nobody yet. Such a worker joins
 * the roll call after the others may have said they are done, which it would not have heard: so
 * it asks as it joins, and every worker that is done says so again. Once all are, every worker
 * knows the same ids, so exactly one is {@link RollCall.first}. A word lost on the way only means
 * the roll call never completes (a shutdown then runs into its deadline).
 *
 * @module
 */

/** The roll call of the shutdown. */
const SHUTDOWN_CHANNEL = "parley:shutdown";

/** The roll call the workers of a process answer as they start (see {@link warnOnce}). */
const START_CHANNEL = "parley:start";

/** What a worker that joins posts, asking the workers that are done to say so again. */
const ASK = "who is done?";

/** One worker's side of a roll call; see the module documentation. */
export class RollCall {
  #channel: BroadcastChannel;
  #id = crypto.randomUUID();
  #workers: number;
  #done = new Set<string>();
  #allDone = Promise.withResolvers<void>();

  /**
   * Joins the roll call from the start (another worker may be done before this one is).
   * `workers` is how many workers the process runs; `channel` names the roll call (the
   * shutdown's by default).
   */
  constructor(workers: number, channel = SHUTDOWN_CHANNEL) {
    this.#workers = workers;
    this.#channel = new BroadcastChannel(channel);
    this.#channel.onmessage = (event: MessageEvent<string>) => {
      if (event.data !== ASK) {
        this.#done.add(event.data);
        this.#check();
      } else if (this.#done.has(this.#id)) this.#channel.postMessage(this.#id);
    };
    this.#channel.postMessage(ASK);
  }

  /**
   * Says this worker is done, and resolves once every worker of the process is. Never resolves
   * while one of them is not (a shutdown's deadline then decides).
   */
  done(): Promise<void> {
    this.#done.add(this.#id);
    this.#channel.postMessage(this.#id);
    this.#check();
    return this.#allDone.promise;
  }

  /**
   * Whether this worker is the one of them all that goes first: the one with the smallest id.
   * Known once {@link done} has resolved, when every worker knows every id.
   */
  get first(): boolean {
    return [...this.#done].every((id) => this.#id <= id);
  }

  /** Leaves the roll call (the channel would keep the worker alive). */
  close(): void {
    this.#channel.close();
  }

  #check(): void {
    if (this.#done.has(this.#id) && this.#done.size >= this.#workers) this.#allDone.resolve();
  }
}

/**
 * How long a worker that does not know how many workers the process runs waits for the others to
 * answer the start's roll call (see {@link warnOnce}), in ms.
 */
const UNCOUNTED_START_WAIT_MS = 2_000;

/**
 * Writes `warning` on standard error once for the process, though every worker calls this: every
 * worker answers a roll call, and the one that goes first writes it; with one worker, at once.
 * `workers` is how many workers the process runs, from `DENO_JOBS`. Without it, `deno serve
 * --parallel` runs one per core (`navigator.hardwareConcurrency`) but `deno serve` runs one, and a
 * worker cannot tell which: so it waits for that many for {@link UNCOUNTED_START_WAIT_MS} at most,
 * and then the first of those that answered writes it. A worker alone then writes it late, and a
 * worker that starts later than that may write it again; the line is never lost.
 */
export async function warnOnce(warning: string, workers: number | undefined): Promise<void> {
  const expected = workers ?? navigator.hardwareConcurrency;
  if (expected <= 1) return console.error(warning);
  const roll = new RollCall(expected, START_CHANNEL);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const everyone = roll.done();
    await (workers !== undefined ? everyone : Promise.race([
      everyone,
      new Promise<void>((resolve) => timer = setTimeout(resolve, UNCOUNTED_START_WAIT_MS)),
    ]));
    if (roll.first) console.error(warning);
  } finally {
    clearTimeout(timer);
    roll.close();
  }
}
