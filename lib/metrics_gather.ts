/**
 * Every worker's metrics in each scrape. Under `deno serve --parallel` a scrape of `GET /metrics`
 * reaches one worker; on its own, each scrape would show another worker's counters, which
 * Prometheus reads as resets. The worker that answers asks the others over a `BroadcastChannel`
 * and shows their samples beside its own, each under a `worker` label (the worker's link id, new
 * at each start). A worker that does not answer in time is left out of that scrape: a gap in its
 * series, never a step back.
 *
 * @module
 */
import type { Family, Metrics, WorkerFamilies } from "./metrics.ts";

/** How long a scrape waits for the other workers' answers. */
export const GATHER_TIMEOUT_MS = 500;

type GatherMessage =
  | { kind: "ask"; from: string; request: number }
  | { kind: "answer"; to: string; request: number; worker: string; families: Family[] };

interface Gathering {
  workers: WorkerFamilies[];
  expected: number;
  resolve(): void;
}

/** Asks the other workers of this process for their metrics, and answers them with this one's. */
export class MetricsGatherer {
  #channel: BroadcastChannel;
  #gatherings = new Map<number, Gathering>();
  #nextRequest = 0;
  #labelled: boolean;

  /**
   * @param channelName the channel every worker of the process joins (not the worker link's)
   * @param worker this worker's id, as the worker link knows it
   * @param metrics this worker's metrics
   * @param peers how many other workers there are now (the worker link's count)
   * @param labelled whether the samples carry the `worker` label even while no other worker is
   * known: true when the process runs several (`DENO_JOBS`), so that a series never changes its
   * labels while they find each other. Once another worker was known, they always do.
   */
  constructor(
    channelName: string,
    readonly worker: string,
    readonly metrics: Metrics,
    readonly peers: () => number,
    labelled: boolean,
  ) {
    this.#labelled = labelled;
    this.#channel = new BroadcastChannel(channelName);
    this.#channel.onmessage = (event: MessageEvent<GatherMessage>) => this.#receive(event.data);
  }

  /**
   * Every worker's families: this one's and those of the others that answer within `timeoutMs`,
   * each labelled by worker (see `labelled`).
   */
  async gather(timeoutMs = GATHER_TIMEOUT_MS): Promise<WorkerFamilies[]> {
    const expected = this.peers();
    if (expected > 0) this.#labelled = true;
    const own = () => ({
      worker: this.#labelled ? this.worker : undefined,
      families: this.metrics.families(),
    });
    if (expected === 0) return [own()];
    const request = this.#nextRequest++;
    const workers: WorkerFamilies[] = [];
    const { promise, resolve } = Promise.withResolvers<void>();
    const timer = setTimeout(resolve, timeoutMs);
    this.#gatherings.set(request, { workers, expected, resolve });
    this.#channel.postMessage({ kind: "ask", from: this.worker, request });
    try {
      await promise;
    } finally {
      clearTimeout(timer);
      this.#gatherings.delete(request);
    }
    workers.push(own());
    return workers.sort((a, b) => a.worker!.localeCompare(b.worker!));
  }

  /** Stops answering; scrapes still waiting for answers end with what they have. */
  close(): void {
    this.#channel.close();
    for (const gathering of this.#gatherings.values()) gathering.resolve();
  }

  #receive(message: GatherMessage): void {
    if (message.kind === "ask") {
      this.#channel.postMessage({
        kind: "answer",
        to: message.from,
        request: message.request,
        worker: this.worker,
        families: this.metrics.families(),
      });
    } else if (message.to === this.worker) {
      const gathering = this.#gatherings.get(message.request);
      if (!gathering) return;
      gathering.workers.push({ worker: message.worker, families: message.families });
      if (gathering.workers.length >= gathering.expected) gathering.resolve();
    }
  }
}
