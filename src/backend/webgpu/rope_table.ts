/**
 * The cos/sin table the rope kernel reads, computed on the host in f64.
 *
 * θ = pos · base^(−2i / ropeDim) / factor_i reaches thousands of radians at long positions; in f32 the
 * product alone is off by ~pos · 2⁻²⁴ rad, and GPU cos/sin are only accurate near [−π, π]. Evaluating
 * the table here in double precision makes the GPU rotation match the reference to f32 rounding, at a
 * host cost of n · ropeDim/2 cos/sin pairs per forward call (shared by every layer's q and k).
 *
 * @example
 * ```ts
 * const table = ropeTable(Int32Array.of(0, 1), 2, { headDim: 4, ropeDim: 4, freqBase: 10000, neox: false });
 * // [cos 0, sin 0, cos 0, sin 0, cos 1, sin 1, cos 0.01, sin 0.01]
 * ```
 */
import type { RopeParams } from "../backend.ts";

/** [n, ropeDim/2, 2] f32: (cos θ, sin θ) for token i's position and pair index. */
export function ropeTable(pos: Int32Array, n: number, params: RopeParams): Float32Array {
  const half = params.ropeDim / 2;
  const inv = new Float64Array(half);
  for (let pair = 0; pair < half; pair++) {
    const factor = params.freqFactors ? params.freqFactors[pair] : 1;
    inv[pair] = Math.pow(params.freqBase, (-2 * pair) / params.ropeDim) / factor;
  }
  const table = new Float32Array(n * half * 2);
  for (let i = 0; i < n; i++) {
    for (let pair = 0; pair < half; pair++) {
      const theta = pos[i] * inv[pair];
      table[(i * half + pair) * 2] = Math.cos(theta);
      table[(i * half + pair) * 2 + 1] = Math.sin(theta);
    }
  }
  return table;
}
