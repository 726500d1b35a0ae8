/**
 * IEEE half (f16) and bfloat16 (bf16) conversions, bit-exact with ggml.
 *
 * f16 → f32 is a 65,536-entry table of f32 bit patterns (256 KB, built once): quantised blocks read one
 * f16 scale per block, and the table turns that into one load. f32 → f16 rounds to nearest, ties to even,
 * like ggml's GGML_FP32_TO_FP16: through `Float16Array` when the runtime has it (V8 ≥ 13.5 does), else in
 * software. f32 → bf16 is ggml_compute_fp32_to_bf16: round to nearest even on the bit pattern, NaN kept quiet.
 *
 * @example
 * ```ts
 * f16BitsToF32(0x3c00); // 1
 * f32ToF16Bits(65520); // 0x7c00 (rounds up to infinity)
 * f32ToBf16Bits(1.00390625); // 0x3f80 (tie, rounds to even)
 * ```
 */

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** True when the runtime has `Float16Array` (used for fast, exact f32 → f16 rounding). */
export const HAS_FLOAT16_ARRAY: boolean = typeof Float16Array === "function";

/** f32 bit pattern of an f16 bit pattern (exact: every f16 is an f32; NaN payloads are kept). */
function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // subnormal: value = mant * 2^-24; normalise into an f32 mantissa
  let e = 113;
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/** f16 bits → f32 bits, for every f16 pattern. Shares its buffer with `F16_TO_F32`. */
export const F16_TO_F32_BITS: Uint32Array = (() => {
  const table = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) table[h] = f16BitsToF32Bits(h);
  return table;
})();

/** f16 bits → f32 value, for every f16 pattern. */
export const F16_TO_F32: Float32Array = new Float32Array(F16_TO_F32_BITS.buffer);

/** The f32 value of an f16 bit pattern. */
export function f16BitsToF32(h: number): number {
  return F16_TO_F32[h & 0xffff];
}

/** The f16 NaN ggml writes for any f32 NaN (its portable GGML_FP32_TO_FP16 drops sign and payload). */
export const F16_NAN = 0x7e00;

/** f32 → f16 bits in software, round to nearest even; overflow → ±inf, NaN → `F16_NAN`. */
export function f32ToF16BitsSoft(x: number): number {
  scratchF32[0] = x;
  const u = scratchU32[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) return mant !== 0 ? F16_NAN : sign | 0x7c00;
  const e = exp - 112; // rebias 127 → 15
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // f16 subnormal (or zero): value / 2^-24 = (mant | implicit 1) >> (14 - e), rounded to nearest even
    if (e < -10) return sign; // below 2^-25: rounds to zero (2^-25 itself ties to even zero)
    const full = mant | 0x800000;
    const shift = 14 - e;
    const q = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    const up = rem > halfway || (rem === halfway && (q & 1) === 1) ? 1 : 0;
    return sign | (q + up); // q + up may carry into the smallest normal, which is the right bit pattern
  }
  const h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  const up = rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1) ? 1 : 0;
  return sign | (h + up); // a carry out of the mantissa bumps the exponent; out of e = 30 it gives inf
}

const scratchF16: Float16Array | undefined = HAS_FLOAT16_ARRAY ? new Float16Array(1) : undefined;
const scratchF16Bits = scratchF16 ? new Uint16Array(scratchF16.buffer) : undefined;

/** f32 → f16 bits, round to nearest even (ggml's GGML_FP32_TO_FP16). `x` is first rounded to f32. */
export function f32ToF16Bits(x: number): number {
  if (scratchF16 === undefined || x !== x) return f32ToF16BitsSoft(x);
  // Float16Array rounds the double directly; rounding to f32 first keeps ggml's two-step semantics
  scratchF16[0] = Math.fround(x);
  return scratchF16Bits![0];
}

/** Rounds `x` to the nearest f16 value and returns it as a number. */
export function roundToF16(x: number): number {
  return F16_TO_F32[f32ToF16Bits(x)];
}

/** The f32 value of a bf16 bit pattern (the top half of an f32). */
export function bf16BitsToF32(h: number): number {
  scratchU32[0] = (h & 0xffff) << 16;
  return scratchF32[0];
}

/** f32 → bf16 bits like ggml_compute_fp32_to_bf16: round to nearest even, NaN stays a quiet NaN. */
export function f32ToBf16Bits(x: number): number {
  scratchF32[0] = x;
  const u = scratchU32[0];
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Converts f32 values to f16 bit patterns in bulk. */
export function f32ArrayToF16Bits(
  values: Float32Array,
  out: Uint16Array = new Uint16Array(values.length),
): Uint16Array {
  if (HAS_FLOAT16_ARRAY) {
    // one native conversion (each f32 rounded to nearest even f16, like the scalar path), then NaNs made canonical
    out.set(new Uint16Array(new Float16Array(values).buffer));
    for (let i = 0; i < out.length; i++) if ((out[i] & 0x7fff) > 0x7c00) out[i] = F16_NAN;
    return out;
  }
  for (let i = 0; i < values.length; i++) out[i] = f32ToF16Bits(values[i]);
  return out;
}
