/**
 * Host-side checks of op arguments, done before anything is recorded: a bad length, slot or position
 * becomes a typed error with the offending value instead of an out-of-bounds GPU access (which WebGPU
 * would silently clamp). Messages match the reference backend's where it has one.
 *
 * @example
 * ```ts
 * checkLength(x, n * dim, "rmsNorm input"); // WebGpuError("bad_input") when x is too short
 * ```
 */
import type { KvCacheSpec, RopeParams, Tensor, TokenPlacement, Weight } from "../backend.ts";
import type { GpuWeight } from "./gpu_resources.ts";
import { WebGpuError } from "./webgpu_error.ts";

/** Throws unless `t` holds at least `need` values. */
export function checkLength(t: Tensor, need: number, what: string): void {
  if (!Number.isSafeInteger(need) || need < 0 || need > t.length) {
    throw new WebGpuError("bad_input", `${what} needs ${need} values, the tensor holds ${t.length}`);
  }
}

/** Throws RangeError when a token's slot or position, or the layer, lies outside the cache. */
export function checkPlacements(spec: KvCacheSpec, layer: number, n: number, at: TokenPlacement): void {
  if (at.slot.length < n || at.pos.length < n) {
    throw new WebGpuError(
      "bad_input",
      `placement of ${n} tokens has ${at.slot.length} slots, ${at.pos.length} positions`,
    );
  }
  if (!Number.isInteger(layer) || layer < 0 || layer >= spec.layers) {
    throw new RangeError(`layer ${layer} outside KV cache of ${spec.layers}`);
  }
  for (let i = 0; i < n; i++) {
    if (!(at.slot[i] >= 0 && at.slot[i] < spec.slots)) {
      throw new RangeError(`slot ${at.slot[i]} outside KV cache of ${spec.slots}`);
    }
    if (!(at.pos[i] >= 0 && at.pos[i] < spec.ctx)) {
      throw new RangeError(`position ${at.pos[i]} outside context of ${spec.ctx}`);
    }
  }
}

/** True when a staged rope table for (`memoPos`, `memoParams`) also serves (`pos`[0, n), `params`). */
export function sameRopeTable(
  memoPos: Int32Array,
  memoParams: RopeParams,
  pos: Int32Array,
  n: number,
  params: RopeParams,
): boolean {
  if (
    memoPos.length !== n || memoParams.ropeDim !== params.ropeDim ||
    memoParams.freqBase !== params.freqBase ||
    memoParams.freqFactors !== params.freqFactors
  ) {
    return false;
  }
  for (let i = 0; i < n; i++) if (memoPos[i] !== pos[i]) return false;
  return true;
}

/** 32-value groups per row of `w` (the last zero-padded); rows must be whole vec4s. */
export function weightGroups(w: GpuWeight): number {
  if (w.cols % 4 !== 0) {
    throw new WebGpuError("unsupported", `${w.name}: rows of ${w.cols} values are not a multiple of 4`);
  }
  return Math.ceil(w.cols / 32);
}

/** `w` as a vector weight (norm weight, bias); throws when it has several rows. */
export function vectorWeight(w: Weight, op: string): GpuWeight {
  const g = w as GpuWeight;
  if (g.rows !== 1) {
    throw new WebGpuError("bad_input", `${op} needs a vector weight, ${g.name} has ${g.rows} rows`);
  }
  return g;
}
