/**
 * Test helper: WebSocket frames read by hand, for tests that speak to the server over a raw TCP
 * socket (a client that never reads, or one that must see every frame as sent).
 *
 * @module
 */
import assert from "node:assert/strict";

/** One frame from the server. */
export interface ServerFrame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
}

/**
 * Takes the first complete frame off `bytes`: the frame and the bytes after it, or undefined
 * while more bytes are needed. Server frames must be unmasked.
 */
export function takeFrame(
  bytes: Uint8Array,
): { frame: ServerFrame; rest: Uint8Array<ArrayBuffer> } | undefined {
  if (bytes.byteLength < 2) return undefined;
  assert.equal(bytes[1] & 0x80, 0, "the server masked a frame");
  let length = bytes[1] & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (bytes.byteLength < 4) return undefined;
    length = (bytes[2] << 8) | bytes[3];
    offset = 4;
  } else if (length === 127) {
    if (bytes.byteLength < 10) return undefined;
    length = Number(new DataView(bytes.buffer, bytes.byteOffset + 2, 8).getBigUint64(0));
    offset = 10;
  }
  if (bytes.byteLength < offset + length) return undefined;
  return {
    frame: {
      fin: (bytes[0] & 0x80) !== 0,
      opcode: bytes[0] & 0x0f,
      payload: new Uint8Array(bytes.subarray(offset, offset + length)),
    },
    rest: new Uint8Array(bytes.subarray(offset + length)),
  };
}

/** A whole message: its opcode and its fragments' payloads joined. */
export interface ServerMessage {
  opcode: number;
  payload: Uint8Array;
}

/** Where {@link readServerMessage} gets frames: the next buffered one, or more bytes. */
export interface FrameSource {
  nextFrame(): ServerFrame | undefined;
  /** Reads more bytes into the buffer; false when the connection ended first. */
  readMore(timeoutMs: number): Promise<boolean>;
}

const OPCODE_CLOSE = 0x8;

/**
 * Reads the next whole message, joining fragments; a control frame (close, ping, pong) is
 * returned as it comes. Null when the connection ends first.
 */
export async function readServerMessage(
  source: FrameSource,
  timeoutMs: number,
): Promise<ServerMessage | null> {
  const fragments: Uint8Array[] = [];
  let opcode = 0;
  for (;;) {
    const frame = source.nextFrame();
    if (frame === undefined) {
      if (!await source.readMore(timeoutMs)) return null;
      continue;
    }
    if (frame.opcode >= OPCODE_CLOSE) return frame;
    if (frame.opcode !== 0) opcode = frame.opcode;
    fragments.push(frame.payload);
    if (!frame.fin) continue;
    const payload = new Uint8Array(fragments.reduce((sum, part) => sum + part.byteLength, 0));
    let offset = 0;
    for (const part of fragments) {
      payload.set(part, offset);
      offset += part.byteLength;
    }
    return { opcode, payload };
  }
}
