/**
 * The origin check: live streams and state-changing requests must come from a page on this
 * server, or on an origin the operator listed in `PARLEY_ALLOWED_ORIGINS`.
 *
 * Same-origin means the `Origin` header's host (hostname and port) equals the request's `Host`
 * header. The scheme is not compared: behind a TLS-terminating proxy the browser's page is
 * `https://chat.example.com` while Parley itself is reached over plain http. The proxy must pass
 * the `Host` the browser used, port included: with nginx that is `proxy_set_header Host
 * $http_host` (`$host` drops a non-default port). A proxy that rewrites `Host` instead needs
 * the public origin listed in `PARLEY_ALLOWED_ORIGINS`. `X-Forwarded-Host` is never trusted.
 *
 * Everything is compared as exact strings after one `URL` parse that must round-trip, so
 * look-alikes (`http://localhost:8000.evil.com`, `http://evil-localhost:8000`, a different
 * port, `http://user@localhost:8000`, a trailing slash, `null`, garbage) are all refused.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { ParleyError } from "./errors.ts";

/** What the origin check accepts besides the server's own origin. */
export interface OriginCheckOptions {
  /** Exact origins, normalised as `URL.origin` serialises them (see `parseAllowedOrigins`). */
  allowedOrigins: readonly string[];
}

/**
 * Middleware that refuses with 403 `forbidden_origin` to a request whose `Origin` header is neither
 * same-origin nor allowlisted. Apply it to WebSocket upgrades, event streams and every request
 * that changes state; a WebSocket is refused with the 403 before it is upgraded.
 */
export function originCheck(options: OriginCheckOptions): MiddlewareHandler {
  const allowed = new Set(options.allowedOrigins);
  return async function originCheck(c, next) {
    const origin = c.req.header("origin");
    // No Origin header: not a browser (curl, bots, server-side clients), which could forge any
    // header anyway. Browsers always send Origin on WebSocket upgrades, on cross-origin
    // requests and on every POST, so a missing header never hides a cross-site page.
    if (origin === undefined) return await next();
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    if (!allowed.has(origin) && originHost(origin) !== host.toLowerCase()) {
      throw new ParleyError(403, "forbidden_origin", "Requests from this origin are not allowed");
    }
    await next();
  };
}

/**
 * The host (`hostname[:port]`) of an `Origin` header, or undefined unless it is an http(s)
 * origin exactly as a browser serialises it: that excludes `null`, paths, credentials,
 * uppercase letters, explicit default ports and anything `URL` cannot parse.
 */
function originHost(origin: string): string | undefined {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  return url.origin === origin ? url.host : undefined;
}
