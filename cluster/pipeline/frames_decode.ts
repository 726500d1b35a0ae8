/**
 * Decoding of pipeline frames (layout in frames.ts). Every count is checked against its named limit and
 * against the bytes present before anything is allocated; anything malformed throws FrameError.
 *
 * @module
 */

import { F16_TO_F32 } from "../../src/quant/f16.ts";
import { FrameCursor } from "./frames_cursor.ts";
import { decodeOpenPayload } from "./frames_open.ts";
import {
  ERROR_MESSAGE_MAX_BYTES,
  FETCH_MAX_BYTES,
  FLAG_RESET,
  FLAG_SAMPLE,
  FORWARD_MAX_ROWS,
  FORWARD_MAX_SEGMENTS,
  type ForwardFrame,
  type ForwardSegment,
  type Frame,
  FRAME_HEADER_BYTES,
  FRAME_MAX_BYTES,
  FrameError,
  FrameType,
  HELLO_AUTH_MAX_BYTES,
  HIDDEN_DIM_MAX,
  KNOWN_FLAGS,
  NODE_ID_MAX_BYTES,
  SEGMENT_BYTES,
  TOKEN_MAX_COUNT,
  WireDtype,
  wireDtypeBytes,
} from "./frames.ts";

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bad(what: string, message: string): never {
  throw new FrameError("bad-field", `${what}: ${message}`);
}

function flags(what: string, bits: number): { sample: boolean; reset: boolean } {
  if ((bits & ~KNOWN_FLAGS) !== 0) bad(what, `unknown flag bits 0x${bits.toString(16)}`);
  return { sample: (bits & FLAG_SAMPLE) !== 0, reset: (bits & FLAG_RESET) !== 0 };
}

function seqId(r: FrameCursor, allowZero = false): number {
  const id = r.u64("seqId");
  if (id === 0 && !allowZero) bad(r.what, "sequence id 0");
  return id;
}

function decodeForward(r: FrameCursor): ForwardFrame {
  const planEpoch = r.u32("planEpoch");
  const dtype = r.u8("dtype");
  if (dtype !== WireDtype.F16 && dtype !== WireDtype.F32) bad(r.what, `unknown wire dtype ${dtype}`);
  const count = r.u16("segment count");
  if (count < 1 || count > FORWARD_MAX_SEGMENTS) bad(r.what, `segment count ${count}`);
  const dim = r.u32("dim");
  if (dim < 1 || dim > HIDDEN_DIM_MAX) bad(r.what, `dim ${dim} outside [1, ${HIDDEN_DIM_MAX}]`);
  r.need(count * SEGMENT_BYTES, "segments");
  const segments: ForwardSegment[] = [];
  let n = 0;
  for (let i = 0; i < count; i++) {
    const id = seqId(r);
    const chunk = r.u32("chunk");
    const rows = r.u16("rows");
    if (rows < 1) bad(r.what, `segment ${i} has no rows`);
    n += rows;
    if (n > FORWARD_MAX_ROWS) bad(r.what, `more than FORWARD_MAX_ROWS ${FORWARD_MAX_ROWS} rows`);
    segments.push({ seqId: id, chunk, rows, ...flags(r.what, r.u8("flags")) });
  }
  const bytesPer = wireDtypeBytes(dtype);
  // check the whole remainder before allocating: n ≤ 4096 and dim ≤ 65536 bound it, the payload bounds it harder
  r.need(n * 4 + n * dim * bytesPer, "positions and hidden states");
  const positions = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    positions[i] = r.i32("position");
    if (positions[i] < 0) bad(r.what, `negative position ${positions[i]} at row ${i}`);
  }
  const raw = r.take(n * dim * bytesPer, "hidden states");
  return {
    type: FrameType.Forward,
    planEpoch,
    dtype,
    dim,
    segments,
    positions,
    hidden: readHidden(raw, dtype),
  };
}

/** Wire bytes → f32 values; copies, so the result is aligned whatever the payload offset. */
function readHidden(raw: Uint8Array, dtype: WireDtype): Float32Array {
  const aligned = raw.slice(); // fresh buffer, offset 0
  if (dtype === WireDtype.F32) {
    const out = new Float32Array(aligned.buffer);
    if (!LITTLE_ENDIAN_HOST) {
      const v = new DataView(aligned.buffer);
      for (let i = 0; i < out.length; i++) out[i] = v.getFloat32(i * 4, true);
    }
    return out;
  }
  const out = new Float32Array(raw.length / 2);
  if (LITTLE_ENDIAN_HOST) {
    const bits = new Uint16Array(aligned.buffer);
    for (let i = 0; i < out.length; i++) out[i] = F16_TO_F32[bits[i]];
  } else {
    const v = new DataView(aligned.buffer);
    for (let i = 0; i < out.length; i++) out[i] = F16_TO_F32[v.getUint16(i * 2, true)];
  }
  return out;
}

/**
 * Decodes one frame payload of the given type (the bytes after the header). Bytes after the fields
 * this version knows are ignored: later versions append fields there.
 */
export function decodeFramePayload(type: number, payload: Uint8Array): Frame {
  switch (type) {
    case FrameType.Hello: {
      const r = new FrameCursor(payload, "HELLO");
      const minVersion = r.u16("minVersion");
      const maxVersion = r.u16("maxVersion");
      if (minVersion < 1 || maxVersion < minVersion) {
        bad(r.what, `version range ${minVersion}..${maxVersion}`);
      }
      const planEpoch = r.u32("planEpoch");
      const idLength = r.u8("node id length");
      if (idLength < 1 || idLength > NODE_ID_MAX_BYTES) bad(r.what, `node id of ${idLength} bytes`);
      const nodeId = r.text(idLength, "node id");
      const authLength = r.u8("auth length");
      if (authLength > HELLO_AUTH_MAX_BYTES) bad(r.what, `auth of ${authLength} bytes`);
      const auth = r.take(authLength, "auth").slice();
      return { type: FrameType.Hello, minVersion, maxVersion, planEpoch, nodeId, auth };
    }
    case FrameType.Forward:
      return decodeForward(new FrameCursor(payload, "FORWARD"));
    case FrameType.Token: {
      const r = new FrameCursor(payload, "TOKEN");
      const id = seqId(r);
      const planEpoch = r.u32("planEpoch");
      const chunk = r.u32("chunk");
      const f = flags(r.what, r.u8("flags"));
      const position = r.i32("position");
      if (position < 0) bad(r.what, `negative position ${position}`);
      const count = r.u16("token count");
      if (count < 1 || count > TOKEN_MAX_COUNT) bad(r.what, `token count ${count}`);
      r.need(count * 4, "tokens");
      const tokens = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        tokens[i] = r.i32("token");
        if (tokens[i] < 0) bad(r.what, `negative token id ${tokens[i]}`);
      }
      return { type: FrameType.Token, seqId: id, planEpoch, chunk, position, tokens, ...f };
    }
    case FrameType.Cancel: {
      const r = new FrameCursor(payload, "CANCEL");
      return { type: FrameType.Cancel, seqId: seqId(r), reason: r.u8("reason") };
    }
    case FrameType.Error: {
      const r = new FrameCursor(payload, "ERROR");
      const code = r.u16("code");
      const id = seqId(r, true);
      const length = r.u16("message length");
      if (length > ERROR_MESSAGE_MAX_BYTES) bad(r.what, `message of ${length} bytes`);
      return { type: FrameType.Error, code, seqId: id, message: r.text(length, "message") };
    }
    case FrameType.Open:
      return decodeOpenPayload(payload);
    case FrameType.Record:
      // opaque here; the connection layer opens it (connection_crypto.ts)
      return { type: FrameType.Record, data: payload.slice() };
    case FrameType.Fetch: {
      const r = new FrameCursor(payload, "FETCH");
      const reqId = r.u32("reqId");
      const kind = r.u8("kind");
      const offset = r.u64("offset");
      const length = r.u32("length");
      if (length > FETCH_MAX_BYTES) {
        bad(r.what, `length ${length} exceeds FETCH_MAX_BYTES ${FETCH_MAX_BYTES}`);
      }
      return { type: FrameType.Fetch, reqId, kind, offset, length };
    }
    case FrameType.Data: {
      const r = new FrameCursor(payload, "DATA");
      const reqId = r.u32("reqId");
      const status = r.u8("status");
      const length = r.u32("length");
      if (length > FETCH_MAX_BYTES) {
        bad(r.what, `length ${length} exceeds FETCH_MAX_BYTES ${FETCH_MAX_BYTES}`);
      }
      return { type: FrameType.Data, reqId, status, bytes: r.take(length, "bytes").slice() };
    }
    default:
      throw new FrameError("unknown-type", `unknown frame type ${type}`);
  }
}

/**
 * Reads the header at the start of `bytes`: the frame's total size (header included) and type, or
 * undefined when fewer than FRAME_HEADER_BYTES are present. Throws FrameError for a length outside
 * [1, maxFrameBytes].
 */
export function peekFrameHeader(
  bytes: Uint8Array,
  maxFrameBytes: number = FRAME_MAX_BYTES,
): { size: number; type: number } | undefined {
  if (bytes.length < FRAME_HEADER_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(0, true);
  if (length < 1) throw new FrameError("bad-field", "frame length 0 (no type byte)");
  if (length > maxFrameBytes) {
    throw new FrameError("too-large", `frame length ${length} exceeds the limit of ${maxFrameBytes} bytes`);
  }
  return { size: 4 + length, type: bytes[4] };
}

/** Decodes exactly one whole frame (header included). Throws FrameError on anything malformed. */
export function decodeFrame(bytes: Uint8Array, maxFrameBytes: number = FRAME_MAX_BYTES): Frame {
  const header = peekFrameHeader(bytes, maxFrameBytes);
  if (!header) throw new FrameError("truncated", `${bytes.length} bytes are shorter than a frame header`);
  if (bytes.length !== header.size) {
    throw new FrameError(
      bytes.length < header.size ? "truncated" : "bad-field",
      `frame header says ${header.size} bytes, got ${bytes.length}`,
    );
  }
  return decodeFramePayload(header.type, bytes.subarray(FRAME_HEADER_BYTES));
}
