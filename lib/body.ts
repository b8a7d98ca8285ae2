import { DEFAULT_BODY_TIMEOUT } from "./config.ts";
import { ParleyError, shuttingDown } from "./errors.ts";
import { expectObject } from "./validation.ts";

/**
 * The largest JSON body (or WebSocket frame) the API accepts: room for the longest text with every
 * character escaped, as many JSON encoders write them (4,000 emoji as `\ud83d\ude00`, 12 bytes
 * each), and the fields around it.
 */
export const MAX_BODY_BYTES = 64 * 1024;

// A fatal decoder can be reused: each whole-input decode starts afresh.
const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

function tooLarge(limit: number): ParleyError {
  return new ParleyError(413, "body_too_large", `The body is larger than ${limit} bytes`);
}

/** How a body is read. */
export interface BodyOptions {
  /** The most bytes it may have; default {@link MAX_BODY_BYTES}. */
  limit?: number;
  /**
   * Seconds it may take to arrive in full (`PARLEY_BODY_TIMEOUT`); default 10. Deno's HTTP server
   * waits for a body as long as the client keeps the connection open.
   */
  timeout?: number;
  /** Aborted when the server starts shutting down: the body is then given up with 503. */
  signal?: AbortSignal;
}

/**
 * Reads a JSON object body, enforcing the media type, a byte limit and a deadline (see
 * {@link BodyOptions}). `Content-Length` is trusted only without `Transfer-Encoding`; otherwise
 * the stream is counted and cut at the limit.
 */
export async function readJsonBody(
  request: Request,
  options: BodyOptions = {},
): Promise<Record<string, unknown>> {
  const limit = options.limit ?? MAX_BODY_BYTES;
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new ParleyError(415, "unsupported_media_type", "The body must be application/json");
  }
  const declared = request.headers.get("content-length");
  const trusted = declared !== null && !request.headers.has("transfer-encoding");
  if (trusted && Number(declared) > limit) throw tooLarge(limit);
  // A body of a trusted length cannot run past it (the HTTP server enforces it), so it is read
  // whole, which is much cheaper than counting a stream.
  const bytes = await withinDeadline(
    trusted ? request.bytes() : readLimited(request, limit),
    options,
  );
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ParleyError(400, "invalid_utf8", "The body is not valid UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ParleyError(400, "invalid_json", "The body is not valid JSON");
  }
  return expectObject(value);
}

/**
 * Reads a URL-encoded form body (as a browser's form posts it), enforcing the media type, a
 * byte limit and a deadline (see {@link BodyOptions}). Fields whose percent-encoded bytes are not
 * UTF-8 are refused with 400 `invalid_utf8`, as in a JSON body, rather than read with replacement
 * characters.
 */
export async function readFormBody(
  request: Request,
  options: BodyOptions = {},
): Promise<Map<string, string>> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(type)) {
    throw new ParleyError(415, "unsupported_media_type", "The form must be URL-encoded");
  }
  const bytes = await withinDeadline(
    readLimited(request, options.limit ?? MAX_BODY_BYTES),
    options,
  );
  const fields = new Map<string, string>();
  try {
    for (const pair of utf8.decode(bytes).split("&")) {
      if (pair === "") continue;
      const equals = pair.indexOf("=");
      const [name, value] =
        (equals === -1 ? [pair, ""] : [pair.slice(0, equals), pair.slice(equals + 1)])
          .map(decodeFormField);
      // The first of a repeated field counts, as with URLSearchParams.get.
      if (!fields.has(name)) fields.set(name, value);
    }
  } catch {
    throw new ParleyError(400, "invalid_utf8", "The form is not valid UTF-8");
  }
  return fields;
}

/**
 * The body `read` reads, or a 408 `body_timeout` once `options.timeout` seconds have passed
 * without it, or a 503 `shutting_down` once `options.signal` is aborted: the request is then
 * answered, and nothing of it used. The read itself goes on until the client sends the rest or
 * hangs up: Deno 2.9.6 keeps the connection until then, whatever the answer. A read that fails
 * other than by refusing the body (a 413), as when the client hung up before the end, is a 400
 * `body_incomplete`, counted and logged as a rejection, not as a failure of the server's.
 */
async function withinDeadline(
  read: Promise<Uint8Array>,
  options: BodyOptions,
): Promise<Uint8Array> {
  const seconds = options.timeout ?? DEFAULT_BODY_TIMEOUT;
  const { signal } = options;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stop = () => {};
  const givenUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new ParleyError(
          408,
          "body_timeout",
          `The body did not arrive in full within ${seconds} s: send the request again`,
        ),
      );
    }, seconds * 1000);
    stop = () => reject(shuttingDown());
    if (signal?.aborted) stop();
    signal?.addEventListener("abort", stop);
  });
  const incomplete = read.catch((error) => {
    if (error instanceof ParleyError) throw error;
    throw new ParleyError(
      400,
      "body_incomplete",
      "The connection ended before the body arrived in full",
    );
  });
  try {
    return await Promise.race([incomplete, givenUp]);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", stop);
  }
}

/** Reads a request body, failing with 413 once it passes `limit` bytes. */
export async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array();
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    parts.push(value);
  }
  return concat(parts);
}

/**
 * Decodes a form field as URLSearchParams does ("+" is a space, "%XX" a byte, and a "%" without
 * two hex digits after it stays as it is), but throws where the bytes are not UTF-8.
 */
function decodeFormField(field: string): string {
  const parts = field.replaceAll("+", " ").split(/(%[0-9A-Fa-f]{2})/);
  // The split keeps the escapes, at odd places.
  return utf8.decode(
    concat(
      parts.map((part, i) =>
        i % 2 === 1 ? Uint8Array.of(parseInt(part.slice(1), 16)) : encoder.encode(part)
      ),
    ),
  );
}

/** Joins byte chunks into one array. */
function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
