/**
 * Security headers for every response. The Content-Security-Policy allows no inline script:
 * pages ship their island props as `<script type="application/json">` (data, which CSP does not
 * block) and the bundle as a same-origin module, and the client only connects back to its own
 * origin (`connect-src 'self'` covers same-origin `ws:`/`wss:` in CSP Level 3 browsers).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";

/** The Content-Security-Policy every response carries. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join("; ");

/** Every security header and its value. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
};

/** Middleware that sets the security headers on every response, error pages included. */
export function securityHeaders(): MiddlewareHandler {
  return async function securityHeaders(c, next) {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      c.res.headers.set(name, value);
    }
  };
}
