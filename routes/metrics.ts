import type { Context } from "hono";
import type { AppEnv } from "../lib/services.ts";

/** `GET /metrics`: this worker's metrics in the Prometheus text format. */
export const handler = {
  GET(c: Context<AppEnv>): Response {
    return new Response(c.var.services.metrics.render(), {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    });
  },
};
