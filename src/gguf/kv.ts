/**
 * Builders for metadata entries (`GgufKv`), so writers and tests state each value's on-disk type once.
 *
 * @example
 * ```ts
 * const metadata: Array<[string, GgufKv]> = [
 *   ["general.architecture", kv.string("llama")],
 *   ["llama.embedding_length", kv.u32(64)],
 *   ["tokenizer.ggml.tokens", kv.strings(["<unk>", "<s>", "</s>"])],
 *   ["tokenizer.ggml.scores", kv.array(GgufValueType.FLOAT32, [0, 0, 0])],
 *   ["example.nested", kv.nested([kv.array(GgufValueType.UINT8, [1, 2]), kv.strings([])])],
 * ];
 * ```
 */
import { type GgufKv, type GgufNestedArrayType, type GgufValue, GgufValueType } from "./types.ts";

/** Metadata value builders, one per GGUF value type. */
export const kv = {
  u8: (value: number): GgufKv => ({ type: GgufValueType.UINT8, value }),
  i8: (value: number): GgufKv => ({ type: GgufValueType.INT8, value }),
  u16: (value: number): GgufKv => ({ type: GgufValueType.UINT16, value }),
  i16: (value: number): GgufKv => ({ type: GgufValueType.INT16, value }),
  u32: (value: number): GgufKv => ({ type: GgufValueType.UINT32, value }),
  i32: (value: number): GgufKv => ({ type: GgufValueType.INT32, value }),
  f32: (value: number): GgufKv => ({ type: GgufValueType.FLOAT32, value }),
  f64: (value: number): GgufKv => ({ type: GgufValueType.FLOAT64, value }),
  u64: (value: bigint | number): GgufKv => ({ type: GgufValueType.UINT64, value: BigInt(value) }),
  i64: (value: bigint | number): GgufKv => ({ type: GgufValueType.INT64, value: BigInt(value) }),
  bool: (value: boolean): GgufKv => ({ type: GgufValueType.BOOL, value }),
  string: (value: string): GgufKv => ({ type: GgufValueType.STRING, value }),
  /** A flat array whose elements all have `arrayType` (not ARRAY: use `nested`). */
  array: (arrayType: GgufValueType, values: readonly GgufValue[]): GgufKv => ({
    type: GgufValueType.ARRAY,
    arrayType,
    value: [...values],
  }),
  strings: (values: readonly string[]): GgufKv => ({
    type: GgufValueType.ARRAY,
    arrayType: GgufValueType.STRING,
    value: [...values],
  }),
  /** An array of arrays, each built with `kv.array`, `kv.strings` or `kv.nested`, keeping their types. */
  nested: (arrays: readonly GgufKv[]): GgufKv => ({
    type: GgufValueType.ARRAY,
    arrayType: GgufValueType.ARRAY,
    value: arrays.map((a) => a.value),
    inner: arrays.map(nestedTypeOf),
  }),
};

function nestedTypeOf(a: GgufKv): GgufNestedArrayType {
  if (a.type !== GgufValueType.ARRAY || a.arrayType === undefined) {
    throw new TypeError(`kv.nested takes arrays, got value type ${GgufValueType[a.type]}`);
  }
  return a.inner ? { arrayType: a.arrayType, inner: a.inner } : { arrayType: a.arrayType };
}
