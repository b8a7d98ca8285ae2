/**
 * How the workers of one `deno serve` process agree that every one of them has finished its
 * shutdown, so that one may end the process when Deno would not: in Deno 2.9.6 a WebSocket whose
 * client dropped the connection without a close frame leaves its worker's event loop something to
 * wait for, for good, and `deno serve` never exits by itself.
 *
 * Each worker says on a `BroadcastChannel` when its shutdown is done, and waits until as many
 * workers as the process has (`DENO_JOBS`) have said so. It counts, rather than waiting for the
 * workers it happens to know of, because a worker still starting when the signal came is known to
 * nobody yet; ending the process before that one is done would cut it off. Such a worker joins the
 * roll call after the others may have said they are done, which it would not have heard: so it asks
 * as it joins, and every worker that is done says so again. A word lost on the way only means the
 * shutdown runs into its deadline.
 *
 * @module
 */

const CHANNEL = "parley:shutdown";

/** What a worker that joins posts, asking the workers that are done to say so again. */
const ASK = "who is done?";

/** One worker's side of the roll call; see the module documentation. */
export class DrainRollCall {
  #channel = new BroadcastChannel(CHANNEL);
  #id = crypto.randomUUID();
  #workers: number;
  #done = new Set<string>();
  #allDone = Promise.withResolvers<void>();

  /**
   * Joins the roll call from the start (another worker may be done before this one's shutdown
   * starts). `workers` is how many workers the process runs.
   */
  constructor(workers: number) {
    this.#workers = workers;
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
   * while one of them is not: the shutdown's deadline decides then.
   */
  done(): Promise<void> {
    this.#done.add(this.#id);
    this.#channel.postMessage(this.#id);
    this.#check();
    return this.#allDone.promise;
  }

  /** Leaves the roll call (the channel would keep the worker alive). */
  close(): void {
    this.#channel.close();
  }

  #check(): void {
    if (this.#done.has(this.#id) && this.#done.size >= this.#workers) this.#allDone.resolve();
  }
}
