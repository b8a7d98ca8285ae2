/**
 * Test helper: one HTTP/1.1 request written by hand over TCP, for headers that `fetch` and
 * `WebSocket` will not let a test choose (`Host`, and `Origin` on a WebSocket upgrade).
 *
 * @module
 */

/** A request to write: every header is sent exactly as given, in order. */
export interface RawRequest {
  method: string;
  path: string;
  headers: Array<[string, string]>;
  body?: string;
  /**
   * For a `101` or a streamed answer: keep reading until what follows the head contains this
   * text (such as a stream's first event), so the connection is fully open before it is dropped.
   */
  readUntil?: string;
}

/** The status line and headers of the answer, and its body when it declares a length. */
export interface RawResponse {
  status: number;
  /** Lowercase names. */
  headers: Headers;
  /**
   * The body when `content-length` says how long it is; for a `101` or a stream, what was read
   * up to `readUntil` (undefined without it).
   */
  body: string | undefined;
}

const HEADER_END = "\r\n\r\n";

/**
 * Sends `request` to `127.0.0.1:port` and reads the response head, then the body when it has
 * a length (or up to `readUntil` when it has none); the connection is closed before this returns.
 */
export async function rawRequest(port: number, request: RawRequest): Promise<RawResponse> {
  const encoder = new TextEncoder();
  const body = encoder.encode(request.body ?? "");
  const lines = [`${request.method} ${request.path} HTTP/1.1`];
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  if (request.body !== undefined) lines.push(`Content-Length: ${body.byteLength}`);
  const head = encoder.encode(lines.join("\r\n") + HEADER_END);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(conn, head);
    await writeAll(conn, body);
    let received = new Uint8Array(0);
    const buffer = new Uint8Array(16 * 1024);
    const readMore = async () => {
      const read = await conn.read(buffer);
      if (read === null) {
        throw new Error(`Connection closed after ${JSON.stringify(latin1(received))}`);
      }
      const joined = new Uint8Array(received.byteLength + read);
      joined.set(received);
      joined.set(buffer.subarray(0, read), received.byteLength);
      received = joined;
    };
    // The head is ASCII, so a byte-for-character decoding finds it at the same offsets.
    while (!latin1(received).includes(HEADER_END)) await readMore();
    const bodyStart = latin1(received).indexOf(HEADER_END) + HEADER_END.length;
    const [statusLine, ...headerLines] = latin1(received.subarray(0, bodyStart)).trim()
      .split("\r\n");
    const status = Number(statusLine.split(" ")[1]);
    const headers = new Headers();
    for (const line of headerLines) {
      const colon = line.indexOf(":");
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    const length = headers.get("content-length");
    if (length === null || status === 101) {
      const until = request.readUntil;
      if (until === undefined) return { status, headers, body: undefined };
      while (!latin1(received.subarray(bodyStart)).includes(until)) await readMore();
      return { status, headers, body: latin1(received.subarray(bodyStart)) };
    }
    while (received.byteLength - bodyStart < Number(length)) await readMore();
    const text = new TextDecoder().decode(received.subarray(bodyStart, bodyStart + Number(length)));
    return { status, headers, body: text };
  } finally {
    conn.close();
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) written += await conn.write(bytes.subarray(written));
}

function latin1(bytes: Uint8Array): string {
  return new TextDecoder("latin1").decode(bytes);
}
