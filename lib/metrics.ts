/**
 * A small Prometheus registry: counters, gauges read at scrape time, and histograms, rendered
 * in the text exposition format. One registry per worker.
 *
 * @module
 */

type Labels = Record<string, string>;

/** One sample of a metric: its name's suffix (`_bucket`, `_sum`, … or none), labels and value. */
export interface Sample {
  suffix: string;
  labels: Labels;
  value: number;
}

/** A metric and its samples as one worker has them at a scrape (plain data, to post to another). */
export interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  samples: Sample[];
}

/** The families of one worker, and the `worker` label its samples get when several are shown. */
export interface WorkerFamilies {
  worker?: string;
  families: Family[];
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([name, value]) =>
    `${name}="${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`
  );
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/**
 * The Prometheus text exposition of the workers' families: each metric's `HELP` and `TYPE` once,
 * then every worker's samples, under a `worker` label for a worker that has one.
 */
export function renderFamilies(workers: WorkerFamilies[]): string {
  const merged = new Map<string, { family: Family; lines: string[] }>();
  for (const { worker, families } of workers) {
    for (const family of families) {
      let entry = merged.get(family.name);
      if (!entry) merged.set(family.name, entry = { family, lines: [] });
      for (const { suffix, labels, value } of family.samples) {
        const all = worker === undefined ? labels : { worker, ...labels };
        entry.lines.push(`${family.name}${suffix}${labelText(all)} ${value}`);
      }
    }
  }
  const text = [...merged.values()].flatMap(({ family, lines }) => [
    `# HELP ${family.name} ${family.help}`,
    `# TYPE ${family.name} ${family.type}`,
    ...lines,
  ]);
  return text.join("\n") + "\n";
}

interface Metric {
  family(): Family;
}

/** A monotonically increasing count, optionally split by one label. */
export class Counter implements Metric {
  #values = new Map<string, number>();

  /**
   * @param name the metric name, ending in `_total`
   * @param help one line for people
   * @param label the label that splits the count, if any
   */
  constructor(readonly name: string, readonly help: string, readonly label?: string) {}

  /** Adds `amount` (default 1), under `labelValue` when the counter has a label. */
  inc(labelValue = "", amount = 1): void {
    this.#values.set(labelValue, (this.#values.get(labelValue) ?? 0) + amount);
  }

  /** The current count for a label value. */
  get(labelValue = ""): number {
    return this.#values.get(labelValue) ?? 0;
  }

  family(): Family {
    const samples = [...this.#values].map(([value, count]) => ({
      suffix: "",
      labels: this.label ? { [this.label]: value } : {},
      value: count,
    }));
    if (samples.length === 0 && !this.label) samples.push({ suffix: "", labels: {}, value: 0 });
    return { name: this.name, help: this.help, type: "counter", samples };
  }
}

/**
 * A value read when scraped: a gauge, such as open connections, or a counter kept elsewhere,
 * such as messages appended; one sample per label set.
 */
export class Scraped implements Metric {
  /**
   * @param name the metric name
   * @param help one line for people
   * @param options `type`: `counter` for a value that only goes up, else `gauge`; `read`:
   * returns the samples, label sets and values
   */
  constructor(
    readonly name: string,
    readonly help: string,
    readonly options: { type: "gauge" | "counter"; read: () => Array<[Labels, number]> },
  ) {}

  family(): Family {
    const samples = this.options.read().map(([labels, value]) => ({ suffix: "", labels, value }));
    return { name: this.name, help: this.help, type: this.options.type, samples };
  }
}

/** A histogram with fixed upper bounds. */
export class Histogram implements Metric {
  #counts: number[];
  #sum = 0;
  #count = 0;

  /**
   * @param name the metric name
   * @param help one line for people
   * @param bounds the buckets' upper bounds, ascending
   */
  constructor(readonly name: string, readonly help: string, readonly bounds: number[]) {
    this.#counts = bounds.map(() => 0);
  }

  /** Records one observation. */
  observe(value: number): void {
    this.#sum += value;
    this.#count++;
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]) this.#counts[i]++;
  }

  /** How many observations were recorded. */
  get count(): number {
    return this.#count;
  }

  family(): Family {
    const bucket = (le: string, value: number) => ({ suffix: "_bucket", labels: { le }, value });
    const samples = [
      ...this.bounds.map((bound, i) => bucket(String(bound), this.#counts[i])),
      bucket("+Inf", this.#count),
      { suffix: "_sum", labels: {}, value: this.#sum },
      { suffix: "_count", labels: {}, value: this.#count },
    ];
    return { name: this.name, help: this.help, type: "histogram", samples };
  }
}

/** The metrics one worker keeps, rendered by `GET /metrics`. */
export class Metrics {
  /** Messages handed to clients, by transport. */
  readonly deliveries = new Counter(
    "parley_deliveries_total",
    "Messages handed to clients by this worker",
    "transport",
  );
  /** Requests, frames and connections refused, by error code. */
  readonly rejected = new Counter(
    "parley_rejected_total",
    "Inputs refused by this worker, by reason",
    "reason",
  );
  /** How long each KV commit of a batch of appends took. */
  readonly commitSeconds = new Histogram(
    "parley_kv_commit_seconds",
    "Latency of the atomic KV commit of one batch of appends",
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  );
  /** How many messages each group commit carried. */
  readonly batchSize = new Histogram(
    "parley_group_commit_batch_size",
    "Messages per group commit",
    [1, 2, 5, 10, 20, 50, 100, 200, 300],
  );
  #scraped: Scraped[] = [];

  /** Adds a gauge read at scrape time. */
  gauge(name: string, help: string, read: () => Array<[Labels, number]>): void {
    this.#scraped.push(new Scraped(name, help, { type: "gauge", read }));
  }

  /** Adds a counter kept elsewhere (it only goes up), read at scrape time. */
  counter(name: string, help: string, read: () => Array<[Labels, number]>): void {
    this.#scraped.push(new Scraped(name, help, { type: "counter", read }));
  }

  /** Every metric with its samples now. */
  families(): Family[] {
    const metrics: Metric[] = [
      this.deliveries,
      this.rejected,
      this.commitSeconds,
      this.batchSize,
      ...this.#scraped,
    ];
    return metrics.map((metric) => metric.family());
  }

  /** The Prometheus text exposition of every metric, for this worker alone. */
  render(): string {
    return renderFamilies([{ families: this.families() }]);
  }
}
