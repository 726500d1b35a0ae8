/**
 * Encodes the GGUF header (magic, version, counts, metadata, tensor table, padding) — the inverse of the
 * reader. Values are checked against their declared type (range, integer-ness), so a writer cannot produce
 * a file that the reader would decode to something else.
 *
 * @example
 * ```ts
 * const header = encodeHeader(3, [["general.name", kv.string("tiny")]], [], 32);
 * ```
 */
import { GgufError } from "./errors.ts";
import { GGUF_MAGIC, MAX_ARRAY_DEPTH, MAX_KEY_BYTES, MAX_STRING_BYTES } from "./limits.ts";
import {
  type GgufKv,
  type GgufNestedArrayType,
  type GgufTensorInfo,
  type GgufValue,
  GgufValueType,
} from "./types.ts";

const encoder = new TextEncoder();

/** Integer ranges of the fixed-size integer types. */
const INT_RANGE: Partial<Record<GgufValueType, readonly [number, number]>> = {
  [GgufValueType.UINT8]: [0, 0xff],
  [GgufValueType.INT8]: [-0x80, 0x7f],
  [GgufValueType.UINT16]: [0, 0xffff],
  [GgufValueType.INT16]: [-0x8000, 0x7fff],
  [GgufValueType.UINT32]: [0, 0xffffffff],
  [GgufValueType.INT32]: [-0x80000000, 0x7fffffff],
};

/** Growable little-endian byte buffer. */
class ByteWriter {
  // Always call reserve() before reading `bytes`/`view`: it may replace them.
  bytes = new Uint8Array(4096);
  view = new DataView(this.bytes.buffer);
  length = 0;

  reserve(n: number): number {
    const at = this.length;
    if (at + n > this.bytes.length) {
      const grown = new Uint8Array(Math.max(at + n, this.bytes.length * 2));
      grown.set(this.bytes.subarray(0, at));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length += n;
    return at;
  }
  u8(v: number): void {
    const at = this.reserve(1);
    this.bytes[at] = v;
  }
  u32(v: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, v, true);
  }
  u64(v: bigint | number): void {
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt(v), true);
  }
  raw(b: Uint8Array): void {
    const at = this.reserve(b.length);
    this.bytes.set(b, at);
  }
  string(s: string, max: number, what: string): void {
    const b = encoder.encode(s);
    if (b.length > max) {
      throw new GgufError("absurd_string", `${what} is ${b.length} bytes; the limit is ${max}`);
    }
    this.u64(b.length);
    this.raw(b);
  }
}

function badValue(what: string, type: GgufValueType, value: unknown): GgufError {
  const shown = typeof value === "string" ? JSON.stringify(value).slice(0, 40) : String(value).slice(0, 40);
  return new GgufError(
    "bad_value",
    `${what}: ${shown} (${typeof value}) is not a valid ${GgufValueType[type] ?? type}`,
  );
}

function writeScalar(w: ByteWriter, type: GgufValueType, value: GgufValue, what: string): void {
  const range = INT_RANGE[type];
  if (range !== undefined) {
    if (typeof value !== "number" || !Number.isInteger(value) || value < range[0] || value > range[1]) {
      throw badValue(what, type, value);
    }
    const at = w.reserve(range[1] === 0xff || range[1] === 0x7f ? 1 : range[1] <= 0xffff ? 2 : 4);
    switch (type) {
      case GgufValueType.UINT8:
      case GgufValueType.INT8:
        w.bytes[at] = value & 0xff;
        break;
      case GgufValueType.UINT16:
      case GgufValueType.INT16:
        w.view.setUint16(at, value & 0xffff, true);
        break;
      default:
        w.view.setUint32(at, value >>> 0, true);
    }
    return;
  }
  switch (type) {
    case GgufValueType.FLOAT32:
    case GgufValueType.FLOAT64:
      if (typeof value !== "number") throw badValue(what, type, value);
      if (type === GgufValueType.FLOAT32) {
        const at = w.reserve(4);
        w.view.setFloat32(at, value, true);
      } else {
        const at = w.reserve(8);
        w.view.setFloat64(at, value, true);
      }
      return;
    case GgufValueType.UINT64:
    case GgufValueType.INT64: {
      const big = typeof value === "bigint"
        ? value
        : typeof value === "number" && Number.isSafeInteger(value)
        ? BigInt(value)
        : undefined;
      const [lo, hi] = type === GgufValueType.UINT64
        ? [0n, (1n << 64n) - 1n]
        : [-(1n << 63n), (1n << 63n) - 1n];
      if (big === undefined || big < lo || big > hi) throw badValue(what, type, value);
      const at = w.reserve(8);
      w.view.setBigUint64(at, BigInt.asUintN(64, big), true);
      return;
    }
    case GgufValueType.BOOL:
      if (typeof value !== "boolean") throw badValue(what, type, value);
      w.u8(value ? 1 : 0);
      return;
    case GgufValueType.STRING:
      if (typeof value !== "string") throw badValue(what, type, value);
      w.string(value, MAX_STRING_BYTES, what);
      return;
    default:
      throw new GgufError("bad_value_type", `${what}: value type ${type} cannot be written as a scalar`);
  }
}

/** Guesses the element type of an inner array given without declared types. */
function inferArrayType(values: readonly GgufValue[], what: string): GgufValueType {
  if (values.length === 0) return GgufValueType.INT32;
  const kinds = new Set(values.map((v) => Array.isArray(v) ? "array" : typeof v));
  if (kinds.size !== 1) {
    throw new GgufError("bad_value", `${what}: mixed element kinds ${[...kinds].join(", ")}`);
  }
  switch ([...kinds][0]) {
    case "string":
      return GgufValueType.STRING;
    case "boolean":
      return GgufValueType.BOOL;
    case "bigint":
      return GgufValueType.INT64;
    case "array":
      return GgufValueType.ARRAY;
    default: {
      const nums = values as number[];
      if (!nums.every(Number.isInteger)) return GgufValueType.FLOAT32;
      return nums.every((n) => n >= -0x80000000 && n <= 0x7fffffff)
        ? GgufValueType.INT32
        : GgufValueType.INT64;
    }
  }
}

function writeArray(
  w: ByteWriter,
  arrayType: GgufValueType | undefined,
  values: GgufValue,
  inner: readonly GgufNestedArrayType[] | undefined,
  what: string,
  depth: number,
): void {
  if (!Array.isArray(values)) throw badValue(what, GgufValueType.ARRAY, values);
  if (depth > MAX_ARRAY_DEPTH) {
    throw new GgufError("bad_value", `${what}: arrays nested deeper than ${MAX_ARRAY_DEPTH}`);
  }
  const type = arrayType ?? inferArrayType(values, what);
  if (!(type in GgufValueType)) throw new GgufError("bad_value_type", `${what}: element type ${type}`);
  if (inner !== undefined && inner.length !== values.length) {
    throw new GgufError(
      "bad_value",
      `${what}: ${inner.length} inner types for ${values.length} inner arrays`,
    );
  }
  w.u32(type);
  w.u64(values.length);
  for (let i = 0; i < values.length; i++) {
    if (type === GgufValueType.ARRAY) {
      writeArray(w, inner?.[i].arrayType, values[i], inner?.[i].inner, `${what}[${i}]`, depth + 1);
    } else {
      writeScalar(w, type, values[i], what);
    }
  }
}

/** Encodes header, metadata, tensor table and the padding up to the data section. */
export function encodeHeader(
  version: number,
  metadata: ReadonlyArray<readonly [string, GgufKv]>,
  tensors: readonly GgufTensorInfo[],
  alignment: number,
): Uint8Array {
  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(version);
  w.u64(tensors.length);
  w.u64(metadata.length);
  for (const [key, kv] of metadata) {
    w.string(key, MAX_KEY_BYTES, `metadata key "${key.slice(0, 40)}"`);
    w.u32(kv.type);
    if (kv.type === GgufValueType.ARRAY) {
      writeArray(w, kv.arrayType, kv.value, kv.inner, `metadata "${key}"`, 1);
    } else writeScalar(w, kv.type, kv.value, `metadata "${key}"`);
  }
  for (const t of tensors) {
    w.string(t.name, Infinity, `tensor name "${t.name}"`);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.type);
    w.u64(t.offset);
  }
  // zero padding up to the data section (fresh bytes are zero); like ggml, none when there is no data
  if (tensors.length > 0) w.reserve((alignment - (w.length % alignment)) % alignment);
  return w.bytes.slice(0, w.length);
}
