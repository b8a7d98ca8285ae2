/** Percentiles of a set of latency samples, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Collects latency samples (ms) and summarises them with nearest-rank percentiles. */
export class LatencyRecorder {
  #samples: number[] = [];

  /** Adds one sample, in milliseconds. */
  add(ms: number): void {
    this.#samples.push(ms);
  }

  /** How many samples were added. */
  get count(): number {
    return this.#samples.length;
  }

  /** The p50, p95, p99 and max of the samples; NaN for each when there are none. */
  summary(): LatencySummary {
    const sorted = Float64Array.from(this.#samples).sort();
    const rank = (p: number) =>
      sorted.length === 0
        ? NaN
        : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
    return {
      count: sorted.length,
      p50: rank(0.5),
      p95: rank(0.95),
      p99: rank(0.99),
      max: sorted.length === 0 ? NaN : sorted[sorted.length - 1],
    };
  }
}
