/**
 * How the workers of one `deno serve --parallel` process agree that every one of them has
 * finished its shutdown, so that one may end the process when Deno would not: in Deno 2.9.6 a
 * WebSocket whose client dropped the connection without a close frame leaves its worker's event
 * loop something to wait for, for good, and `deno serve` never exits by itself.
 *
 * Each worker says on a `BroadcastChannel` when its shutdown starts and when it is done. A worker
 * that is done waits for every worker it knew of, and every one it heard start stopping, to be
 * done too. Ending the process before then would cut off a worker still committing.
 *
 * @module
 */

/** What workers say to each other about their shutdown. */
type RollMessage = { kind: "stopping" | "done"; from: string };

/** One worker's side of the roll call; see the module documentation. */
export class DrainRollCall {
  #channel: BroadcastChannel;
  #id: string;
  #stopping = new Set<string>();
  #done = new Set<string>();
  #expected = new Set<string>();
  #allDone = Promise.withResolvers<void>();

  /**
   * Joins the roll call of the workers on `channelName`, from the start: a worker's word may
   * come before this one's shutdown starts.
   */
  constructor(channelName: string, id: string) {
    this.#id = id;
    this.#channel = new BroadcastChannel(channelName);
    this.#channel.onmessage = (event: MessageEvent<RollMessage>) => {
      const { kind, from } = event.data;
      (kind === "stopping" ? this.#stopping : this.#done).add(from);
      this.#check();
    };
  }

  /** Says this worker's shutdown started; `peers` are the other workers it knows of. */
  stopping(peers: readonly string[]): void {
    for (const peer of peers) this.#expected.add(peer);
    this.#channel.postMessage({ kind: "stopping", from: this.#id } satisfies RollMessage);
  }

  /**
   * Says this worker is done, and resolves once every worker it knew of or heard stopping is
   * done too. Never resolves while one of them is not: the shutdown's deadline decides then.
   */
  done(): Promise<void> {
    this.#done.add(this.#id);
    this.#channel.postMessage({ kind: "done", from: this.#id } satisfies RollMessage);
    this.#check();
    return this.#allDone.promise;
  }

  /** Leaves the roll call (the channel would keep the worker alive). */
  close(): void {
    this.#channel.close();
  }

  #check(): void {
    if (!this.#done.has(this.#id)) return;
    for (const worker of [...this.#expected, ...this.#stopping]) {
      if (!this.#done.has(worker)) return;
    }
    this.#allDone.resolve();
  }
}
