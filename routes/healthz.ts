import type { Context } from "hono";
import type { AppEnv } from "../lib/services.ts";

const TIMEOUT_MS = 2_000;

/**
 * `GET /healthz`: 200 when KV answers a read within 2 s and the last batch of appends did not
 * fail (as on a full disk) unless one has been stored since; else 503, saying which.
 */
export const handler = {
  async GET(c: Context<AppEnv>): Promise<Response> {
    const failing = c.var.services.log.stats.failing;
    const writes = failing === null ? { ok: true } : { ok: false, error: failing };
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timed out")), TIMEOUT_MS);
    });
    try {
      await Promise.race([c.var.services.kv.get(["healthz"]), timeout]);
      const ms = Math.round(performance.now() - started);
      const status = writes.ok ? "ok" : "storage_failing";
      return c.json({ status, kv: { ok: true, ms }, writes }, writes.ok ? 200 : 503);
    } catch (error) {
      const kv = { ok: false, error: String(error) };
      return c.json({ status: "unavailable", kv, writes }, 503);
    } finally {
      clearTimeout(timer);
    }
  },
};
