/**
 * How each GGUF weight type is stored on the GPU: the sections (typed arrays bound to the kernels) a
 * weight is repacked into at upload, and the repacking itself.
 *
 * GGUF blocks interleave scales and quants at 2-byte alignment (Q4_0: 18 bytes) and order nibbles for
 * SIMD on the CPU (value j in the low nibble of byte j, value j + 16 in the high one). WGSL reads u32
 * words, so each type is split into u32-aligned sections — quants in value order (value 8w + k in
 * nibble k of word w), scales apart — that the decoder of kernels/weights/<format>.wgsl reads. The bytes
 * stay the same in number: repacking moves bits, it never widens them (f16 scales are packed in pairs).
 *
 * Rows are read in 32-value groups: block types are whole groups by construction (K-quant rows are
 * whole 256-value super-blocks); float rows of other lengths (stories260K's ffn_down has 172 columns)
 * are padded with zeros to the next group at upload.
 *
 * @example
 * ```ts
 * const format = weightFormatOf(GgmlType.Q4_0);
 * const [qs, d] = format.repack(rawBytes, rows, cols); // qs: rows·cols/2 bytes, d: rows·cols/16 bytes
 * ```
 */
import type { WeightFormatName } from "../../../kernels/mod.ts";
import { GgmlType } from "../../quant/ggml_type.ts";

/** Values per group: the unit every decoder returns (`load_group`). */
export const GROUP_SIZE = 32;
/** Values per K-quant super-block. */
const SUPER_BLOCK = 256;

/** One typed array of a stored weight, bound as `w_<name>: array<element>`. */
export interface WeightSection {
  readonly name: string;
  /** WGSL element type of the binding */
  readonly element: string;
  /** bytes per row of `cols` values (may be fractional per row; a chunk rounds its total up) */
  bytesPerRow(cols: number): number;
}

/** A storage format: its sections and the repacking from GGUF blocks. */
export interface WeightFormat {
  readonly name: WeightFormatName;
  readonly sections: readonly WeightSection[];
  /** Repacks `rows` GGUF rows of `cols` values (raw block bytes) into one byte array per section. */
  repack(raw: Uint8Array, rows: number, cols: number): Uint8Array[];
}

const section = (name: string, element: string, bytesPerGroup: number): WeightSection => ({
  name,
  element,
  bytesPerRow: (cols) => Math.ceil(cols / GROUP_SIZE) * bytesPerGroup,
});

/** Float types: one section, the GGUF bytes as they are, rows zero-padded to whole groups. */
function plainFormat(name: "f32" | "f16" | "bf16", element: string, bytesPerValue: number): WeightFormat {
  return {
    name,
    sections: [section(name, element, GROUP_SIZE * bytesPerValue)],
    repack(raw, rows, cols) {
      const rowBytes = cols * bytesPerValue;
      const paddedBytes = Math.ceil(cols / GROUP_SIZE) * GROUP_SIZE * bytesPerValue;
      if (paddedBytes === rowBytes) return [raw.slice(0, rows * rowBytes)];
      const out = new Uint8Array(rows * paddedBytes);
      for (let r = 0; r < rows; r++) out.set(raw.subarray(r * rowBytes, (r + 1) * rowBytes), r * paddedBytes);
      return [out];
    },
  };
}

/**
 * Writes the 16 bytes of 32 value-ordered nibbles for a Q4_0-style block (value j low nibble of
 * src[j], value j + 16 high nibble of src[j]): byte m holds values 2m (low) and 2m + 1 (high).
 */
function packSplitNibbles(src: Uint8Array, s: number, dst: Uint8Array, d: number): void {
  for (let m = 0; m < 8; m++) {
    dst[d + m] = (src[s + 2 * m] & 0x0f) | ((src[s + 2 * m + 1] & 0x0f) << 4);
    dst[d + 8 + m] = (src[s + 2 * m] >> 4) | (src[s + 2 * m + 1] & 0xf0);
  }
}

/** 16 bytes of value-ordered nibbles from the low (shift 0) or high (shift 4) nibbles of 32 bytes. */
function packNibbleHalf(src: Uint8Array, s: number, shift: 0 | 4, dst: Uint8Array, d: number): void {
  for (let m = 0; m < 16; m++) {
    dst[d + m] = ((src[s + 2 * m] >> shift) & 0x0f) | (((src[s + 2 * m + 1] >> shift) & 0x0f) << 4);
  }
}

/** Copies `count` bytes. */
function copyBytes(src: Uint8Array, s: number, dst: Uint8Array, d: number, count: number): void {
  for (let i = 0; i < count; i++) dst[d + i] = src[s + i];
}

/**
 * The 32-value block types: quant bytes at `qsAt` (Q4_0 layout), an optional 4-byte high-bit word at
 * `qhAt`, and a 2-byte (`scaleBytes` 2) or 4-byte (d, m) scale at the block start.
 */
function blockFormat(
  name: "q4_0" | "q4_1" | "q5_0" | "q5_1",
  blockBytes: number,
  scaleBytes: 2 | 4,
  qhAt: number | undefined,
): WeightFormat {
  const qsAt = blockBytes - 16;
  const sections = [section("qs", "vec4<u32>", 16)];
  if (qhAt !== undefined) sections.push(section("qh", "u32", 4));
  sections.push(scaleBytes === 2 ? section("d", "u32", 2) : section("dm", "u32", 4));
  return {
    name,
    sections,
    repack(raw, rows, cols) {
      const blocks = (rows * cols) / GROUP_SIZE;
      const qs = new Uint8Array(blocks * 16);
      const qh = new Uint8Array(qhAt === undefined ? 0 : blocks * 4);
      const scales = new Uint8Array(blocks * scaleBytes);
      for (let b = 0, o = 0; b < blocks; b++, o += blockBytes) {
        copyBytes(raw, o, scales, b * scaleBytes, scaleBytes);
        if (qhAt !== undefined) copyBytes(raw, o + qhAt, qh, b * 4, 4);
        packSplitNibbles(raw, o + qsAt, qs, b * 16);
      }
      return qhAt === undefined ? [qs, scales] : [qs, qh, scales];
    },
  };
}

const Q8_0: WeightFormat = {
  name: "q8_0",
  sections: [section("qs", "vec4<u32>", 32), section("d", "u32", 2)],
  repack(raw, rows, cols) {
    const blocks = (rows * cols) / GROUP_SIZE;
    const qs = new Uint8Array(blocks * 32);
    const d = new Uint8Array(blocks * 2);
    for (let b = 0, o = 0; b < blocks; b++, o += 34) {
      copyBytes(raw, o, d, b * 2, 2);
      copyBytes(raw, o + 2, qs, b * 32, 32);
    }
    return [qs, d];
  },
};

/** Q4_K and Q5_K: 16 bytes of d, dmin and packed scales, then (Q5_K) 32 bytes of high bits, 128 of nibbles. */
function kFormat(name: "q4_k" | "q5_k"): WeightFormat {
  const withHigh = name === "q5_k";
  const blockBytes = withHigh ? 176 : 144;
  const qsAt = withHigh ? 48 : 16;
  const sections = [section("qs", "vec4<u32>", 16)];
  if (withHigh) sections.push(section("qh", "u32", 4));
  sections.push(section("sc", "vec4<u32>", 2)); // 16 bytes per 8 groups
  return {
    name,
    sections,
    repack(raw, rows, cols) {
      const supers = (rows * cols) / SUPER_BLOCK;
      const qs = new Uint8Array(supers * 128);
      const qh = new Uint32Array(withHigh ? supers * 8 : 0);
      const sc = new Uint8Array(supers * 16);
      for (let s = 0, o = 0; s < supers; s++, o += blockBytes) {
        copyBytes(raw, o, sc, s * 16, 16);
        for (let c = 0; c < 4; c++) {
          // 64 values: low nibbles of 32 bytes (group 2c), then their high nibbles (group 2c + 1)
          packNibbleHalf(raw, o + qsAt + 32 * c, 0, qs, s * 128 + 32 * c);
          packNibbleHalf(raw, o + qsAt + 32 * c, 4, qs, s * 128 + 32 * c + 16);
          if (withHigh) {
            // bit 2c of qh[l] is value l's fifth bit in group 2c, bit 2c + 1 in group 2c + 1
            let lo = 0, hi = 0;
            for (let l = 0; l < 32; l++) {
              const h = raw[o + 16 + l];
              lo |= ((h >> (2 * c)) & 1) << l;
              hi |= ((h >> (2 * c + 1)) & 1) << l;
            }
            qh[s * 8 + 2 * c] = lo >>> 0;
            qh[s * 8 + 2 * c + 1] = hi >>> 0;
          }
        }
      }
      return withHigh ? [qs, new Uint8Array(qh.buffer), sc] : [qs, sc];
    },
  };
}

const Q6_K: WeightFormat = {
  name: "q6_k",
  sections: [
    section("ql", "vec4<u32>", 16),
    section("qh", "vec2<u32>", 8),
    section("sc", "vec4<u32>", 2), // 16 int8 scales per 8 groups
    section("d", "u32", 2 / 8), // one f16 per 8 groups
  ],
  repack(raw, rows, cols) {
    const supers = (rows * cols) / SUPER_BLOCK;
    const ql = new Uint8Array(supers * 128);
    const qh = new Uint32Array(supers * 16);
    const sc = new Uint8Array(supers * 16);
    const d = new Uint8Array(supers * 2);
    const q = new Uint8Array(SUPER_BLOCK); // 6-bit values of one super-block, value order
    for (let s = 0, o = 0; s < supers; s++, o += 210) {
      for (let n = 0; n < 2; n++) {
        for (let l = 0; l < 32; l++) {
          const a = raw[o + 64 * n + l], b = raw[o + 64 * n + l + 32], h = raw[o + 128 + 32 * n + l];
          q[128 * n + l] = (a & 0x0f) | ((h & 3) << 4);
          q[128 * n + l + 32] = (b & 0x0f) | (((h >> 2) & 3) << 4);
          q[128 * n + l + 64] = (a >> 4) | (((h >> 4) & 3) << 4);
          q[128 * n + l + 96] = (b >> 4) | (((h >> 6) & 3) << 4);
        }
      }
      for (let m = 0; m < 128; m++) ql[s * 128 + m] = (q[2 * m] & 0x0f) | ((q[2 * m + 1] & 0x0f) << 4);
      for (let w = 0; w < 16; w++) {
        let word = 0;
        for (let k = 0; k < 16; k++) word |= (q[16 * w + k] >> 4) << (2 * k);
        qh[s * 16 + w] = word >>> 0;
      }
      copyBytes(raw, o + 192, sc, s * 16, 16);
      copyBytes(raw, o + 208, d, s * 2, 2);
    }
    return [ql, new Uint8Array(qh.buffer), sc, d];
  },
};

const FORMATS: ReadonlyMap<GgmlType, WeightFormat> = new Map([
  [GgmlType.F32, plainFormat("f32", "vec4<f32>", 4)],
  [GgmlType.F16, plainFormat("f16", "vec4<u32>", 2)],
  [GgmlType.BF16, plainFormat("bf16", "vec4<u32>", 2)],
  [GgmlType.Q8_0, Q8_0],
  [GgmlType.Q4_0, blockFormat("q4_0", 18, 2, undefined)],
  [GgmlType.Q4_1, blockFormat("q4_1", 20, 4, undefined)],
  [GgmlType.Q5_0, blockFormat("q5_0", 22, 2, 2)],
  [GgmlType.Q5_1, blockFormat("q5_1", 24, 4, 4)],
  [GgmlType.Q4_K, kFormat("q4_k")],
  [GgmlType.Q5_K, kFormat("q5_k")],
  [GgmlType.Q6_K, Q6_K],
]);

/** The storage format of a GGUF type, or undefined when the WebGPU backend has no decoder for it. */
export function weightFormatOf(type: GgmlType): WeightFormat | undefined {
  return FORMATS.get(type);
}

/** The f32 format, used for vectors (norm weights, biases) whatever their GGUF type. */
export const F32_FORMAT: WeightFormat = FORMATS.get(GgmlType.F32)!;
