/**
 * Test fixtures for the GGUF tests: a rich valid spec (every metadata type, nested arrays, a tensor of
 * every quantisable type) and `RawGguf`, a byte builder that writes whatever it is told — including the
 * malformed headers the writer refuses to produce.
 */
import { kv } from "../../src/gguf/kv.ts";
import { GgufValueType } from "../../src/gguf/types.ts";
import type { GgufKv } from "../../src/gguf/types.ts";
import type { GgufSpec, GgufTensorSpec } from "../../src/gguf/writer.ts";
import { GgmlType, ggmlTypeInfo } from "../../src/quant/ggml_type.ts";
import { quantize } from "../../src/quant/quantize.ts";
import { normalValues } from "../quant/test_data.ts";

/** The types `quantize` can produce, i.e. every type a test file can hold. */
export const QUANTISABLE_TYPES: readonly GgmlType[] = [
  GgmlType.F32,
  GgmlType.F16,
  GgmlType.BF16,
  GgmlType.Q4_0,
  GgmlType.Q4_1,
  GgmlType.Q5_0,
  GgmlType.Q5_1,
  GgmlType.Q8_0,
  GgmlType.Q4_K,
  GgmlType.Q5_K,
  GgmlType.Q6_K,
];

/** One metadata entry of every scalar type, every array element type, and nested arrays. */
export function richMetadata(): Array<[string, GgufKv]> {
  return [
    ["general.architecture", kv.string("llama")],
    ["general.name", kv.string("tiny ☃ 模型 🦙")],
    ["test.u8", kv.u8(255)],
    ["test.i8", kv.i8(-128)],
    ["test.u16", kv.u16(65535)],
    ["test.i16", kv.i16(-32768)],
    ["test.u32", kv.u32(4294967295)],
    ["test.i32", kv.i32(-2147483648)],
    ["test.f32", kv.f32(Math.fround(3.14159))],
    ["test.f64", kv.f64(Math.PI)],
    ["test.bool_true", kv.bool(true)],
    ["test.bool_false", kv.bool(false)],
    ["test.u64", kv.u64((1n << 64n) - 1n)],
    ["test.i64", kv.i64(-(1n << 63n))],
    ["test.string_empty", kv.string("")],
    ["test.string_bom", kv.string("\uFEFF")],
    ["test.arr.u8", kv.array(GgufValueType.UINT8, [0, 1, 255])],
    ["test.arr.i8", kv.array(GgufValueType.INT8, [-128, 0, 127])],
    ["test.arr.u16", kv.array(GgufValueType.UINT16, [0, 65535])],
    ["test.arr.i16", kv.array(GgufValueType.INT16, [-32768, 32767])],
    ["test.arr.u32", kv.array(GgufValueType.UINT32, [0, 4294967295])],
    ["test.arr.i32", kv.array(GgufValueType.INT32, [-2147483648, 2147483647])],
    ["test.arr.f32", kv.array(GgufValueType.FLOAT32, [0.5, -1.25, Infinity])],
    ["test.arr.f64", kv.array(GgufValueType.FLOAT64, [Math.E, -0, 1e300])],
    ["test.arr.bool", kv.array(GgufValueType.BOOL, [true, false, true])],
    ["test.arr.string", kv.strings(["a", "", "ü", "\uFEFFx"])],
    ["test.arr.u64", kv.array(GgufValueType.UINT64, [0n, (1n << 64n) - 1n])],
    ["test.arr.i64", kv.array(GgufValueType.INT64, [-(1n << 63n), 42n])],
    ["test.arr.empty", kv.array(GgufValueType.UINT32, [])],
    [
      "test.arr.nested",
      kv.nested([
        kv.array(GgufValueType.UINT8, [1, 2]),
        kv.strings(["x", "yz"]),
        kv.array(GgufValueType.FLOAT32, []),
        kv.nested([kv.array(GgufValueType.INT64, [5n]), kv.array(GgufValueType.BOOL, [])]),
      ]),
    ],
  ];
}

/** Dims of a small test tensor of `type`: two or three rows of whole blocks. */
export function smallDims(type: GgmlType): number[] {
  const block = ggmlTypeInfo(type)!.blockSize;
  return block === 1 ? [5, 3] : block === 32 ? [64, 3] : [256, 2];
}

/** A tensor of each quantisable type holding quantised N(0, 1) values. */
export function richTensors(seed = 1): GgufTensorSpec[] {
  return QUANTISABLE_TYPES.map((type, i) => {
    const dims = smallDims(type);
    const values = normalValues(dims[0] * dims[1], seed + i);
    return {
      name: `blk.${i}.${GgmlType[type].toLowerCase()}.weight`,
      dims,
      type,
      data: quantize(type, values),
    };
  });
}

/** A valid spec with every metadata type and a tensor of every quantisable type. */
export function richSpec(): GgufSpec {
  return { metadata: richMetadata(), tensors: richTensors() };
}

/** Little-endian byte builder for hand-crafted (possibly invalid) GGUF files. */
export class RawGguf {
  #bytes: number[] = [];

  get length(): number {
    return this.#bytes.length;
  }
  u8(v: number): this {
    this.#bytes.push(v & 0xff);
    return this;
  }
  u32(v: number): this {
    for (let i = 0; i < 4; i++) this.#bytes.push((v >>> (8 * i)) & 0xff);
    return this;
  }
  u64(v: bigint | number): this {
    const b = BigInt.asUintN(64, BigInt(v));
    for (let i = 0n; i < 8n; i++) this.#bytes.push(Number((b >> (8n * i)) & 0xffn));
    return this;
  }
  raw(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.#bytes.push(bytes[i]);
    return this;
  }
  /** A GGUF string: u64 byte length, UTF-8 bytes. */
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.u64(b.length).raw(b);
  }
  /** Magic, version and the two counts. */
  header(tensors: number | bigint, kvs: number | bigint, version = 3): this {
    return this.raw([0x47, 0x47, 0x55, 0x46]).u32(version).u64(tensors).u64(kvs);
  }
  /** A metadata entry with a u32 value. */
  kvU32(key: string, value: number): this {
    return this.str(key).u32(GgufValueType.UINT32).u32(value);
  }
  /** A tensor table entry. */
  tensor(name: string, dims: ReadonlyArray<number | bigint>, type: number, offset: number | bigint): this {
    this.str(name).u32(dims.length);
    for (const d of dims) this.u64(d);
    return this.u32(type).u64(offset);
  }
  /** Zero bytes up to a multiple of `alignment`. */
  pad(alignment = 32): this {
    while (this.#bytes.length % alignment !== 0) this.#bytes.push(0);
    return this;
  }
  zeros(n: number): this {
    for (let i = 0; i < n; i++) this.#bytes.push(0);
    return this;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }
}
