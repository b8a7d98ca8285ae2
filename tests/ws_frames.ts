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
