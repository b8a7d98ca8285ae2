/**
 * HEAD requests, answered as their GET, body and all, for Deno to leave the body out: Hono answers
 * HEAD by running the GET route and dropping the body, and Deno then says `content-length: 0`;
 * given the body, Deno says its length (and cancels a stream unread). So an answer to a HEAD that
 * never went through Deno's server (Hono's `app.request` in a test) still has its body.
 *
 * @module
 */

const heads = new WeakSet<Request>();

/** The GET request a HEAD request is answered as; routes tell it by {@link wasHead}. */
export function headAsGet(request: Request): Request {
  const get = new Request(request, { method: "GET" });
  heads.add(get);
  return get;
}

/** Whether `request` is a HEAD request, or the GET one is answered as (see {@link headAsGet}). */
export function wasHead(request: Request): boolean {
  return request.method === "HEAD" || heads.has(request);
}
