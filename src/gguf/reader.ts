/**
 * GGUF header parser (versions 2 and 3, little-endian).
 *
 * Layout: magic "GGUF", u32 version, u64 tensor_count, u64 metadata_kv_count, then the key/values, then
 * the tensor table (name, u32 n_dims, u64 dims[n_dims], u32 type, u64 offset), then padding up to
 * `general.alignment`, then the data section. Strings are a u64 byte length followed by UTF-8 bytes.
 *
 * The core, `parseGgufHeaderBytes`, is pure and synchronous: it parses a prefix of the file and, when the
 * prefix is too short, asks for more. `parseGgufHeader` is the I/O shell that reads that prefix from a
 * `ByteSource` in growing chunks, so only the header is ever read, never the tensor data.
 *
 * Hostile input: every count and length is checked against a named limit and against the bytes left in
 * the file before anything is allocated, so a lying count fails fast with a `GgufError` instead of an
 * allocation of gigabytes.
 *
 * @example
 * ```ts
 * const source = await openFileSource("model.gguf");
 * const header = await parseGgufHeader(source);
 * console.log(header.version, header.tensors.length, header.metadata.get("general.architecture")?.value);
 * ```
 */
import { ggmlTypeInfo, isSupportedType } from "../quant/ggml_type.ts";
import type { ByteSource } from "./byte_source.ts";
import { GgufError } from "./errors.ts";
import {
  type GgufHeader,
  type GgufKv,
  type GgufNestedArrayType,
  type GgufTensorInfo,
  type GgufValue,
  GgufValueType,
} from "./types.ts";

/** "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
/** Alignment of the data section when `general.alignment` is absent, in bytes. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** Largest accepted `general.alignment`, in bytes: real files use 32; a larger value only wastes space. */
export const MAX_ALIGNMENT = 1 << 20;
/** Largest accepted string, in bytes: chat templates, the longest real strings, are ~100 KB. */
export const MAX_STRING_BYTES = 16 << 20;
/** Largest accepted key, in bytes (the GGUF spec's limit, 2^16 - 1). */
export const MAX_KEY_BYTES = 65535;
/** Largest accepted tensor name, in bytes (the GGUF spec's limit). */
export const MAX_TENSOR_NAME_BYTES = 64;
/** Largest accepted array, in elements: the biggest real arrays are vocabularies and merges (~10^6). */
export const MAX_ARRAY_LENGTH = 1 << 24;
/** Deepest accepted array nesting: real files nest at most once; the limit bounds recursion. */
export const MAX_ARRAY_DEPTH = 8;
/** Most tensors accepted: the largest real models have a few thousand. */
export const MAX_TENSOR_COUNT = 1 << 20;
/** Most metadata key/values accepted: real files have under a hundred. */
export const MAX_METADATA_COUNT = 1 << 16;
/** Most tensor dimensions (ggml's GGML_MAX_DIMS). */
export const MAX_DIMS = 4;
/** Largest accepted header, in bytes: big vocabularies make headers of ~10 MB; more is not a model. */
export const MAX_HEADER_BYTES = 256 << 20;
/** First header read, in bytes: covers the header of most models in one read. */
export const INITIAL_HEADER_READ_BYTES = 256 << 10;

/** Smallest on-disk size of one value of each type, in bytes, used to bound counts by the bytes left. */
const MIN_VALUE_BYTES: Record<GgufValueType, number> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.STRING]: 8, // the u64 length
  [GgufValueType.ARRAY]: 12, // u32 type + u64 count
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};
/** Smallest key/value: u64 key length, 1 key byte, u32 type, 1 value byte. */
const MIN_KV_BYTES = 14;
/** Smallest tensor entry: u64 name length, 1 name byte, u32 n_dims, one u64 dim, u32 type, u64 offset. */
const MIN_TENSOR_INFO_BYTES = 33;

/** Thrown inside the pure parser when the prefix it was given is too short; never escapes this module. */
class NeedMoreBytes {
  constructor(readonly total: number) {}
}

/** Result of one parse attempt over a prefix: a header, or the prefix length needed to go on. */
type ParseAttempt = { readonly header: GgufHeader } | { readonly needBytes: number };

const utf8 = new TextDecoder("utf-8");

/** Sequential little-endian reader over a prefix of a file of `fileSize` bytes. */
class Cursor {
  pos = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array, readonly fileSize: number, readonly name: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get left(): number {
    return this.fileSize - this.pos;
  }

  /** Makes sure `n` bytes at the cursor are available, or says why not. */
  need(n: number, what: string): void {
    const end = this.pos + n;
    if (end > this.fileSize) {
      throw new GgufError(
        "truncated",
        `${this.name}: ${what} at byte ${this.pos} needs ${n} bytes but the file ends at byte ${this.fileSize}`,
        { offset: this.pos },
      );
    }
    if (end > MAX_HEADER_BYTES) {
      throw new GgufError(
        "header_too_large",
        `${this.name}: the header reaches past ${MAX_HEADER_BYTES} bytes (${what} at byte ${this.pos})`,
        { offset: this.pos },
      );
    }
    if (end > this.bytes.length) throw new NeedMoreBytes(end);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.pos++];
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A u64 count of items each at least `minBytes` long, checked against `max` and the bytes left. */
  count(what: string, minBytes: number, max: number): number {
    const at = this.pos;
    const raw = this.u64(what);
    const bound = Math.min(max, Math.floor(this.left / minBytes));
    if (raw > BigInt(bound)) {
      const reason = raw > BigInt(max)
        ? `the limit is ${max}`
        : `only ${this.left} bytes are left in the file`;
      throw new GgufError("absurd_count", `${this.name}: ${what} at byte ${at} is ${raw}; ${reason}`, {
        offset: at,
      });
    }
    return Number(raw);
  }

  string(what: string, maxBytes: number): string {
    const at = this.pos;
    const raw = this.u64(`length of ${what}`);
    if (raw > BigInt(maxBytes)) {
      throw new GgufError(
        "absurd_string",
        `${this.name}: ${what} at byte ${at} claims ${raw} bytes; the limit is ${maxBytes}`,
        { offset: at },
      );
    }
    const n = Number(raw);
    this.need(n, what);
    const s = decodeUtf8(this.bytes, this.pos, n);
    this.pos += n;
    return s;
  }

  value(type: number, what: string, depth: number): { value: GgufValue; inner?: GgufNestedArrayType[] } {
    const at = this.pos;
    const view = this.view;
    switch (type) {
      case GgufValueType.UINT8:
        return { value: this.u8(what) };
      case GgufValueType.INT8:
        this.need(1, what);
        return { value: view.getInt8(this.pos++) };
      case GgufValueType.UINT16:
        this.need(2, what);
        this.pos += 2;
        return { value: view.getUint16(at, true) };
      case GgufValueType.INT16:
        this.need(2, what);
        this.pos += 2;
        return { value: view.getInt16(at, true) };
      case GgufValueType.UINT32:
        return { value: this.u32(what) };
      case GgufValueType.INT32:
        this.need(4, what);
        this.pos += 4;
        return { value: view.getInt32(at, true) };
      case GgufValueType.FLOAT32:
        this.need(4, what);
        this.pos += 4;
        return { value: view.getFloat32(at, true) };
      case GgufValueType.UINT64:
        return { value: this.u64(what) };
      case GgufValueType.INT64:
        this.need(8, what);
        this.pos += 8;
        return { value: view.getBigInt64(at, true) };
      case GgufValueType.FLOAT64:
        this.need(8, what);
        this.pos += 8;
        return { value: view.getFloat64(at, true) };
      case GgufValueType.BOOL: {
        const b = this.u8(what);
        if (b > 1) {
          throw new GgufError(
            "bad_value",
            `${this.name}: ${what} at byte ${at} is a bool of byte ${b}, not 0 or 1`,
            {
              offset: at,
            },
          );
        }
        return { value: b === 1 };
      }
      case GgufValueType.STRING:
        return { value: this.string(what, MAX_STRING_BYTES) };
      case GgufValueType.ARRAY:
        return this.array(what, depth + 1);
      default:
        throw new GgufError("bad_value_type", `${this.name}: ${what} at byte ${at} has value type ${type}`, {
          offset: at,
        });
    }
  }

  /** An array body: u32 element type, u64 count, elements. */
  array(
    what: string,
    depth: number,
  ): { value: GgufValue[]; inner?: GgufNestedArrayType[]; arrayType?: number } {
    if (depth > MAX_ARRAY_DEPTH) {
      throw new GgufError("bad_value", `${this.name}: ${what} nests arrays deeper than ${MAX_ARRAY_DEPTH}`, {
        offset: this.pos,
      });
    }
    const typeAt = this.pos;
    const elemType = this.u32(`element type of ${what}`);
    if (!(elemType in MIN_VALUE_BYTES)) {
      throw new GgufError(
        "bad_value_type",
        `${this.name}: ${what} at byte ${typeAt} has element type ${elemType}`,
        {
          offset: typeAt,
        },
      );
    }
    const n = this.count(`length of ${what}`, MIN_VALUE_BYTES[elemType as GgufValueType], MAX_ARRAY_LENGTH);
    const values: GgufValue[] = new Array(n);
    if (elemType === GgufValueType.ARRAY) {
      const inner: GgufNestedArrayType[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const a = this.array(`${what}[${i}]`, depth + 1);
        values[i] = a.value;
        inner[i] = a.inner ? { arrayType: a.arrayType!, inner: a.inner } : { arrayType: a.arrayType! };
      }
      return { value: values, inner, arrayType: elemType };
    }
    for (let i = 0; i < n; i++) values[i] = this.value(elemType, what, depth).value;
    return { value: values, arrayType: elemType };
  }
}

/** UTF-8 decode with an ASCII fast path: vocabularies are hundreds of thousands of short ASCII strings. */
function decodeUtf8(bytes: Uint8Array, start: number, length: number): string {
  if (length <= 32) {
    let ascii = true;
    for (let i = start; i < start + length; i++) {
      if (bytes[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      return String.fromCharCode.apply(null, bytes.subarray(start, start + length) as unknown as number[]);
    }
  }
  return utf8.decode(bytes.subarray(start, start + length));
}

function describeVersion(name: string, version: number): GgufError {
  // A big-endian writer stores the magic as bytes "GGUF" but the version byte-swapped: 3 reads as 0x03000000.
  const swapped =
    ((version & 0xff) << 24 | (version & 0xff00) << 8 | (version >>> 8) & 0xff00 | version >>> 24) >>>
    0;
  if ((version & 0xffff) === 0 && swapped >= 1 && swapped <= 3) {
    return new GgufError("big_endian", `${name}: big-endian GGUF (version ${swapped}) is not supported`, {
      offset: 4,
    });
  }
  return new GgufError(
    "unsupported_version",
    `${name}: GGUF version ${version} is not supported (only 2 and 3)`,
    {
      offset: 4,
    },
  );
}

function parseAttempt(bytes: Uint8Array, fileSize: number, name: string): ParseAttempt {
  try {
    return { header: parseWithCursor(new Cursor(bytes, fileSize, name)) };
  } catch (e) {
    if (e instanceof NeedMoreBytes) return { needBytes: e.total };
    throw e;
  }
}

function parseWithCursor(c: Cursor): GgufHeader {
  const magic = c.u32("magic");
  if (magic !== GGUF_MAGIC) {
    throw new GgufError(
      "bad_magic",
      `${c.name}: not a GGUF file (magic 0x${magic.toString(16).padStart(8, "0")})`,
      {
        offset: 0,
      },
    );
  }
  const version = c.u32("version");
  if (version !== 2 && version !== 3) throw describeVersion(c.name, version);
  const tensorCount = c.count("tensor count", MIN_TENSOR_INFO_BYTES, MAX_TENSOR_COUNT);
  const kvCount = c.count("metadata count", MIN_KV_BYTES, MAX_METADATA_COUNT);

  const metadata = new Map<string, GgufKv>();
  for (let i = 0; i < kvCount; i++) {
    const keyAt = c.pos;
    const key = c.string(`key of metadata entry ${i}`, MAX_KEY_BYTES);
    if (metadata.has(key)) {
      throw new GgufError("duplicate_key", `${c.name}: metadata key "${key}" appears twice (byte ${keyAt})`, {
        offset: keyAt,
      });
    }
    const typeAt = c.pos;
    const type = c.u32(`value type of "${key}"`);
    if (!(type in MIN_VALUE_BYTES)) {
      throw new GgufError(
        "bad_value_type",
        `${c.name}: metadata "${key}" at byte ${typeAt} has value type ${type}`,
        {
          offset: typeAt,
        },
      );
    }
    if (type === GgufValueType.ARRAY) {
      const a = c.array(`"${key}"`, 1);
      const kv: GgufKv = a.inner
        ? { type, arrayType: a.arrayType, value: a.value, inner: a.inner }
        : { type, arrayType: a.arrayType, value: a.value };
      metadata.set(key, kv);
    } else {
      metadata.set(key, { type, value: c.value(type, `"${key}"`, 0).value });
    }
  }

  const alignment = readAlignment(c.name, metadata);

  const tensors: GgufTensorInfo[] = new Array(tensorCount);
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    tensors[i] = readTensorInfo(c, i, alignment);
    if (names.has(tensors[i].name)) {
      throw new GgufError("duplicate_tensor", `${c.name}: tensor "${tensors[i].name}" appears twice`);
    }
    names.add(tensors[i].name);
  }

  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  for (const t of tensors) {
    const end = dataOffset + t.offset + t.byteSize;
    if (end > c.fileSize) {
      throw new GgufError(
        "tensor_out_of_bounds",
        `${c.name}: tensor "${t.name}" spans bytes ${
          dataOffset + t.offset
        }..${end} but the file has ${c.fileSize}`,
        { offset: dataOffset + t.offset },
      );
    }
  }
  return { version, metadata, tensors, alignment, dataOffset };
}

function readAlignment(name: string, metadata: ReadonlyMap<string, GgufKv>): number {
  const kv = metadata.get("general.alignment");
  if (kv === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (kv.type !== GgufValueType.UINT32) {
    throw new GgufError("bad_alignment", `${name}: general.alignment has value type ${kv.type}, not UINT32`);
  }
  const a = kv.value as number;
  if (a === 0 || (a & (a - 1)) !== 0 || a > MAX_ALIGNMENT) {
    throw new GgufError(
      "bad_alignment",
      `${name}: general.alignment ${a} is not a power of two up to ${MAX_ALIGNMENT}`,
    );
  }
  return a;
}

function readTensorInfo(c: Cursor, index: number, alignment: number): GgufTensorInfo {
  const at = c.pos;
  const name = c.string(`name of tensor ${index}`, MAX_TENSOR_NAME_BYTES);
  if (name.length === 0) {
    throw new GgufError("bad_tensor", `${c.name}: tensor ${index} has an empty name`, { offset: at });
  }
  const nDimsAt = c.pos;
  const nDims = c.u32(`dimension count of tensor "${name}"`);
  if (nDims < 1 || nDims > MAX_DIMS) {
    throw new GgufError(
      "bad_tensor",
      `${c.name}: tensor "${name}" has ${nDims} dimensions; 1 to ${MAX_DIMS} allowed`,
      {
        offset: nDimsAt,
      },
    );
  }
  const dims: number[] = [];
  let elements = 1n;
  for (let d = 0; d < nDims; d++) {
    const dimAt = c.pos;
    const dim = c.u64(`dimension ${d} of tensor "${name}"`);
    elements *= dim;
    // any real dimension fits easily; the product bound keeps byte arithmetic exact in doubles
    if (dim < 1n || elements > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new GgufError("bad_tensor", `${c.name}: tensor "${name}" has dimension ${d} of ${dim}`, {
        offset: dimAt,
      });
    }
    dims.push(Number(dim));
  }
  const typeAt = c.pos;
  const type = c.u32(`type of tensor "${name}"`);
  const info = isSupportedType(type) ? ggmlTypeInfo(type) : undefined;
  if (info === undefined) {
    throw new GgufError(
      "unknown_tensor_type",
      `${c.name}: tensor "${name}" has type ${type}, which edgering cannot read`,
      {
        offset: typeAt,
      },
    );
  }
  if (dims[0] % info.blockSize !== 0) {
    throw new GgufError(
      "bad_tensor",
      `${c.name}: tensor "${name}" has rows of ${
        dims[0]
      } values, not a multiple of ${info.name}'s block of ${info.blockSize}`,
      { offset: at },
    );
  }
  const offsetAt = c.pos;
  const offset = c.u64(`data offset of tensor "${name}"`);
  if (offset > BigInt(c.fileSize) || offset % BigInt(alignment) !== 0n) {
    throw new GgufError(
      offset > BigInt(c.fileSize) ? "tensor_out_of_bounds" : "bad_tensor",
      `${c.name}: tensor "${name}" has data offset ${offset} (alignment ${alignment}, file ${c.fileSize} bytes)`,
      { offset: offsetAt },
    );
  }
  const byteSize = (Number(elements) / info.blockSize) * info.typeSize;
  return { name, dims, type, offset: Number(offset), byteSize };
}

/**
 * Parses a GGUF header from the first bytes of a file (pure; no I/O).
 *
 * `bytes` is a prefix of a file of `fileSize` bytes (default: the whole file is given). Throws
 * `GgufError` for any malformed header, including "truncated" when the prefix is too short.
 *
 * @example
 * ```ts
 * const header = parseGgufHeaderBytes(await Deno.readFile("tiny.gguf"));
 * ```
 */
export function parseGgufHeaderBytes(
  bytes: Uint8Array,
  fileSize: number = bytes.length,
  name = "GGUF bytes",
): GgufHeader {
  const attempt = parseAttempt(bytes, Math.max(fileSize, bytes.length), name);
  if ("header" in attempt) return attempt.header;
  throw new GgufError(
    "truncated",
    `${name}: the header needs ${attempt.needBytes} bytes, only ${bytes.length} given`,
  );
}

/** Options of `parseGgufHeader`. */
export interface ParseGgufHeaderOptions {
  /** first read, in bytes (default `INITIAL_HEADER_READ_BYTES`); later reads grow fourfold */
  readonly initialReadBytes?: number;
}

/**
 * Reads and parses the header of a GGUF file from a byte source, reading only the header's bytes (in
 * chunks that start at `initialReadBytes` and grow fourfold), never the tensor data.
 *
 * @example
 * ```ts
 * const header = await parseGgufHeader(await openFileSource("../shared/models/stories260K.gguf"));
 * header.tensors.length; // 48
 * ```
 */
export async function parseGgufHeader(
  source: ByteSource,
  options: ParseGgufHeaderOptions = {},
): Promise<GgufHeader> {
  const size = source.size;
  const first = Math.max(16, options.initialReadBytes ?? INITIAL_HEADER_READ_BYTES);
  let bytes = await source.read(0, Math.min(size, first, MAX_HEADER_BYTES));
  for (;;) {
    const attempt = parseAttempt(bytes, size, source.name);
    if ("header" in attempt) return attempt.header;
    // need() guarantees needBytes <= size and <= MAX_HEADER_BYTES
    const next = Math.min(size, MAX_HEADER_BYTES, Math.max(attempt.needBytes, bytes.length * 4));
    const more = await source.read(bytes.length, next - bytes.length);
    const grown = new Uint8Array(next);
    grown.set(bytes);
    grown.set(more, bytes.length);
    bytes = grown;
  }
}
