/**
 * Fetching over a link that may stop carrying without closing (a train's network, a NAT that
 * forgot the connection): a request whose answer has not started within a time is given up, so
 * the caller can say so or try again instead of waiting for good. Only the answer's start is
 * timed: its body may take its time over a slow link.
 *
 * @module
 */

/**
 * Fetches `url` as `init` says, aborting the request if its answer has not started within
 * `withinMs`; the rejection is then a `TimeoutError`.
 */
export async function fetchWithin(
  url: URL,
  withinMs: number,
  init: RequestInit = {},
): Promise<Response> {
  const deadline = new AbortController();
  const timer = setTimeout(() => {
    deadline.abort(
      new DOMException(`No answer from ${url.pathname} within ${withinMs} ms`, "TimeoutError"),
    );
  }, withinMs);
  const signal = init.signal ? AbortSignal.any([init.signal, deadline.signal]) : deadline.signal;
  try {
    return await fetch(url, { ...init, signal });
  } finally {
    clearTimeout(timer);
  }
}
