/**
 * An open GGUF file: its parsed header, typed metadata getters and tensor reads by exact byte range.
 *
 * @example
 * ```ts
 * const gguf = await openGguf("../shared/models/stories260K.gguf");
 * const dim = gguf.getNumber("llama.embedding_length"); // 64
 * const eps = gguf.getNumber("llama.rope.freq_base", 10000); // absent → default
 * const embd = await gguf.readTensorF32("token_embd.weight"); // Float32Array(64 * 512)
 * gguf.close();
 * ```
 */
import { dequantize } from "../quant/dequantize.ts";
import type { ByteSource } from "./byte_source.ts";
import { GgufError } from "./errors.ts";
import { openFileSource } from "./file_source.ts";
import { type HttpSourceOptions, openHttpSource } from "./http_source.ts";
import { parseGgufHeader, type ParseGgufHeaderOptions } from "./reader.ts";
import { type GgufHeader, type GgufKv, type GgufTensorInfo, type GgufValue, GgufValueType } from "./types.ts";

/** Number of values in a tensor (product of its dims). */
export function tensorElementCount(info: GgufTensorInfo): number {
  let n = 1;
  for (const d of info.dims) n *= d;
  return n;
}

const NUMERIC_TYPES: ReadonlySet<GgufValueType> = new Set([
  GgufValueType.UINT8,
  GgufValueType.INT8,
  GgufValueType.UINT16,
  GgufValueType.INT16,
  GgufValueType.UINT32,
  GgufValueType.INT32,
  GgufValueType.FLOAT32,
  GgufValueType.UINT64,
  GgufValueType.INT64,
  GgufValueType.FLOAT64,
]);

function typeName(t: GgufValueType | undefined): string {
  return t === undefined ? "none" : GgufValueType[t] ?? String(t);
}

/** A parsed GGUF file over a byte source; tensor data is read from the source on demand. */
export class GgufFile {
  readonly header: GgufHeader;
  readonly source: ByteSource;
  readonly #byName: ReadonlyMap<string, GgufTensorInfo>;

  constructor(header: GgufHeader, source: ByteSource) {
    this.header = header;
    this.source = source;
    this.#byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  /** Parses the header of `source`; closes the source when the header is bad. */
  static async open(source: ByteSource, options: ParseGgufHeaderOptions = {}): Promise<GgufFile> {
    try {
      return new GgufFile(await parseGgufHeader(source, options), source);
    } catch (e) {
      source.close();
      throw e;
    }
  }

  get metadata(): ReadonlyMap<string, GgufKv> {
    return this.header.metadata;
  }
  get tensors(): readonly GgufTensorInfo[] {
    return this.header.tensors;
  }

  /** The tensor entry named `name`; throws GgufError("missing_tensor") when absent. */
  tensorInfo(name: string): GgufTensorInfo {
    const info = this.#byName.get(name);
    if (info === undefined) {
      throw new GgufError("missing_tensor", `${this.source.name}: no tensor named "${name}"`);
    }
    return info;
  }

  hasTensor(name: string): boolean {
    return this.#byName.has(name);
  }

  /** The raw bytes of a tensor, exactly its byte range in the file. */
  readTensorBytes(tensor: GgufTensorInfo | string): Promise<Uint8Array> {
    let info: GgufTensorInfo;
    try {
      info = typeof tensor === "string" ? this.tensorInfo(tensor) : tensor;
    } catch (e) {
      return Promise.reject(e);
    }
    return this.source.read(this.header.dataOffset + info.offset, info.byteSize);
  }

  /** A tensor's values dequantised to f32 (`out`, when given, receives them), in GGUF order (dims[0] fastest). */
  async readTensorF32(tensor: GgufTensorInfo | string, out?: Float32Array): Promise<Float32Array> {
    const info = typeof tensor === "string" ? this.tensorInfo(tensor) : tensor;
    const bytes = await this.readTensorBytes(info);
    return dequantize(info.type, bytes, tensorElementCount(info), out);
  }

  has(key: string): boolean {
    return this.header.metadata.has(key);
  }

  /** The raw entry for `key`, or undefined. */
  kv(key: string): GgufKv | undefined {
    return this.header.metadata.get(key);
  }

  #require(key: string, fallback: unknown, what: string, ok: (kv: GgufKv) => boolean): GgufKv | undefined {
    const kv = this.header.metadata.get(key);
    if (kv === undefined) {
      if (fallback !== undefined) return undefined;
      throw new GgufError(
        "missing_key",
        `${this.source.name}: metadata key "${key}" is missing (expected ${what})`,
      );
    }
    if (!ok(kv)) {
      const actual = kv.type === GgufValueType.ARRAY
        ? `ARRAY of ${typeName(kv.arrayType)}`
        : typeName(kv.type);
      throw new GgufError(
        "wrong_type",
        `${this.source.name}: metadata key "${key}" is ${actual}, expected ${what}`,
      );
    }
    return kv;
  }

  /** A STRING value; `fallback` is returned when the key is absent (a wrong type still throws). */
  getString(key: string, fallback?: string): string {
    const kv = this.#require(key, fallback, "STRING", (kv) => kv.type === GgufValueType.STRING);
    return kv === undefined ? fallback! : kv.value as string;
  }

  /** Any numeric value as a number (64-bit integers converted; beyond 2^53 they lose precision). */
  getNumber(key: string, fallback?: number): number {
    const kv = this.#require(key, fallback, "a number", (kv) => NUMERIC_TYPES.has(kv.type));
    return kv === undefined ? fallback! : Number(kv.value as number | bigint);
  }

  /** An integer value as an exact bigint. */
  getBigInt(key: string, fallback?: bigint): bigint {
    const kv = this.#require(
      key,
      fallback,
      "an integer",
      (kv) =>
        NUMERIC_TYPES.has(kv.type) && kv.type !== GgufValueType.FLOAT32 && kv.type !== GgufValueType.FLOAT64,
    );
    return kv === undefined ? fallback! : BigInt(kv.value as number | bigint);
  }

  getBool(key: string, fallback?: boolean): boolean {
    const kv = this.#require(key, fallback, "BOOL", (kv) => kv.type === GgufValueType.BOOL);
    return kv === undefined ? fallback! : kv.value as boolean;
  }

  /** An ARRAY value of any element type. */
  getArray(key: string, fallback?: readonly GgufValue[]): readonly GgufValue[] {
    const kv = this.#require(key, fallback, "ARRAY", (kv) => kv.type === GgufValueType.ARRAY);
    return kv === undefined ? fallback! : kv.value as GgufValue[];
  }

  /** An ARRAY of STRING (e.g. tokenizer.ggml.tokens). */
  getStringArray(key: string, fallback?: readonly string[]): readonly string[] {
    const kv = this.#require(
      key,
      fallback,
      "ARRAY of STRING",
      (kv) => kv.type === GgufValueType.ARRAY && kv.arrayType === GgufValueType.STRING,
    );
    return kv === undefined ? fallback! : kv.value as string[];
  }

  /** An ARRAY of a numeric type (e.g. tokenizer.ggml.scores); 64-bit integers are converted to numbers. */
  getNumberArray(key: string, fallback?: readonly number[]): readonly number[] {
    const kv = this.#require(
      key,
      fallback,
      "ARRAY of a number type",
      (kv) =>
        kv.type === GgufValueType.ARRAY && kv.arrayType !== undefined && NUMERIC_TYPES.has(kv.arrayType),
    );
    if (kv === undefined) return fallback!;
    const values = kv.value as (number | bigint)[];
    return typeof values[0] === "bigint" ? values.map(Number) : values as number[];
  }

  close(): void {
    this.source.close();
  }
}

/** Options of `openGguf`. */
export interface OpenGgufOptions extends ParseGgufHeaderOptions {
  /** used when the location is an http(s) URL */
  readonly http?: HttpSourceOptions;
}

/**
 * Opens a GGUF file from a local path or an http(s) URL and parses its header; tensors are read later by
 * byte range.
 *
 * @example
 * ```ts
 * const local = await openGguf("../shared/models/stories260K.gguf");
 * const remote = await openGguf("https://example.com/model.gguf");
 * ```
 */
export async function openGguf(pathOrUrl: string, options: OpenGgufOptions = {}): Promise<GgufFile> {
  const source = /^https?:\/\//i.test(pathOrUrl)
    ? await openHttpSource(pathOrUrl, options.http)
    : await openFileSource(pathOrUrl);
  return await GgufFile.open(source, options);
}
