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
import { MetadataReader } from "./metadata_reader.ts";
import { parseGgufHeader, type ParseGgufHeaderOptions } from "./reader.ts";
import type { GgufHeader, GgufKv, GgufTensorInfo, GgufValue } from "./types.ts";

/** Number of values in a tensor (product of its dims). */
export function tensorElementCount(info: GgufTensorInfo): number {
  let n = 1;
  for (const d of info.dims) n *= d;
  return n;
}

/** A parsed GGUF file over a byte source; tensor data is read from the source on demand. */
export class GgufFile {
  readonly header: GgufHeader;
  readonly source: ByteSource;
  /** typed metadata reads that fail with GgufError */
  readonly meta: MetadataReader;
  readonly #byName: ReadonlyMap<string, GgufTensorInfo>;

  constructor(header: GgufHeader, source: ByteSource) {
    this.header = header;
    this.source = source;
    this.#byName = new Map(header.tensors.map((t) => [t.name, t]));
    this.meta = new MetadataReader(
      header.metadata,
      (problem, message) => new GgufError(problem, message),
      source.name,
    );
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

  /**
   * Fills `into` with the tensor's bytes from `offsetInTensor` on: a loader streams a big tensor
   * through one reused buffer this way. Throws GgufError("truncated") past the tensor's end.
   */
  async readTensorPiece(info: GgufTensorInfo, offsetInTensor: number, into: Uint8Array): Promise<void> {
    if (offsetInTensor < 0 || offsetInTensor + into.length > info.byteSize) {
      throw new GgufError(
        "truncated",
        `${this.source.name}: bytes ${offsetInTensor}..${offsetInTensor + into.length} are outside ` +
          `tensor ${info.name} (${info.byteSize} bytes)`,
      );
    }
    const at = this.header.dataOffset + info.offset + offsetInTensor;
    if (this.source.readInto) await this.source.readInto(at, into);
    else into.set(await this.source.read(at, into.length));
  }

  /** A tensor's values dequantised to f32 (`out`, when given, receives them), in GGUF order (dims[0] fastest). */
  async readTensorF32(tensor: GgufTensorInfo | string, out?: Float32Array): Promise<Float32Array> {
    const info = typeof tensor === "string" ? this.tensorInfo(tensor) : tensor;
    const bytes = await this.readTensorBytes(info);
    return dequantize(info.type, bytes, tensorElementCount(info), out);
  }

  has(key: string): boolean {
    return this.meta.has(key);
  }

  /** The raw entry for `key`, or undefined. */
  kv(key: string): GgufKv | undefined {
    return this.header.metadata.get(key);
  }

  // Typed getters: `fallback` is returned when the key is absent; a wrong type always throws
  // GgufError("wrong_type"), an absent key without fallback GgufError("missing_key").

  getString(key: string, fallback?: string): string {
    return this.meta.require(key, this.meta.string(key) ?? fallback, "a string");
  }

  /** Any numeric value as a number (64-bit integers converted; beyond 2^53 they lose precision). */
  getNumber(key: string, fallback?: number): number {
    return this.meta.require(key, this.meta.number(key) ?? fallback, "a number");
  }

  /** An integer value as an exact bigint. */
  getBigInt(key: string, fallback?: bigint): bigint {
    return this.meta.require(key, this.meta.bigint(key) ?? fallback, "an integer");
  }

  getBool(key: string, fallback?: boolean): boolean {
    return this.meta.require(key, this.meta.bool(key) ?? fallback, "a boolean");
  }

  getArray(key: string, fallback?: readonly GgufValue[]): readonly GgufValue[] {
    return this.meta.require(key, this.meta.array(key) ?? fallback, "an array");
  }

  /** An array of strings (e.g. tokenizer.ggml.tokens). */
  getStringArray(key: string, fallback?: readonly string[]): readonly string[] {
    return this.meta.require(key, this.meta.stringArray(key) ?? fallback, "an array of strings");
  }

  /** An array of numbers (e.g. tokenizer.ggml.scores); 64-bit integers are converted to numbers. */
  getNumberArray(key: string, fallback?: readonly number[]): readonly number[] {
    return this.meta.require(key, this.meta.numberArray(key) ?? fallback, "an array of numbers");
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
