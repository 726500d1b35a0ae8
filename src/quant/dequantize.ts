/**
 * Dequantisation of ggml tensor data to f32, bit-exact with ggml's `dequantize_row_*`.
 *
 * Exactness: C evaluates each `float` operation rounded to f32. A product of a small integer (≤ 8 bits) and
 * an f32 is exact in a double, so the store into the Float32Array performs ggml's one rounding; where C
 * rounds an intermediate (`x*d + m`, `d*sc`), `Math.fround` rounds it here at the same point. Sums of two
 * f32s done in double and then rounded to f32 equal the f32 sum (double has more than 2×24+2 bits).
 *
 * Block layouts (little-endian, `d`/`m` are f16 unless noted), QK = 32 values, QK_K = 256:
 * - Q4_0 (18 B): d, qs[16]; value j = (low nibble of qs[j] − 8)·d, value j+16 = (high nibble − 8)·d
 * - Q4_1 (20 B): d, m, qs[16]; q·d + m
 * - Q5_0 (22 B): d, qh u32, qs[16]; bit j of qh is the 5th bit of value j (bit j+16: of value j+16); (q − 16)·d
 * - Q5_1 (24 B): d, m, qh u32, qs[16]; q·d + m
 * - Q8_0 (34 B): d, qs int8[32]; q·d
 * - Q4_K (144 B): d, dmin, scales[12] (8 six-bit scale/min pairs), qs[128]; per 64 values: 32 low nibbles
 *   with pair 2i, 32 high nibbles with pair 2i+1; value = d·sc·q − dmin·m
 * - Q5_K (176 B): as Q4_K plus qh[32] after the scales: bit 2i / 2i+1 of qh[l] adds 16 to q
 * - Q6_K (210 B): ql[128], qh[64], scales int8[16], d; per 128 values four groups of 32 from nibbles of
 *   ql and 2-bit pieces of qh, q − 32, scaled by d·sc (one scale per 16 values)
 *
 * Assumes a little-endian host (every platform Deno runs on).
 *
 * @example
 * ```ts
 * const values = dequantize(GgmlType.Q4_0, bytes, 4096); // Float32Array(4096)
 * ```
 */
import { GgmlType, ggmlTypeInfo, QK_K } from "./ggml_type.ts";
import { F16_TO_F32, F16_TO_F32_BITS } from "./f16.ts";
import { QuantError } from "./errors.ts";

const fround = Math.fround;

/**
 * Dequantises `count` values of `type` from `bytes` into `out` (allocated when absent) and returns it.
 * `count` must be whole blocks; `bytes` must hold at least those blocks; `out` at least `count` values.
 */
export function dequantize(
  type: GgmlType,
  bytes: Uint8Array,
  count: number,
  out?: Float32Array,
): Float32Array {
  const info = ggmlTypeInfo(type);
  if (info === undefined) throw new QuantError("unsupported_type", `cannot dequantise ggml type ${type}`);
  if (!Number.isSafeInteger(count) || count < 0 || count % info.blockSize !== 0) {
    throw new QuantError(
      "bad_length",
      `${info.name}: ${count} values is not a whole number of ${info.blockSize}-blocks`,
    );
  }
  const need = (count / info.blockSize) * info.typeSize;
  if (bytes.length < need) {
    throw new QuantError(
      "bad_length",
      `${info.name}: ${count} values need ${need} bytes, got ${bytes.length}`,
    );
  }
  const y = out ?? new Float32Array(count);
  if (y.length < count) {
    throw new QuantError("bad_length", `${info.name}: output holds ${y.length} values, ${count} needed`);
  }
  const nb = count / info.blockSize;
  switch (type) {
    case GgmlType.F32:
      new Uint8Array(y.buffer, y.byteOffset, count * 4).set(bytes.subarray(0, count * 4));
      break;
    case GgmlType.F16:
      dequantF16(halfWords(bytes, count), y, count);
      break;
    case GgmlType.BF16:
      dequantBf16(halfWords(bytes, count), y, count);
      break;
    case GgmlType.Q4_0:
      dequantQ4_0(bytes, y, nb);
      break;
    case GgmlType.Q4_1:
      dequantQ4_1(bytes, y, nb);
      break;
    case GgmlType.Q5_0:
      dequantQ5_0(bytes, y, nb);
      break;
    case GgmlType.Q5_1:
      dequantQ5_1(bytes, y, nb);
      break;
    case GgmlType.Q8_0:
      dequantQ8_0(bytes, y, nb);
      break;
    case GgmlType.Q4_K:
      dequantQ4K(bytes, y, nb);
      break;
    case GgmlType.Q5_K:
      dequantQ5K(bytes, y, nb);
      break;
    case GgmlType.Q6_K:
      dequantQ6K(bytes, y, nb);
      break;
    default:
      throw new QuantError("unsupported_type", `cannot dequantise ggml type ${info.name}`);
  }
  return y;
}

/** The first `count` u16 words of `bytes`, copied only when `bytes` is not 2-byte aligned. */
function halfWords(bytes: Uint8Array, count: number): Uint16Array {
  if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, count);
  return new Uint16Array(bytes.slice(0, count * 2).buffer);
}

function dequantF16(h: Uint16Array, y: Float32Array, count: number): void {
  // bit copies keep NaN payloads exactly, as ggml's conversion does
  const y32 = new Uint32Array(y.buffer, y.byteOffset, count);
  for (let i = 0; i < count; i++) y32[i] = F16_TO_F32_BITS[h[i]];
}

function dequantBf16(h: Uint16Array, y: Float32Array, count: number): void {
  const y32 = new Uint32Array(y.buffer, y.byteOffset, count);
  for (let i = 0; i < count; i++) y32[i] = h[i] << 16;
}

function f16At(b: Uint8Array, o: number): number {
  return F16_TO_F32[b[o] | (b[o + 1] << 8)];
}

function dequantQ4_0(b: Uint8Array, y: Float32Array, nb: number): void {
  for (let i = 0, o = 0, p = 0; i < nb; i++, o += 18, p += 32) {
    const d = f16At(b, o);
    for (let j = 0; j < 16; j++) {
      const q = b[o + 2 + j];
      y[p + j] = ((q & 0x0f) - 8) * d;
      y[p + j + 16] = ((q >> 4) - 8) * d;
    }
  }
}

function dequantQ4_1(b: Uint8Array, y: Float32Array, nb: number): void {
  for (let i = 0, o = 0, p = 0; i < nb; i++, o += 20, p += 32) {
    const d = f16At(b, o);
    const m = f16At(b, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = b[o + 4 + j];
      y[p + j] = fround((q & 0x0f) * d) + m;
      y[p + j + 16] = fround((q >> 4) * d) + m;
    }
  }
}

function qhAt(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

function dequantQ5_0(b: Uint8Array, y: Float32Array, nb: number): void {
  for (let i = 0, o = 0, p = 0; i < nb; i++, o += 22, p += 32) {
    const d = f16At(b, o);
    const qh = qhAt(b, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = b[o + 6 + j];
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      y[p + j] = (((q & 0x0f) | h0) - 16) * d;
      y[p + j + 16] = (((q >> 4) | h1) - 16) * d;
    }
  }
}

function dequantQ5_1(b: Uint8Array, y: Float32Array, nb: number): void {
  for (let i = 0, o = 0, p = 0; i < nb; i++, o += 24, p += 32) {
    const d = f16At(b, o);
    const m = f16At(b, o + 2);
    const qh = qhAt(b, o + 4);
    for (let j = 0; j < 16; j++) {
      const q = b[o + 8 + j];
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      y[p + j] = fround(((q & 0x0f) | h0) * d) + m;
      y[p + j + 16] = fround(((q >> 4) | h1) * d) + m;
    }
  }
}

function dequantQ8_0(b: Uint8Array, y: Float32Array, nb: number): void {
  for (let i = 0, o = 0, p = 0; i < nb; i++, o += 34, p += 32) {
    const d = f16At(b, o);
    for (let j = 0; j < 32; j++) y[p + j] = ((b[o + 2 + j] << 24) >> 24) * d;
  }
}

/** 6-bit scale of sub-block `j` (0..7) from the 12 packed scale bytes at `s` (ggml's get_scale_min_k4). */
export function scaleK4(b: Uint8Array, s: number, j: number): number {
  return j < 4 ? b[s + j] & 63 : (b[s + j + 4] & 0x0f) | ((b[s + j - 4] >> 6) << 4);
}

/** 6-bit min of sub-block `j` (0..7) from the 12 packed scale bytes at `s`. */
export function minK4(b: Uint8Array, s: number, j: number): number {
  return j < 4 ? b[s + j + 4] & 63 : (b[s + j + 4] >> 4) | ((b[s + j] >> 6) << 4);
}

function dequantQ4K(b: Uint8Array, y: Float32Array, nb: number): void {
  for (let i = 0, o = 0, p = 0; i < nb; i++, o += 144) {
    const d = f16At(b, o);
    const dmin = f16At(b, o + 2);
    const s = o + 4;
    let q = o + 16;
    for (let j = 0; j < QK_K; j += 64, q += 32) {
      const is = j / 32;
      const d1 = fround(d * scaleK4(b, s, is)), m1 = fround(dmin * minK4(b, s, is));
      const d2 = fround(d * scaleK4(b, s, is + 1)), m2 = fround(dmin * minK4(b, s, is + 1));
      for (let l = 0; l < 32; l++) y[p++] = fround(d1 * (b[q + l] & 0x0f)) - m1;
      for (let l = 0; l < 32; l++) y[p++] = fround(d2 * (b[q + l] >> 4)) - m2;
    }
  }
}

function dequantQ5K(b: Uint8Array, y: Float32Array, nb: number): void {
  for (let i = 0, o = 0, p = 0; i < nb; i++, o += 176) {
    const d = f16At(b, o);
    const dmin = f16At(b, o + 2);
    const s = o + 4;
    const qh = o + 16;
    let ql = o + 48;
    let u1 = 1, u2 = 2;
    for (let j = 0; j < QK_K; j += 64, ql += 32, u1 <<= 2, u2 <<= 2) {
      const is = j / 32;
      const d1 = fround(d * scaleK4(b, s, is)), m1 = fround(dmin * minK4(b, s, is));
      const d2 = fround(d * scaleK4(b, s, is + 1)), m2 = fround(dmin * minK4(b, s, is + 1));
      for (let l = 0; l < 32; l++) {
        y[p++] = fround(d1 * ((b[ql + l] & 0x0f) + (b[qh + l] & u1 ? 16 : 0))) - m1;
      }
      for (let l = 0; l < 32; l++) y[p++] = fround(d2 * ((b[ql + l] >> 4) + (b[qh + l] & u2 ? 16 : 0))) - m2;
    }
  }
}

function dequantQ6K(b: Uint8Array, y: Float32Array, nb: number): void {
  const sc = new Float32Array(16); // d·scale per 16 values, rounded to f32 as C does
  for (let i = 0, o = 0, p = 0; i < nb; i++, o += 210) {
    const d = f16At(b, o + 208);
    for (let k = 0; k < 16; k++) sc[k] = d * ((b[o + 192 + k] << 24) >> 24);
    let ql = o, qh = o + 128, s = 0;
    for (let n = 0; n < QK_K; n += 128, ql += 64, qh += 32, s += 8, p += 128) {
      for (let l = 0; l < 32; l++) {
        const is = s + (l >> 4);
        const h = b[qh + l];
        const a = b[ql + l], c = b[ql + l + 32];
        y[p + l] = sc[is] * (((a & 0x0f) | ((h & 3) << 4)) - 32);
        y[p + l + 32] = sc[is + 2] * (((c & 0x0f) | (((h >> 2) & 3) << 4)) - 32);
        y[p + l + 64] = sc[is + 4] * (((a >> 4) | (((h >> 4) & 3) << 4)) - 32);
        y[p + l + 96] = sc[is + 6] * (((c >> 4) | (((h >> 6) & 3) << 4)) - 32);
      }
    }
  }
}
