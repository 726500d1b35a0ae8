/**
 * Reference quantisation of the K-quant types (Q4_K, Q5_K, Q6_K), following ggml's `quantize_row_q*_K_ref`.
 *
 * Mechanism: each 256-value super-block is split into sub-blocks (32 values for Q4_K/Q5_K, 16 for Q6_K).
 * For each sub-block a least-squares search picks a scale (and, for Q4_K/Q5_K, a min) over a small grid of
 * candidate inverse scales, weighting errors by |x| plus the sub-block's RMS. The sub-block scales are then
 * quantised to 6 bits (8 bits signed for Q6_K) against one f16 super-scale, and the values re-quantised
 * with the scales as stored. Every float operation is rounded to f32 where C rounds it.
 *
 * @example
 * ```ts
 * const out = new Uint8Array(144);
 * quantizeQ4K(values256, out, 1);
 * ```
 */
import { F16_TO_F32, f32ToF16Bits } from "./f16.ts";
import { minK4, scaleK4 } from "./dequantize.ts";

const fround = Math.fround;
const QK_K = 256;
/** ggml's GROUP_MAX_EPS: groups with |x| below this are all zero. */
const GROUP_MAX_EPS = fround(1e-15);
const F_0_1 = fround(0.1);

const nearestScratch = new Float32Array(1);
const nearestBits = new Int32Array(nearestScratch.buffer);

/** ggml's nearest_int: round half to even through the 1.5·2^23 trick, bit for bit (also outside its range). */
export function nearestInt(f: number): number {
  nearestScratch[0] = f + 12582912;
  return (nearestBits[0] & 0x007fffff) - 0x00400000;
}

/** f16-round `x` and store it at `o`; returns the stored value as f32. */
function putF16(out: Uint8Array, o: number, x: number): number {
  const h = f32ToF16Bits(x);
  out[o] = h & 0xff;
  out[o + 1] = h >> 8;
  return F16_TO_F32[h];
}

/**
 * make_qkx2_quants: levels L[0..n) in 0..nmax and a (scale, min) with x ≈ scale·L − min, chosen by a grid
 * search over `nstep + 1` inverse scales. Returns the scale; the min (≥ 0) goes to `minOut[0]`.
 */
function makeQkx2Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  w: Float32Array,
  L: Uint8Array,
  lo: number,
  minOut: Float32Array,
  laux: Uint8Array,
  rmin: number,
  rdelta: number,
  nstep: number,
): number {
  let min = x[xo], max = x[xo];
  let sumW = w[0];
  let sumX = fround(sumW * x[xo]);
  for (let i = 1; i < n; i++) {
    const v = x[xo + i];
    if (v < min) min = v;
    if (v > max) max = v;
    sumW = fround(sumW + w[i]);
    sumX = fround(sumX + fround(w[i] * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    for (let i = 0; i < n; i++) L[lo + i] = 0;
    minOut[0] = -min;
    return 0;
  }
  let iscale = fround(nmax / fround(max - min));
  let scale = fround(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const l = Math.max(0, Math.min(nmax, nearestInt(fround(iscale * fround(x[xo + i] - min)))));
    L[lo + i] = l;
    const diff = fround(fround(fround(scale * l) + min) - x[xo + i]);
    bestError = fround(bestError + fround(w[i] * fround(diff * diff)));
  }
  for (let is = 0; is <= nstep; is++) {
    // `min` moves to the best fit found so far, and the candidate grid moves with it
    iscale = fround(fround(fround(rmin + fround(rdelta * is)) + nmax) / fround(max - min));
    let sumL = 0, sumL2 = 0, sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = Math.max(0, Math.min(nmax, nearestInt(fround(iscale * fround(x[xo + i] - min)))));
      laux[i] = l;
      const wl = fround(w[i] * l);
      sumL = fround(sumL + wl);
      sumL2 = fround(sumL2 + fround(wl * l));
      sumXL = fround(sumXL + fround(wl * x[xo + i]));
    }
    const D = fround(fround(sumW * sumL2) - fround(sumL * sumL));
    if (D > 0) {
      let thisScale = fround(fround(fround(sumW * sumXL) - fround(sumX * sumL)) / D);
      let thisMin = fround(fround(fround(sumL2 * sumX) - fround(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fround(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        const diff = fround(fround(fround(thisScale * laux[i]) + thisMin) - x[xo + i]);
        curError = fround(curError + fround(w[i] * fround(diff * diff)));
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[lo + i] = laux[i];
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  minOut[0] = -min;
  return scale;
}

/** Scratch of `quantizeScaleMinK`, reused across super-blocks (the codec is synchronous, so never shared). */
const kScratch = {
  weights: new Float32Array(32),
  laux: new Uint8Array(32),
  mins: new Float32Array(8),
  scales: new Float32Array(8),
  minOut: new Float32Array(1),
};

/** Shared body of Q4_K (nmax 15) and Q5_K (nmax 31): scales, mins, levels L[256] per super-block. */
function quantizeScaleMinK(
  x: Float32Array,
  p: number,
  out: Uint8Array,
  o: number,
  L: Uint8Array,
  nmax: number,
  rmin: number,
  nstep: number,
): void {
  const { weights, laux, mins, scales, minOut } = kScratch;
  let maxScale = 0, maxMin = 0;
  for (let j = 0; j < 8; j++) {
    const xo = p + 32 * j;
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) sumX2 = fround(sumX2 + fround(x[xo + l] * x[xo + l]));
    const avX = fround(Math.sqrt(fround(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = avX + Math.abs(x[xo + l]);
    scales[j] = makeQkx2Quants(32, nmax, x, xo, weights, L, 32 * j, minOut, laux, rmin, F_0_1, nstep);
    mins[j] = minOut[0];
    if (scales[j] > maxScale) maxScale = scales[j];
    if (mins[j] > maxMin) maxMin = mins[j];
  }
  const invScale = maxScale > 0 ? fround(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? fround(63 / maxMin) : 0;
  const s = o + 4; // 12 packed scale bytes follow d and dmin
  for (let k = 0; k < 12; k++) out[s + k] = 0;
  for (let j = 0; j < 8; j++) {
    const ls = Math.min(63, nearestInt(fround(invScale * scales[j])) & 0xff);
    const lm = Math.min(63, nearestInt(fround(invMin * mins[j])) & 0xff);
    if (j < 4) {
      out[s + j] = ls;
      out[s + j + 4] = lm;
    } else {
      out[s + j + 4] = (ls & 0x0f) | ((lm & 0x0f) << 4);
      out[s + j - 4] |= (ls >> 4) << 6;
      out[s + j] |= (lm >> 4) << 6;
    }
  }
  const d = putF16(out, o, fround(maxScale / 63));
  const dmin = putF16(out, o + 2, fround(maxMin / 63));
  for (let j = 0; j < 8; j++) {
    const dj = fround(d * scaleK4(out, s, j));
    if (!dj) continue;
    const dm = fround(dmin * minK4(out, s, j));
    for (let ii = 0; ii < 32; ii++) {
      L[32 * j + ii] = Math.max(0, Math.min(nmax, nearestInt(fround(fround(x[p + 32 * j + ii] + dm) / dj))));
    }
  }
}

/** Q4_K reference quantisation of `nb` super-blocks of `x` into `out` (144 bytes each). */
export function quantizeQ4K(x: Float32Array, out: Uint8Array, nb: number): void {
  const L = new Uint8Array(QK_K);
  for (let i = 0, p = 0, o = 0; i < nb; i++, p += QK_K, o += 144) {
    quantizeScaleMinK(x, p, out, o, L, 15, -1, 20);
    let q = o + 16;
    for (let j = 0; j < QK_K; j += 64, q += 32) {
      for (let l = 0; l < 32; l++) out[q + l] = L[j + l] | (L[j + l + 32] << 4);
    }
  }
}

/** Q5_K reference quantisation of `nb` super-blocks of `x` into `out` (176 bytes each). */
export function quantizeQ5K(x: Float32Array, out: Uint8Array, nb: number): void {
  const L = new Uint8Array(QK_K);
  for (let i = 0, p = 0, o = 0; i < nb; i++, p += QK_K, o += 176) {
    quantizeScaleMinK(x, p, out, o, L, 31, -0.5, 15);
    const qh = o + 16;
    let ql = o + 48;
    for (let k = 0; k < 32; k++) out[qh + k] = 0;
    let m1 = 1, m2 = 2;
    for (let n = 0; n < QK_K; n += 64, m1 <<= 2, m2 <<= 2, ql += 32) {
      for (let j = 0; j < 32; j++) {
        let l1 = L[n + j];
        if (l1 > 15) {
          l1 -= 16;
          out[qh + j] |= m1;
        }
        let l2 = L[n + j + 32];
        if (l2 > 15) {
          l2 -= 16;
          out[qh + j] |= m2;
        }
        out[ql + j] = l1 | (l2 << 4);
      }
    }
  }
}

/**
 * make_qx_quants with rmse_type 1 and no importance weights: symmetric levels L in 0..2·nmax−1 (stored
 * with +nmax) and the scale that minimises the x²-weighted error over 19 candidate inverse scales.
 */
function makeQxQuants(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  L: Uint8Array,
  lo: number,
): number {
  let max = 0, amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xo + i]);
    if (ax > amax) {
      amax = ax;
      max = x[xo + i];
    }
  }
  if (amax < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[lo + i] = 0;
    return 0;
  }
  let iscale = fround(-nmax / max);
  let sumlx = 0, suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xo + i];
    const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(fround(iscale * v))));
    L[lo + i] = l + nmax;
    const w = fround(v * v);
    sumlx = fround(sumlx + fround(fround(w * v) * l));
    suml2 = fround(suml2 + fround(fround(w * l) * l));
  }
  let scale = suml2 ? fround(sumlx / suml2) : 0;
  let best = fround(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fround(-fround(nmax + fround(F_0_1 * is)) / max);
    sumlx = suml2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xo + i];
      const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(fround(iscale * v))));
      const w = fround(v * v);
      sumlx = fround(sumlx + fround(fround(w * v) * l));
      suml2 = fround(suml2 + fround(fround(w * l) * l));
    }
    if (suml2 > 0 && fround(sumlx * sumlx) > fround(best * suml2)) {
      for (let i = 0; i < n; i++) {
        L[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, nearestInt(fround(iscale * x[xo + i]))));
      }
      scale = fround(sumlx / suml2);
      best = fround(scale * sumlx);
    }
  }
  return scale;
}

/** Q6_K reference quantisation of `nb` super-blocks of `x` into `out` (210 bytes each). */
export function quantizeQ6K(x: Float32Array, out: Uint8Array, nb: number): void {
  const L = new Uint8Array(QK_K);
  const scales = new Float32Array(16);
  for (let i = 0, p = 0, o = 0; i < nb; i++, p += QK_K, o += 210) {
    let maxScale = 0, maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuants(16, 32, x, p + 16 * ib, L, 16 * ib);
      scales[ib] = scale;
      if (Math.abs(scale) > maxAbsScale) {
        maxAbsScale = Math.abs(scale);
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      out.fill(0, o, o + 210);
      continue;
    }
    const iscale = fround(-128 / maxScale);
    const d = putF16(out, o + 208, fround(1 / iscale));
    const sc = o + 192;
    for (let ib = 0; ib < 16; ib++) {
      out[sc + ib] = Math.min(127, nearestInt(fround(iscale * scales[ib]))) & 0xff;
    }
    for (let j = 0; j < 16; j++) {
      const dj = fround(d * ((out[sc + j] << 24) >> 24));
      if (!dj) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = Math.max(-32, Math.min(31, nearestInt(fround(x[p + 16 * j + ii] / dj))));
        L[16 * j + ii] = l + 32;
      }
    }
    let ql = o, qh = o + 128;
    for (let j = 0; j < QK_K; j += 128, ql += 64, qh += 32) {
      for (let l = 0; l < 32; l++) {
        const q1 = L[j + l] & 0x0f, q2 = L[j + l + 32] & 0x0f;
        const q3 = L[j + l + 64] & 0x0f, q4 = L[j + l + 96] & 0x0f;
        out[ql + l] = q1 | (q3 << 4);
        out[ql + l + 32] = q2 | (q4 << 4);
        out[qh + l] = (L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
          ((L[j + l + 96] >> 4) << 6);
      }
    }
  }
}
