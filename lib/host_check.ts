/**
 * The host check: with `PARLEY_HOSTS` set, a request whose `Host` is not one of those hosts is
 * refused. It stops DNS rebinding, where a site whose name an attacker points at this server's
 * address gets a visitor's browser to read and post in its rooms: the browser then sends that
 * site's name as `Host`, and as `Origin`, so the origin check alone sees a same-origin request.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { ParleyError } from "./errors.ts";

/** The paths any host name may ask for. */
const OPEN_PATHS = new Set(["/healthz", "/metrics"]);

/**
 * Middleware that refuses with 421 `misdirected_request` a request whose `Host` is not one of
 * `hosts` (lowercase `hostname[:port]`); with no hosts it lets every request through. The health
 * check and the metrics stay open, as load balancers and scrapers reach them by address; they
 * carry no room's contents.
 */
export function hostCheck(hosts: readonly string[]): MiddlewareHandler {
  const allowed = new Set(hosts);
  return async function hostCheck(c, next) {
    const host = (c.req.header("host") ?? "").toLowerCase();
    if (allowed.size > 0 && !allowed.has(host) && !OPEN_PATHS.has(c.req.path)) {
      throw new ParleyError(
        421,
        "misdirected_request",
        "This server does not answer for that host name",
      );
    }
    await next();
  };
}
