/**
 * The ops of a layer's attention block that place tokens by (slot, position): rope, storing K/V into
 * the cache, and attention over it (one pass, or split over a long context by split_attention.ts).
 * They are apart from the other ops because they stage per-token host arrays in the data arena —
 * slots then positions, and the rope cos/sin table, which {@link RopeTableCache} stages once per
 * recording for q and k of every layer.
 *
 * @example
 * ```ts
 * recordRope(ctx, ropeTables, q, n, nHeads, at.pos, rope);
 * recordKvStore(ctx, cache, layer, k, v, n, at);
 * recordAttention(ctx, split, out, q, cache, layer, n, at, shape);
 * ```
 */
import type { AttentionShape, KvCache, RopeParams, Tensor, TokenPlacement } from "../backend.ts";
import { checkLength, checkPlacements, sameRopeTable } from "./argument_checks.ts";
import type { GpuKvCache } from "./gpu_resources.ts";
import { KERNELS, MAX_HEAD_DIM, WORKGROUP_SIZE } from "./kernel_specs.ts";
import { asTensor, type OpContext, recordKernel } from "./op_context.ts";
import type { Recorder } from "./recorder.ts";
import { ropeTable } from "./rope_table.ts";
import { attentionSplits, type SplitAttention } from "./split_attention.ts";
import { WebGpuError } from "./webgpu_error.ts";

/** The rope table last staged by one backend, reused while its recording lasts. */
export class RopeTableCache {
  private memo?: { epoch: number; pos: Int32Array; params: RopeParams; offset: number };

  /**
   * The data-arena offset of the [n, ropeDim/2, 2] table for `pos`[0, n) and `params`: the one staged
   * earlier in this recording when it matches, else a fresh one. Call after `rec.reserve` / `rec.begin`.
   */
  stage(rec: Recorder, pos: Int32Array, n: number, params: RopeParams): number {
    // q and k of every layer rotate by the same table: compute and stage it once per recording
    const memo = this.memo;
    if (
      memo !== undefined && memo.epoch === rec.epoch && sameRopeTable(memo.pos, memo.params, pos, n, params)
    ) {
      return memo.offset;
    }
    const offset = rec.pushData(ropeTable(pos, n, params));
    this.memo = { epoch: rec.epoch, pos: pos.slice(0, n), params, offset };
    return offset;
  }
}

/** Pushes slots then positions of `n` tokens; returns their data offset. */
function pushPlacement(rec: Recorder, n: number, at: TokenPlacement): number {
  const offset = rec.pushData(at.slot.subarray(0, n));
  rec.pushData(at.pos.subarray(0, n));
  return offset;
}

/** Rotates x [n, nHeads, headDim] in place by positions `pos` (see Backend.rope). */
export function recordRope(
  ctx: OpContext,
  tables: RopeTableCache,
  x: Tensor,
  n: number,
  nHeads: number,
  pos: Int32Array,
  params: RopeParams,
): void {
  const half = params.ropeDim / 2;
  if (!Number.isInteger(half) || half < 0 || params.ropeDim > params.headDim) {
    throw new WebGpuError(
      "bad_input",
      `rope dimension ${params.ropeDim} must be even and ≤ head dim ${params.headDim}`,
    );
  }
  if (pos.length < n) throw new WebGpuError("bad_input", `rope of ${n} tokens got ${pos.length} positions`);
  checkLength(x, n * nHeads * params.headDim, "rope input");
  const threads = n * nHeads * half;
  if (threads === 0) return;
  const tableWords = n * half * 2;
  ctx.rec.reserve(1, tableWords);
  ctx.rec.begin();
  const offset = tables.stage(ctx.rec, pos, n, params);
  recordKernel(
    ctx,
    KERNELS.rope,
    {},
    { n, n_heads: nHeads, head_dim: params.headDim, half, neox: params.neox ? 1 : 0, data_off: offset },
    [ctx.rec.dataArena, asTensor(x).buf],
    ctx.kernels.grid(Math.ceil(threads / WORKGROUP_SIZE)),
  );
}

/** Stores k and v [n, kvDim] of `layer` at each token's (slot, position) of the cache (see Backend.kvStore). */
export function recordKvStore(
  ctx: OpContext,
  cache: KvCache,
  layer: number,
  k: Tensor,
  v: Tensor,
  n: number,
  at: TokenPlacement,
): void {
  const c = cache as GpuKvCache;
  const { kvDim, ctx: positions } = c.spec;
  checkPlacements(c.spec, layer, n, at);
  checkLength(k, n * kvDim, "kvStore k");
  checkLength(v, n * kvDim, "kvStore v");
  if (n === 0) return;
  ctx.rec.reserve(1, 2 * n);
  ctx.rec.begin();
  const dataOff = pushPlacement(ctx.rec, n, at);
  recordKernel(
    ctx,
    KERNELS.kv_store,
    { kvF16: ctx.f16 },
    { n, kv_dim: kvDim, ctx: positions, data_off: dataOff },
    [ctx.rec.dataArena, asTensor(k).buf, asTensor(v).buf, c.k[layer], c.v[layer]],
    ctx.kernels.grid(Math.ceil((n * kvDim) / WORKGROUP_SIZE)),
  );
}

/** out [n, nHeads, headDim] = attention of q over `layer` of the cache (see Backend.attention). */
export function recordAttention(
  ctx: OpContext,
  splitAttention: SplitAttention,
  out: Tensor,
  q: Tensor,
  cache: KvCache,
  layer: number,
  n: number,
  at: TokenPlacement,
  shape: AttentionShape,
): void {
  const c = cache as GpuKvCache;
  const { nHeads, nKvHeads, headDim, scale } = shape;
  if (out === q) throw new WebGpuError("bad_input", "attention output must not alias q");
  if (nKvHeads < 1 || nHeads % nKvHeads !== 0 || nKvHeads * headDim !== c.spec.kvDim) {
    throw new WebGpuError(
      "bad_input",
      `attention heads ${nHeads}/${nKvHeads}×${headDim} do not fit kvDim ${c.spec.kvDim}`,
    );
  }
  if (headDim > MAX_HEAD_DIM) {
    throw new WebGpuError("unsupported", `head dim ${headDim} exceeds ${MAX_HEAD_DIM}`);
  }
  checkPlacements(c.spec, layer, n, at);
  checkLength(q, n * nHeads * headDim, "attention q");
  checkLength(out, n * nHeads * headDim, "attention output");
  if (n === 0) return;
  const split = attentionSplits(at.pos, n); // long-context decode: flash-decoding slices
  ctx.rec.reserve(split ? 2 : 1, 2 * n);
  ctx.rec.begin();
  const data = ctx.rec.dataArena;
  const values = {
    n,
    n_heads: nHeads,
    group: nHeads / nKvHeads,
    head_dim: headDim,
    kv_dim: c.spec.kvDim,
    ctx: c.spec.ctx,
    scale,
    data_off: pushPlacement(ctx.rec, n, at),
  };
  const [qb, ob, k, v] = [asTensor(q).buf, asTensor(out).buf, c.k[layer], c.v[layer]];
  if (!split) {
    return recordKernel(ctx, KERNELS.attention, { kvF16: ctx.f16 }, values, [data, qb, ob, k, v], [
      ctx.kernels.dim(nHeads),
      ctx.kernels.dim(n),
    ]);
  }
  ctx.live();
  splitAttention.record(ctx.kernels, { kvF16: ctx.f16 }, values, split, { data, q: qb, out: ob, k, v });
}
