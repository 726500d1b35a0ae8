/**
 * Quantisation of f32 values to ggml tensor data, following ggml's reference `quantize_row_*_ref`.
 *
 * Every C `float` operation is emulated with `Math.fround` at the same point, so for finite inputs the
 * bytes equal those of ggml's reference (built without FMA contraction, as ggml-base is). The reference
 * quantisers are what llama.cpp uses without an importance matrix.
 *
 * @example
 * ```ts
 * const bytes = quantize(GgmlType.Q4_0, values); // values.length / 32 blocks of 18 bytes
 * const back = dequantize(GgmlType.Q4_0, bytes, values.length);
 * ```
 */
import { GgmlType, ggmlTypeInfo } from "./ggml_type.ts";
import { f32ArrayToF16Bits, f32ToBf16Bits, f32ToF16Bits } from "./f16.ts";
import { QuantError } from "./errors.ts";
import { quantizeQ4K, quantizeQ5K, quantizeQ6K } from "./quantize_k.ts";

const fround = Math.fround;

/** The largest finite f32 (C's FLT_MAX). */
export const FLT_MAX = 3.4028234663852886e38;

/**
 * Quantises `values` (whole blocks of `type`) to ggml's on-disk bytes for `type`.
 *
 * Supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K.
 */
export function quantize(type: GgmlType, values: Float32Array): Uint8Array {
  const info = ggmlTypeInfo(type);
  if (info === undefined) throw new QuantError("unsupported_type", `cannot quantise to ggml type ${type}`);
  const n = values.length;
  if (n % info.blockSize !== 0) {
    throw new QuantError(
      "bad_length",
      `${info.name}: ${n} values is not a whole number of ${info.blockSize}-blocks`,
    );
  }
  const out = new Uint8Array((n / info.blockSize) * info.typeSize);
  const nb = n / info.blockSize;
  switch (type) {
    case GgmlType.F32:
      out.set(new Uint8Array(values.buffer, values.byteOffset, n * 4));
      break;
    case GgmlType.F16:
      f32ArrayToF16Bits(values, new Uint16Array(out.buffer));
      break;
    case GgmlType.BF16: {
      const h = new Uint16Array(out.buffer);
      for (let i = 0; i < n; i++) h[i] = f32ToBf16Bits(values[i]);
      break;
    }
    case GgmlType.Q8_0:
      quantizeQ8_0(values, out, nb);
      break;
    case GgmlType.Q4_0:
      quantizeQx0(values, out, nb, 4);
      break;
    case GgmlType.Q5_0:
      quantizeQx0(values, out, nb, 5);
      break;
    case GgmlType.Q4_1:
      quantizeQx1(values, out, nb, 4);
      break;
    case GgmlType.Q5_1:
      quantizeQx1(values, out, nb, 5);
      break;
    case GgmlType.Q4_K:
      quantizeQ4K(values, out, nb);
      break;
    case GgmlType.Q5_K:
      quantizeQ5K(values, out, nb);
      break;
    case GgmlType.Q6_K:
      quantizeQ6K(values, out, nb);
      break;
    default:
      throw new QuantError("unsupported_type", `cannot quantise to ggml type ${info.name}`);
  }
  return out;
}

/** Writes the f16 bits of `x` at `o`, little-endian. */
export function putF16(out: Uint8Array, o: number, x: number): void {
  const h = f32ToF16Bits(x);
  out[o] = h & 0xff;
  out[o + 1] = h >> 8;
}

/** C's `(int8_t)` conversion of a float: truncation toward zero, wrapped to 8 bits (NaN/inf: 0). */
function truncI8(v: number): number {
  return ((v | 0) << 24) >> 24;
}

/** C's roundf: half away from zero. */
function roundAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

function quantizeQ8_0(x: Float32Array, out: Uint8Array, nb: number): void {
  for (let i = 0, p = 0, o = 0; i < nb; i++, p += 32, o += 34) {
    let amax = 0;
    for (let j = 0; j < 32; j++) {
      const a = Math.abs(x[p + j]);
      amax = amax > a ? amax : a; // MAX(amax, fabsf(v))
    }
    const d = fround(amax / 127);
    const id = d ? fround(1 / d) : 0;
    putF16(out, o, d);
    for (let j = 0; j < 32; j++) out[o + 2 + j] = roundAway(fround(x[p + j] * id)) & 0xff;
  }
}

/** Q4_0 (bits 4) and Q5_0 (bits 5): symmetric, d = max / −2^(bits−1) where max has the largest magnitude. */
function quantizeQx0(x: Float32Array, out: Uint8Array, nb: number, bits: 4 | 5): void {
  const half = 1 << (bits - 1); // 8 or 16
  const bias = half + 0.5; // C adds 8.5f / 16.5f in one float addition
  const top = (1 << bits) - 1; // 15 or 31
  const size = bits === 4 ? 18 : 22;
  const qsAt = bits === 4 ? 2 : 6;
  for (let i = 0, p = 0, o = 0; i < nb; i++, p += 32, o += size) {
    let amax = 0, max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[p + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fround(max / -half);
    const id = d ? fround(1 / d) : 0;
    putF16(out, o, d);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const x0 = fround(x[p + j] * id);
      const x1 = fround(x[p + 16 + j] * id);
      const xi0 = Math.min(top, truncI8(fround(x0 + bias))) & 0xff;
      const xi1 = Math.min(top, truncI8(fround(x1 + bias))) & 0xff;
      out[o + qsAt + j] = packNibbles(bits, xi0, xi1);
      qh |= ((xi0 & 0x10) >> 4) << j;
      qh |= ((xi1 & 0x10) >> 4) << (j + 16);
    }
    if (bits === 5) putU32(out, o + 2, qh);
  }
}

/** Q4_1 and Q5_1: asymmetric, d = (max − min) / (2^bits − 1), m = min. */
function quantizeQx1(x: Float32Array, out: Uint8Array, nb: number, bits: 4 | 5): void {
  const top = (1 << bits) - 1;
  const size = bits === 4 ? 20 : 24;
  const qsAt = bits === 4 ? 4 : 8;
  for (let i = 0, p = 0, o = 0; i < nb; i++, p += 32, o += size) {
    let min = FLT_MAX, max = -FLT_MAX;
    for (let j = 0; j < 32; j++) {
      const v = x[p + j];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = fround(fround(max - min) / top);
    const id = d ? fround(1 / d) : 0;
    putF16(out, o, d);
    putF16(out, o + 2, min);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const x0 = fround(fround(x[p + j] - min) * id);
      const x1 = fround(fround(x[p + 16 + j] - min) * id);
      // Q4_1 clamps to 15 after an int8 conversion; Q5_1 converts straight to uint8
      const xi0 = bits === 4
        ? Math.min(15, truncI8(fround(x0 + 0.5))) & 0xff
        : truncI8(fround(x0 + 0.5)) & 0xff;
      const xi1 = bits === 4
        ? Math.min(15, truncI8(fround(x1 + 0.5))) & 0xff
        : truncI8(fround(x1 + 0.5)) & 0xff;
      out[o + qsAt + j] = packNibbles(bits, xi0, xi1);
      qh |= ((xi0 & 0x10) >> 4) << j;
      qh |= ((xi1 & 0x10) >> 4) << (j + 16);
    }
    if (bits === 5) putU32(out, o + 4, qh);
  }
}

/** The quant byte of two levels: Q4 stores `xi0 | xi1 << 4` unmasked (as C does), Q5 masks the nibbles. */
function packNibbles(bits: 4 | 5, xi0: number, xi1: number): number {
  return bits === 4 ? (xi0 | (xi1 << 4)) & 0xff : (xi0 & 0x0f) | ((xi1 & 0x0f) << 4);
}

function putU32(out: Uint8Array, o: number, v: number): void {
  out[o] = v & 0xff;
  out[o + 1] = (v >>> 8) & 0xff;
  out[o + 2] = (v >>> 16) & 0xff;
  out[o + 3] = (v >>> 24) & 0xff;
}
