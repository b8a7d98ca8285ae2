/**
 * Static files under versioned URLs. Pages link to `/static/styles.css?v=<hash of its bytes>`, so
 * a browser (or a CDN) may keep each version for a year without asking, and a new release's page
 * names new URLs: no one runs yesterday's bundle against today's server. A request without the
 * current version (an old page, a hand-typed URL) gets the file with `no-cache`, to ask each time.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";

const STATIC_ROOT = new URL("../static/", import.meta.url);

/** Cache-Control of a file asked for by its current version. */
export const IMMUTABLE = "public, max-age=31536000, immutable";

/** Cache-Control of a file asked for without its current version. */
export const REVALIDATE = "no-cache";

/** The files pages link to, by path under `static/`: the only ones with versions. */
const VERSIONED = new Set(["styles.css", "noscript.css", "favicon.svg", "build/islands.js"]);

/** The versions computed so far, by path under `static/`, with the file's mtime then. */
const versions = new Map<string, { mtime: number; version: string }>();

/** FNV-1a, 32 bits: enough to tell a file's releases apart, computed once per change. */
function fnv1a(bytes: Uint8Array): string {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/**
 * The version of a file under `static/` (`build/islands.js`), or undefined when it is missing. It is
 * computed again when the file changes, as `deno task dev` rebuilds the bundle.
 */
function versionOf(path: string): string | undefined {
  if (!VERSIONED.has(path)) return undefined;
  const url = new URL(path, STATIC_ROOT);
  let mtime: number;
  try {
    mtime = Deno.statSync(url).mtime?.getTime() ?? 0;
  } catch {
    return undefined;
  }
  const known = versions.get(path);
  if (known?.mtime === mtime) return known.version;
  const version = fnv1a(Deno.readFileSync(url));
  versions.set(path, { mtime, version });
  return version;
}

/** The URL of a file pages link to under `static/` (`styles.css`), with its current version. */
export function assetUrl(path: string): string {
  const version = versionOf(path);
  return version === undefined ? `/static/${path}` : `/static/${path}?v=${version}`;
}

/**
 * Sets `Cache-Control` on the static files served after it: a year for the current version, and
 * asking again for anything else.
 */
export function assetCaching(): MiddlewareHandler {
  return async function cacheControl(c, next) {
    await next();
    if (c.res.status !== 200) return;
    const asked = c.req.query("v");
    const path = c.req.path.slice("/static/".length);
    const current = asked === undefined ? undefined : versionOf(path);
    const immutable = asked !== undefined && asked === current;
    c.res.headers.set("cache-control", immutable ? IMMUTABLE : REVALIDATE);
  };
}
