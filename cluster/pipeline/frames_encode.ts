/**
 * Encoding of pipeline frames (layout in frames.ts): fields are checked against the named limits first,
 * then written once into a buffer sized for the whole frame.
 *
 * @module
 */

import { f32ArrayToF16Bits } from "../../src/quant/f16.ts";
import { FrameWriter } from "./frames_cursor.ts";
import { encodeOpenPayload } from "./frames_open.ts";
import {
  ERROR_MESSAGE_MAX_BYTES,
  FETCH_MAX_BYTES,
  FLAG_RESET,
  FLAG_SAMPLE,
  FORWARD_MAX_ROWS,
  FORWARD_MAX_SEGMENTS,
  type ForwardFrame,
  type Frame,
  FRAME_HEADER_BYTES,
  FRAME_MAX_BYTES,
  FrameError,
  FrameType,
  HELLO_AUTH_MAX_BYTES,
  HIDDEN_DIM_MAX,
  NODE_ID_MAX_BYTES,
  SEGMENT_BYTES,
  SEQUENCE_ID_MAX,
  TOKEN_MAX_COUNT,
  WireDtype,
  wireDtypeBytes,
} from "./frames.ts";

const utf8 = new TextEncoder();
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function check(ok: boolean, message: string): void {
  if (!ok) throw new FrameError("bad-field", message);
}

function checkUint(field: string, v: number, max: number, min = 0): void {
  check(Number.isInteger(v) && v >= min && v <= max, `${field} ${v} is not an integer in [${min}, ${max}]`);
}

function flagsOf(f: { readonly sample: boolean; readonly reset: boolean }): number {
  return (f.sample ? FLAG_SAMPLE : 0) | (f.reset ? FLAG_RESET : 0);
}

/** Bytes of a frame without its header, for sizing the output once. */
function payloadSize(
  frame: Frame,
  extra: { id?: Uint8Array; message?: Uint8Array; payload?: Uint8Array },
): number {
  switch (frame.type) {
    case FrameType.Hello:
      return 10 + extra.id!.length + frame.auth.length;
    case FrameType.Forward:
      return 11 + frame.segments.length * SEGMENT_BYTES + frame.positions.length * 4 +
        frame.hidden.length * wireDtypeBytes(frame.dtype);
    case FrameType.Token:
      return 23 + frame.tokens.length * 4;
    case FrameType.Cancel:
      return 9;
    case FrameType.Error:
      return 12 + extra.message!.length;
    case FrameType.Open:
      return extra.payload!.length;
    case FrameType.Record:
      return frame.data.length;
    case FrameType.Fetch:
      return 17;
    case FrameType.Data:
      return 9 + frame.bytes.length;
  }
}

/** UTF-8 bytes of `s`, cut at a character boundary so they fit `max`. */
function truncatedUtf8(s: string, max: number): Uint8Array {
  const bytes = utf8.encode(s);
  if (bytes.length <= max) return bytes;
  let end = max;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // do not split a multi-byte character
  return bytes.subarray(0, end);
}

function validateForward(f: ForwardFrame): void {
  checkUint("planEpoch", f.planEpoch, 0xffff_ffff);
  check(f.dtype === WireDtype.F16 || f.dtype === WireDtype.F32, `unknown wire dtype ${f.dtype}`);
  checkUint("dim", f.dim, HIDDEN_DIM_MAX, 1);
  checkUint("segment count", f.segments.length, FORWARD_MAX_SEGMENTS, 1);
  let rows = 0;
  for (const s of f.segments) {
    checkUint("seqId", s.seqId, SEQUENCE_ID_MAX, 1);
    checkUint("chunk", s.chunk, 0xffff_ffff);
    checkUint("segment rows", s.rows, FORWARD_MAX_ROWS, 1);
    rows += s.rows;
  }
  checkUint("rows", rows, FORWARD_MAX_ROWS, 1);
  check(f.positions.length === rows, `${f.positions.length} positions for ${rows} rows`);
  for (const p of f.positions) check(p >= 0, `negative position ${p}`);
  check(f.hidden.length === rows * f.dim, `hidden has ${f.hidden.length} values, want ${rows} × ${f.dim}`);
}

/**
 * Encodes a frame with its length header. Throws FrameError when a field is out of its limits
 * (an ERROR message is truncated instead).
 */
export function encodeFrame(frame: Frame): Uint8Array {
  const extra: { id?: Uint8Array; message?: Uint8Array; payload?: Uint8Array } = {};
  switch (frame.type) {
    case FrameType.Hello:
      checkUint("minVersion", frame.minVersion, 0xffff, 1);
      checkUint("maxVersion", frame.maxVersion, 0xffff, frame.minVersion);
      checkUint("planEpoch", frame.planEpoch, 0xffff_ffff);
      extra.id = utf8.encode(frame.nodeId);
      checkUint("node id bytes", extra.id.length, NODE_ID_MAX_BYTES, 1);
      checkUint("auth bytes", frame.auth.length, HELLO_AUTH_MAX_BYTES);
      break;
    case FrameType.Forward:
      validateForward(frame);
      break;
    case FrameType.Token:
      checkUint("seqId", frame.seqId, SEQUENCE_ID_MAX, 1);
      checkUint("planEpoch", frame.planEpoch, 0xffff_ffff);
      checkUint("chunk", frame.chunk, 0xffff_ffff);
      checkUint("position", frame.position, 0x7fff_ffff);
      checkUint("token count", frame.tokens.length, TOKEN_MAX_COUNT, 1);
      for (const t of frame.tokens) check(t >= 0, `negative token id ${t}`);
      break;
    case FrameType.Cancel:
      checkUint("seqId", frame.seqId, SEQUENCE_ID_MAX, 1);
      checkUint("reason", frame.reason, 0xff);
      break;
    case FrameType.Error:
      checkUint("code", frame.code, 0xffff);
      checkUint("seqId", frame.seqId, SEQUENCE_ID_MAX);
      extra.message = truncatedUtf8(frame.message, ERROR_MESSAGE_MAX_BYTES);
      break;
    case FrameType.Open:
      extra.payload = encodeOpenPayload(frame);
      break;
    case FrameType.Record:
      break;
    case FrameType.Fetch:
      checkUint("reqId", frame.reqId, 0xffff_ffff);
      checkUint("kind", frame.kind, 0xff);
      checkUint("offset", frame.offset, Number.MAX_SAFE_INTEGER);
      checkUint("length", frame.length, FETCH_MAX_BYTES);
      break;
    case FrameType.Data:
      checkUint("reqId", frame.reqId, 0xffff_ffff);
      checkUint("status", frame.status, 0xff);
      checkUint("data bytes", frame.bytes.length, FETCH_MAX_BYTES);
      break;
    default:
      throw new FrameError("unknown-type", `cannot encode frame type ${(frame as { type: unknown }).type}`);
  }
  const size = payloadSize(frame, extra);
  check(size + 1 <= FRAME_MAX_BYTES, `frame of ${size + 1} bytes exceeds FRAME_MAX_BYTES ${FRAME_MAX_BYTES}`);
  const w = new FrameWriter(FRAME_HEADER_BYTES + size);
  w.u32(size + 1);
  w.u8(frame.type);
  switch (frame.type) {
    case FrameType.Hello:
      w.u16(frame.minVersion);
      w.u16(frame.maxVersion);
      w.u32(frame.planEpoch);
      w.u8(extra.id!.length);
      w.raw(extra.id!);
      w.u8(frame.auth.length);
      w.raw(frame.auth);
      break;
    case FrameType.Forward:
      w.u32(frame.planEpoch);
      w.u8(frame.dtype);
      w.u16(frame.segments.length);
      w.u32(frame.dim);
      for (const s of frame.segments) {
        w.u64(s.seqId);
        w.u32(s.chunk);
        w.u16(s.rows);
        w.u8(flagsOf(s));
      }
      for (const p of frame.positions) w.i32(p);
      writeHidden(w, frame.hidden, frame.dtype);
      break;
    case FrameType.Token:
      w.u64(frame.seqId);
      w.u32(frame.planEpoch);
      w.u32(frame.chunk);
      w.u8(flagsOf(frame));
      w.i32(frame.position);
      w.u16(frame.tokens.length);
      for (const t of frame.tokens) w.i32(t);
      break;
    case FrameType.Cancel:
      w.u64(frame.seqId);
      w.u8(frame.reason);
      break;
    case FrameType.Error:
      w.u16(frame.code);
      w.u64(frame.seqId);
      w.u16(extra.message!.length);
      w.raw(extra.message!);
      break;
    case FrameType.Open:
      w.raw(extra.payload!);
      break;
    case FrameType.Record:
      w.raw(frame.data);
      break;
    case FrameType.Fetch:
      w.u32(frame.reqId);
      w.u8(frame.kind);
      w.u64(frame.offset);
      w.u32(frame.length);
      break;
    case FrameType.Data:
      w.u32(frame.reqId);
      w.u8(frame.status);
      w.u32(frame.bytes.length);
      w.raw(frame.bytes);
      break;
  }
  return w.bytes;
}

/** Hidden states [n·dim] f32 → wire dtype, little-endian. */
function writeHidden(w: FrameWriter, hidden: Float32Array, dtype: WireDtype): void {
  const values = dtype === WireDtype.F16 ? f32ArrayToF16Bits(hidden) : hidden;
  if (LITTLE_ENDIAN_HOST) {
    w.raw(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  } else if (dtype === WireDtype.F16) {
    for (const h of values) w.u16(h);
  } else {
    for (const x of values) {
      w.view.setFloat32(w.at, x, true);
      w.at += 4;
    }
  }
}
