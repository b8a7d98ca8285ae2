import type { Context } from "hono";
import type { AppEnv } from "../lib/services.ts";

const TIMEOUT_MS = 2_000;
const TIMED_OUT = new Error(`KV did not answer within ${TIMEOUT_MS} ms`);

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
      timer = setTimeout(() => reject(TIMED_OUT), TIMEOUT_MS);
    });
    try {
      await Promise.race([c.var.services.kv.get(["healthz"]), timeout]);
      const ms = Math.round(performance.now() - started);
      return c.json({ status: writes.ok ? "ok" : "degraded", kv: { ok: true, ms }, writes });
    } catch (error) {
      // The cause goes to the log: the answer is public, and KV's message may name paths. Anyone
      // can ask again and again while KV fails, so the log gets at most one line a second.
      c.var.services.healthFailures.write("Health check: KV did not answer", error);
      const reason = error === TIMED_OUT ? "timed out" : "failed";
      return c.json({ status: "unavailable", kv: { ok: false, error: reason }, writes }, 503);
    } finally {
      clearTimeout(timer);
    }
  },
};
