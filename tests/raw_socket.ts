/**
 * Test helper: a WebSocket client written by hand over `Deno.connect`, for bytes and paths the
 * WebSocket API will not send, and for a client that reads nothing until the test asks it to.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type FrameSource,
  readServerMessage,
  type ServerFrame,
  type ServerMessage,
  takeFrame,
} from "./ws_frames.ts";

/** The text frame's opcode. */
export const OPCODE_TEXT = 0x1;
/** The close frame's opcode. */
export const OPCODE_CLOSE = 0x8;
const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** A client frame: FIN set, masked with a random key, as RFC 6455 requires of clients. */
export function maskedFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const length = payload.byteLength;
  const head = length < 126
    ? [0x80 | opcode, 0x80 | length]
    : [0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff];
  assert.ok(length < 65536, "frame too long for this helper");
  const mask = crypto.getRandomValues(new Uint8Array(4));
  const frame = new Uint8Array(head.length + 4 + length);
  frame.set(head);
  frame.set(mask, head.length);
  for (let i = 0; i < length; i++) frame[head.length + 4 + i] = payload[i] ^ mask[i % 4];
  return frame;
}

async function acceptFor(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(key + WS_GUID));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** A WebSocket upgrade request for `path` on 127.0.0.1:`port`, with the random key it carries. */
export function upgradeRequest(port: number, path: string): { key: string; request: Uint8Array } {
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  const request = [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
  ].join("\r\n") + "\r\n\r\n";
  return { key, request: new TextEncoder().encode(request) };
}

/**
 * A WebSocket over `Deno.connect`: the handshake, then whole messages read one at a time, only
 * when asked (a read that times out stays pending and its bytes are kept for the next one).
 */
export class RawSocket {
  #buffer: Uint8Array = new Uint8Array(0);
  readonly #frames: FrameSource = {
    nextFrame: () => this.#takeFrame(),
    readMore: (timeoutMs) => this.#readMore(timeoutMs),
  };
  #pending: Promise<Uint8Array | null> | undefined;
  /** The handshake's status and headers. */
  status = 0;
  headers = new Headers();

  private constructor(readonly conn: Deno.Conn) {}

  /** Upgrades `path`; the socket holds the answer's status and headers, whatever it was. */
  static async open(port: number, path: string): Promise<RawSocket> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const socket = new RawSocket(conn);
    try {
      await socket.#handshake(port, path);
    } catch (error) {
      socket.close();
      throw error;
    }
    return socket;
  }

  async #handshake(port: number, path: string): Promise<void> {
    const { key, request } = upgradeRequest(port, path);
    await this.write(request);
    const [statusLine, ...lines] = (await this.#readHead()).split("\r\n");
    this.status = Number(statusLine.split(" ")[1]);
    for (const line of lines) {
      const colon = line.indexOf(":");
      this.headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    if (this.status === 101) {
      assert.equal(this.headers.get("sec-websocket-accept"), await acceptFor(key));
    }
  }

  async #readHead(): Promise<string> {
    for (;;) {
      const text = new TextDecoder("latin1").decode(this.#buffer);
      const end = text.indexOf("\r\n\r\n");
      if (end !== -1) {
        this.#buffer = this.#buffer.slice(end + 4);
        return text.slice(0, end);
      }
      if (!await this.#readMore(5000)) throw new Error(`Connection closed after ${text}`);
    }
  }

  /** Reads more bytes into the buffer; false at the end of the stream. */
  async #readMore(timeoutMs: number): Promise<boolean> {
    this.#pending ??= (async () => {
      const chunk = new Uint8Array(256 * 1024);
      const read = await this.conn.read(chunk);
      return read === null ? null : chunk.subarray(0, read);
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const result = await Promise.race([this.#pending, timeout]).finally(() => clearTimeout(timer));
    if (result === "timeout") throw new Error(`No data from the server in ${timeoutMs} ms`);
    this.#pending = undefined;
    if (result === null) return false;
    const joined = new Uint8Array(this.#buffer.byteLength + result.byteLength);
    joined.set(this.#buffer);
    joined.set(result, this.#buffer.byteLength);
    this.#buffer = joined;
    return true;
  }

  /** The next whole message (fragments joined), or null when the connection ends first. */
  async readMessage(timeoutMs = 5000): Promise<ServerMessage | null> {
    return await readServerMessage(this.#frames, timeoutMs);
  }

  /** Like {@link readMessage}, skipping `presence` frames. */
  async readAnswer(timeoutMs = 5000): Promise<ServerMessage | null> {
    for (;;) {
      const message = await this.readMessage(timeoutMs);
      if (message?.opcode !== OPCODE_TEXT) return message;
      const text = new TextDecoder().decode(message.payload);
      if (!text.startsWith('{"type":"presence"')) return message;
    }
  }

  #takeFrame(): ServerFrame | undefined {
    const taken = takeFrame(this.#buffer);
    if (taken) this.#buffer = taken.rest;
    return taken?.frame;
  }

  /** Writes all of `bytes`. */
  async write(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.byteLength) written += await this.conn.write(bytes.subarray(written));
  }

  /** Sends a masked close frame with `code`, completing the closing handshake. */
  async sendClose(code: number): Promise<void> {
    await this.write(maskedFrame(OPCODE_CLOSE, new Uint8Array([code >> 8, code & 0xff])));
  }

  /** Closes the connection; a read still pending is dropped. */
  close(): void {
    this.#pending?.catch(() => {});
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }
}
