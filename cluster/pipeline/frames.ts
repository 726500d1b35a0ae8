/**
 * The pipeline wire format: binary frames that carry activations, tokens and control between stages.
 *
 * Every frame on a pipeline connection is `[length u32][type u8][payload]`, little-endian, where
 * `length` counts the type byte and the payload. Frame types are numbers that are never reused; a new
 * version only adds frame types, flag bits or fields appended at the end of a payload (decoders skip
 * bytes after the fields they know), so frames written by version 1 decode forever
 * (test/cluster/pipeline/frames_golden_test.ts pins them). The protocol version is agreed once per
 * connection, in the HELLO each side sends first ({@link negotiateVersion}).
 *
 * Decoding never trusts a length: every count is checked against a named limit and against the bytes
 * actually present before anything is allocated, and any malformed input throws {@link FrameError}.
 *
 * Payloads (version 1):
 * ```
 * HELLO   minVersion u16 · maxVersion u16 · planEpoch u32 · idLen u8 · nodeId utf8 · authLen u8 · auth
 * FORWARD planEpoch u32 · dtype u8 · segments u16 · dim u32
 *         · segments × { seqId u64 · chunk u32 · rows u16 · flags u8 }
 *         · positions [n] i32 · hidden [n, dim] f16|f32        (n = Σ rows)
 * TOKEN   seqId u64 · planEpoch u32 · chunk u32 · flags u8 · position i32 · count u16 · tokens [count] i32
 * CANCEL  seqId u64 · reason u8
 * ERROR   code u16 · seqId u64 (0: the whole connection) · msgLen u16 · message utf8
 * ```
 *
 * @example
 * ```ts
 * const bytes = encodeFrame({ type: FrameType.Cancel, seqId: 42, reason: CancelReason.Client });
 * decodeFrame(bytes); // { type: FrameType.Cancel, seqId: 42, reason: 1 }
 * ```
 *
 * @module
 */

import { F16_TO_F32, f32ArrayToF16Bits } from "../../src/quant/f16.ts";

/** Protocol versions this build speaks. */
export const PROTOCOL_VERSION_MIN = 1;
export const PROTOCOL_VERSION_MAX = 1;

/** Frame type numbers. Append-only: a number, once used, keeps its meaning. */
export enum FrameType {
  Hello = 1,
  Forward = 2,
  Token = 3,
  Cancel = 4,
  Error = 5,
}

/** Element type of hidden states on the wire. */
export enum WireDtype {
  F32 = 0,
  /** IEEE half, round to nearest even: half the bytes, ~3 significant digits */
  F16 = 1,
}

/** Why a sequence is cancelled; receivers treat unknown reasons like `Error`. */
export enum CancelReason {
  /** generation ended normally (stop condition): free the KV cache */
  Finished = 0,
  /** the client went away */
  Client = 1,
  /** the sequence is replayed on another plan */
  Failover = 2,
  Error = 3,
}

/** Error codes of ERROR frames; receivers keep unknown codes as numbers. */
export enum WireErrorCode {
  BadFrame = 1,
  VersionMismatch = 2,
  /** the frame's plan epoch is not one this stage serves */
  EpochMismatch = 3,
  UnknownSequence = 4,
  Overloaded = 5,
  Unauthorized = 6,
  Internal = 7,
}

/** Bytes before the payload: length u32 + type u8. */
export const FRAME_HEADER_BYTES = 5;
/**
 * Largest `length` accepted, bytes (type + payload). A 512-token prefill chunk of an 8192-wide model
 * in f32 is 16 MiB; twice that leaves room without letting a lying length reserve gigabytes.
 */
export const FRAME_MAX_BYTES = 32 * 1024 * 1024;
/** Longest node id, UTF-8 bytes (as gossip node names). */
export const NODE_ID_MAX_BYTES = 128;
/** Longest opaque authentication proof carried by HELLO, bytes (an HMAC-SHA256 is 32). */
export const HELLO_AUTH_MAX_BYTES = 64;
/** Most token rows in one FORWARD (a prefill chunk or a batch of decode steps). */
export const FORWARD_MAX_ROWS = 4096;
/** Most sequences batched in one FORWARD. */
export const FORWARD_MAX_SEGMENTS = 1024;
/** Widest hidden state, values per row (the largest models today are 16384 wide). */
export const HIDDEN_DIM_MAX = 65536;
/** Most tokens in one TOKEN frame (a prefill chunk). */
export const TOKEN_MAX_COUNT = 4096;
/** Longest ERROR message, UTF-8 bytes; longer messages are truncated by the encoder. */
export const ERROR_MESSAGE_MAX_BYTES = 1024;
/** Sequence ids are u64 on the wire but numbers here, so at most 2^53 − 1; 0 means "no sequence". */
export const SEQUENCE_ID_MAX = Number.MAX_SAFE_INTEGER;

/** Bytes per FORWARD segment header: seqId u64 + chunk u32 + rows u16 + flags u8. */
const SEGMENT_BYTES = 15;
/** Flag bits of FORWARD segments and TOKEN frames. */
const FLAG_SAMPLE = 1;
const FLAG_RESET = 2;
const KNOWN_FLAGS = FLAG_SAMPLE | FLAG_RESET;

/** Malformed or out-of-limit frame bytes (decode), or a frame that cannot be encoded. */
export class FrameError extends Error {
  override name = "FrameError";
  constructor(
    readonly code: "truncated" | "too-large" | "unknown-type" | "bad-field",
    message: string,
  ) {
    super(message);
  }
}

/** First frame on a connection, each way: who I am, which versions I speak, which plan I follow. */
export interface HelloFrame {
  readonly type: FrameType.Hello;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly planEpoch: number;
  readonly nodeId: string;
  /** opaque to the codec: the connection layer's proof of the cluster key, ≤ HELLO_AUTH_MAX_BYTES */
  readonly auth: Uint8Array;
}

/** The rows of one sequence inside a FORWARD frame. */
export interface ForwardSegment {
  /** cluster-unique sequence id, 1..SEQUENCE_ID_MAX, chosen by the entry node */
  readonly seqId: number;
  /** index of this prefill chunk within the sequence's prompt (0 for the first chunk and decode) */
  readonly chunk: number;
  /** consecutive rows of the frame that belong to this sequence, ≥ 1 */
  readonly rows: number;
  /** the last stage samples a token from this segment's last row (decode steps, final prefill chunk) */
  readonly sample: boolean;
  /** drop any KV cache held for seqId first (a replayed sequence starts over) */
  readonly reset: boolean;
}

/** Hidden states of a batch of token rows, from one stage to the next. */
export interface ForwardFrame {
  readonly type: FrameType.Forward;
  readonly planEpoch: number;
  /** element type on the wire; decoded hidden states are always f32 */
  readonly dtype: WireDtype;
  /** model width: values per row */
  readonly dim: number;
  readonly segments: readonly ForwardSegment[];
  /** [n] position of each row in its sequence, n = Σ segments[i].rows */
  readonly positions: Int32Array;
  /** [n, dim] residual stream rows */
  readonly hidden: Float32Array;
}

/** Token ids of one sequence: prompt or decode input to the first stage, or a sampled token back to the entry. */
export interface TokenFrame {
  readonly type: FrameType.Token;
  readonly seqId: number;
  readonly planEpoch: number;
  readonly chunk: number;
  /** position of tokens[0]; tokens[i] is at position + i */
  readonly position: number;
  /** [count] token ids, 1 ≤ count ≤ TOKEN_MAX_COUNT */
  readonly tokens: Int32Array;
  readonly sample: boolean;
  readonly reset: boolean;
}

/** Ends a sequence on every stage it passes: the KV cache is freed. */
export interface CancelFrame {
  readonly type: FrameType.Cancel;
  readonly seqId: number;
  /** a CancelReason; unknown values are kept */
  readonly reason: number;
}

/** A failure reported to the peer: for one sequence, or for the connection when seqId is 0. */
export interface ErrorFrame {
  readonly type: FrameType.Error;
  /** a WireErrorCode; unknown values are kept */
  readonly code: number;
  readonly seqId: number;
  readonly message: string;
}

export type Frame = HelloFrame | ForwardFrame | TokenFrame | CancelFrame | ErrorFrame;

/** Bytes per hidden-state value on the wire. */
export function wireDtypeBytes(dtype: WireDtype): number {
  return dtype === WireDtype.F16 ? 2 : 4;
}

/**
 * The protocol version two peers use: the highest both speak, or undefined when their ranges do not overlap.
 *
 * @example
 * ```ts
 * negotiateVersion({ minVersion: 1, maxVersion: 3 }, { minVersion: 1, maxVersion: 1 }); // 1
 * ```
 */
export function negotiateVersion(
  a: { readonly minVersion: number; readonly maxVersion: number },
  b: { readonly minVersion: number; readonly maxVersion: number },
): number | undefined {
  const v = Math.min(a.maxVersion, b.maxVersion);
  return v >= Math.max(a.minVersion, b.minVersion) ? v : undefined;
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true });
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A cursor that writes little-endian fields into a preallocated buffer. */
class Writer {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  at = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(v: number) {
    this.view.setUint8(this.at, v);
    this.at += 1;
  }
  u16(v: number) {
    this.view.setUint16(this.at, v, true);
    this.at += 2;
  }
  u32(v: number) {
    this.view.setUint32(this.at, v, true);
    this.at += 4;
  }
  i32(v: number) {
    this.view.setInt32(this.at, v, true);
    this.at += 4;
  }
  u64(v: number) {
    this.u32(v % 0x1_0000_0000);
    this.u32(Math.floor(v / 0x1_0000_0000));
  }
  raw(b: Uint8Array) {
    this.bytes.set(b, this.at);
    this.at += b.length;
  }
}

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
function payloadSize(frame: Frame, extra: { id?: Uint8Array; message?: Uint8Array }): number {
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
  const extra: { id?: Uint8Array; message?: Uint8Array } = {};
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
    default:
      throw new FrameError("unknown-type", `cannot encode frame type ${(frame as { type: unknown }).type}`);
  }
  const size = payloadSize(frame, extra);
  check(size + 1 <= FRAME_MAX_BYTES, `frame of ${size + 1} bytes exceeds FRAME_MAX_BYTES ${FRAME_MAX_BYTES}`);
  const w = new Writer(FRAME_HEADER_BYTES + size);
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
  }
  return w.bytes;
}

/** Hidden states [n·dim] f32 → wire dtype, little-endian. */
function writeHidden(w: Writer, hidden: Float32Array, dtype: WireDtype): void {
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

/** A bounds-checked little-endian cursor over one payload; any overrun is a FrameError. */
class Reader {
  readonly view: DataView;
  at = 0;
  constructor(readonly bytes: Uint8Array, readonly what: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number, field: string): void {
    if (this.at + n > this.bytes.length) {
      throw new FrameError(
        "truncated",
        `${this.what}: ${field} needs ${n} bytes at offset ${this.at}, payload has ${this.bytes.length}`,
      );
    }
  }
  u8(field: string): number {
    this.need(1, field);
    return this.view.getUint8(this.at++);
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.at, true);
    this.at += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }
  i32(field: string): number {
    this.need(4, field);
    const v = this.view.getInt32(this.at, true);
    this.at += 4;
    return v;
  }
  u64(field: string): number {
    const lo = this.u32(field);
    const hi = this.u32(field);
    if (hi > 0x1f_ffff) throw new FrameError("bad-field", `${this.what}: ${field} exceeds 2^53 − 1`);
    return hi * 0x1_0000_0000 + lo;
  }
  take(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  text(n: number, field: string): string {
    try {
      return utf8Strict.decode(this.take(n, field));
    } catch (e) {
      if (e instanceof FrameError) throw e;
      throw new FrameError("bad-field", `${this.what}: ${field} is not valid UTF-8`);
    }
  }
}

function bad(what: string, message: string): never {
  throw new FrameError("bad-field", `${what}: ${message}`);
}

function flags(what: string, bits: number): { sample: boolean; reset: boolean } {
  if ((bits & ~KNOWN_FLAGS) !== 0) bad(what, `unknown flag bits 0x${bits.toString(16)}`);
  return { sample: (bits & FLAG_SAMPLE) !== 0, reset: (bits & FLAG_RESET) !== 0 };
}

function seqId(r: Reader, allowZero = false): number {
  const id = r.u64("seqId");
  if (id === 0 && !allowZero) bad(r.what, "sequence id 0");
  return id;
}

function decodeForward(r: Reader): ForwardFrame {
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
      const r = new Reader(payload, "HELLO");
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
      return decodeForward(new Reader(payload, "FORWARD"));
    case FrameType.Token: {
      const r = new Reader(payload, "TOKEN");
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
      const r = new Reader(payload, "CANCEL");
      return { type: FrameType.Cancel, seqId: seqId(r), reason: r.u8("reason") };
    }
    case FrameType.Error: {
      const r = new Reader(payload, "ERROR");
      const code = r.u16("code");
      const id = seqId(r, true);
      const length = r.u16("message length");
      if (length > ERROR_MESSAGE_MAX_BYTES) bad(r.what, `message of ${length} bytes`);
      return { type: FrameType.Error, code, seqId: id, message: r.text(length, "message") };
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
