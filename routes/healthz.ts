import type { Context } from "hono";
import type { AppEnv } from "../lib/services.ts";

const TIMEOUT_MS = 2_000;

/**
 * `GET /healthz`: 200 when KV answers a read within 2 s, else 503. Its `status` is `degraded`
 * while this worker's appends fail in the store (a full disk): the server still serves what is
 * stored, so it stays up, and the cause is in its log.
 */
export const handler = {
  async GET(c: Context<AppEnv>): Promise<Response> {
    const since = c.var.services.log.writes.failingSince();
    const writes = since === undefined
      ? { ok: true }
      : { ok: false, failingSince: new Date(since).toISOString() };
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timed out")), TIMEOUT_MS);
    });
    try {
      await Promise.race([c.var.services.kv.get(["healthz"]), timeout]);
      const ms = Math.round(performance.now() - started);
      return c.json({ status: writes.ok ? "ok" : "degraded", kv: { ok: true, ms }, writes });
    } catch (error) {
      const kv = { ok: false, error: String(error) };
      return c.json({ status: "unavailable", kv, writes }, 503);
    } finally {
      clearTimeout(timer);
    }
  },
};
