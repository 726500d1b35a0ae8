/**
 * The in-memory shape of a GGUF file's header: metadata key/values and the tensor table.
 * Tensor data stays in its source (file or URL) and is read by byte range on demand.
 */
import type { GgmlType } from "../quant/ggml_type.ts";

/** GGUF metadata value types, as numbered in the file format. */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/**
 * A decoded metadata value. Integers of 8–32 bits and floats are `number`; 64-bit integers are `bigint`;
 * arrays are JS arrays (nested arrays allowed).
 */
export type GgufValue = number | bigint | boolean | string | GgufValue[];

/** One metadata entry with its declared type, so a writer can reproduce it exactly. */
export interface GgufKv {
  readonly type: GgufValueType;
  /** element type when `type` is ARRAY (for nested arrays: ARRAY, with the inner types in `value`) */
  readonly arrayType?: GgufValueType;
  readonly value: GgufValue;
  /**
   * For nested arrays (arrayType ARRAY): the declared type of each inner array, one entry per element of
   * `value`, so empty or numeric inner arrays keep their exact on-disk type. The reader always fills it; a
   * writer given none infers the inner types from the values.
   */
  readonly inner?: readonly GgufNestedArrayType[];
}

/** Declared type of one array that is an element of another array (GGUF nested arrays). */
export interface GgufNestedArrayType {
  /** element type of this inner array */
  readonly arrayType: GgufValueType;
  /** when `arrayType` is ARRAY: the types of its own inner arrays, one per element */
  readonly inner?: readonly GgufNestedArrayType[];
}

/** One entry of the tensor table. */
export interface GgufTensorInfo {
  readonly name: string;
  /** GGUF dimension order: dims[0] is the contiguous row length (ggml `ne`) */
  readonly dims: readonly number[];
  readonly type: GgmlType;
  /** byte offset of the data relative to the start of the data section */
  readonly offset: number;
  /** bytes of data */
  readonly byteSize: number;
}

/** A parsed GGUF header. */
export interface GgufHeader {
  /** 2 or 3 */
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufKv>;
  readonly tensors: readonly GgufTensorInfo[];
  /** `general.alignment`, default 32 bytes */
  readonly alignment: number;
  /** absolute byte offset of the data section in the file */
  readonly dataOffset: number;
}
