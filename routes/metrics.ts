import type { Context } from "hono";
import { renderFamilies } from "../lib/metrics.ts";
import type { AppEnv } from "../lib/services.ts";

/**
 * `GET /metrics`: the metrics in the Prometheus text format; under `--parallel`, every worker's,
 * each under its `worker` label, whichever worker answers.
 */
export const handler = {
  async GET(c: Context<AppEnv>): Promise<Response> {
    const { metrics, metricsGatherer } = c.var.services;
    const text = metricsGatherer === undefined
      ? metrics.render()
      : renderFamilies(await metricsGatherer.gather());
    return new Response(text, {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    });
  },
};
