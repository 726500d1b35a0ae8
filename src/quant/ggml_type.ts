/**
 * The ggml tensor types edgering knows, with their block geometry.
 *
 * A quantised tensor is a sequence of blocks; each block encodes `blockSize` consecutive values of a row
 * in `typeSize` bytes. Rows (the first GGUF dimension, ne[0]) are always a whole number of blocks.
 *
 * @example
 * ```ts
 * const info = ggmlTypeInfo(GgmlType.Q4_0); // { name: "Q4_0", blockSize: 32, typeSize: 18 }
 * const bytes = tensorByteSize(GgmlType.Q4_0, [4096, 4096]);
 * ```
 */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  BF16 = 30,
}

/** Block geometry of one ggml type: `blockSize` values stored in `typeSize` bytes. */
export interface GgmlTypeInfo {
  readonly type: GgmlType;
  readonly name: string;
  /** values per block */
  readonly blockSize: number;
  /** bytes per block */
  readonly typeSize: number;
}

/** Values per super-block of the K-quant types. */
export const QK_K = 256;

const TYPE_TABLE: readonly GgmlTypeInfo[] = [
  { type: GgmlType.F32, name: "F32", blockSize: 1, typeSize: 4 },
  { type: GgmlType.F16, name: "F16", blockSize: 1, typeSize: 2 },
  { type: GgmlType.BF16, name: "BF16", blockSize: 1, typeSize: 2 },
  // Q4_0: f16 scale + 16 bytes of nibbles
  { type: GgmlType.Q4_0, name: "Q4_0", blockSize: 32, typeSize: 18 },
  // Q4_1: f16 scale, f16 min + 16 bytes of nibbles
  { type: GgmlType.Q4_1, name: "Q4_1", blockSize: 32, typeSize: 20 },
  // Q5_0: f16 scale, 4 bytes of high bits, 16 bytes of nibbles
  { type: GgmlType.Q5_0, name: "Q5_0", blockSize: 32, typeSize: 22 },
  // Q5_1: f16 scale, f16 min, 4 bytes of high bits, 16 bytes of nibbles
  { type: GgmlType.Q5_1, name: "Q5_1", blockSize: 32, typeSize: 24 },
  // Q8_0: f16 scale + 32 int8
  { type: GgmlType.Q8_0, name: "Q8_0", blockSize: 32, typeSize: 34 },
  // Q4_K: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles
  { type: GgmlType.Q4_K, name: "Q4_K", blockSize: QK_K, typeSize: 144 },
  // Q5_K: f16 d, f16 dmin, 12 bytes scales, 32 bytes high bits, 128 bytes nibbles
  { type: GgmlType.Q5_K, name: "Q5_K", blockSize: QK_K, typeSize: 176 },
  // Q6_K: 128 bytes low nibbles, 64 bytes high 2-bits, 16 int8 scales, f16 d
  { type: GgmlType.Q6_K, name: "Q6_K", blockSize: QK_K, typeSize: 210 },
];

const TYPE_BY_ID = new Map<number, GgmlTypeInfo>(TYPE_TABLE.map((info) => [info.type, info]));

/** Geometry of a supported type, or undefined for a type id edgering cannot decode. */
export function ggmlTypeInfo(type: number): GgmlTypeInfo | undefined {
  return TYPE_BY_ID.get(type);
}

/** True when `type` is one edgering can read (dequantise). */
export function isSupportedType(type: number): type is GgmlType {
  return TYPE_BY_ID.has(type);
}

/** Bytes a tensor of `dims` (GGUF order: dims[0] is the row length) occupies; throws on a bad row length. */
export function tensorByteSize(type: GgmlType, dims: readonly number[]): number {
  const info = TYPE_BY_ID.get(type);
  if (!info) throw new RangeError(`unknown ggml type ${type}`);
  const rowLength = dims[0] ?? 1;
  if (rowLength % info.blockSize !== 0) {
    throw new RangeError(
      `row length ${rowLength} is not a multiple of ${info.name}'s block size ${info.blockSize}`,
    );
  }
  let elements = 1;
  for (const d of dims) elements *= d;
  return (elements / info.blockSize) * info.typeSize;
}
