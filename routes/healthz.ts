import type { Context } from "hono";
import type { AppEnv } from "../lib/services.ts";

const TIMEOUT_MS = 2_000;

/** `GET /healthz`: 200 when KV answers a read within 2 s, else 503. */
export const handler = {
  async GET(c: Context<AppEnv>): Promise<Response> {
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timed out")), TIMEOUT_MS);
    });
    try {
      await Promise.race([c.var.services.kv.get(["healthz"]), timeout]);
      const ms = Math.round(performance.now() - started);
      return c.json({ status: "ok", kv: { ok: true, ms } });
    } catch (error) {
      return c.json({ status: "unavailable", kv: { ok: false, error: String(error) } }, 503);
    } finally {
      clearTimeout(timer);
    }
  },
};
