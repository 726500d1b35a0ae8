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
import { Cursor, MIN_VALUE_BYTES, NeedMoreBytes } from "./header_cursor.ts";
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  INITIAL_HEADER_READ_BYTES,
  MAX_ALIGNMENT,
  MAX_DIMS,
  MAX_HEADER_BYTES,
  MAX_KEY_BYTES,
  MAX_METADATA_COUNT,
  MAX_TENSOR_COUNT,
  MAX_TENSOR_NAME_BYTES,
} from "./limits.ts";
import { type GgufHeader, type GgufKv, type GgufTensorInfo, GgufValueType } from "./types.ts";

export * from "./limits.ts";

/** Smallest key/value: u64 key length, 1 key byte, u32 type, 1 value byte. */
const MIN_KV_BYTES = 14;
/** Smallest tensor entry: u64 name length, 1 name byte, u32 n_dims, one u64 dim, u32 type, u64 offset. */
const MIN_TENSOR_INFO_BYTES = 33;

/** Result of one parse attempt over a prefix: a header, or the prefix length needed to go on. */
type ParseAttempt = { readonly header: GgufHeader } | { readonly needBytes: number };

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

function parseAttempt(
  bytes: Uint8Array,
  fileSize: number,
  name: string,
  maxHeaderBytes: number,
): ParseAttempt {
  try {
    return { header: parseWithCursor(new Cursor(bytes, fileSize, name, maxHeaderBytes)) };
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
  const attempt = parseAttempt(bytes, Math.max(fileSize, bytes.length), name, MAX_HEADER_BYTES);
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
  /** header size limit in bytes (default `MAX_HEADER_BYTES`); a node with little memory may lower it */
  readonly maxHeaderBytes?: number;
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
  const limit = options.maxHeaderBytes ?? MAX_HEADER_BYTES;
  const first = Math.max(16, options.initialReadBytes ?? INITIAL_HEADER_READ_BYTES);
  let bytes = await source.read(0, Math.min(size, first, limit));
  for (;;) {
    const attempt = parseAttempt(bytes, size, source.name, limit);
    if ("header" in attempt) return attempt.header;
    // need() guarantees needBytes <= size and <= limit
    const next = Math.min(size, limit, Math.max(attempt.needBytes, bytes.length * 4));
    const more = await source.read(bytes.length, next - bytes.length);
    const grown = new Uint8Array(next);
    grown.set(bytes);
    grown.set(more, bytes.length);
    bytes = grown;
  }
}
