/**
 * The ops of a layer's attention block that place tokens by (slot, position): rope, storing K and V into
 * the cache (wasm_kv_cache.ts), and attention over it. They are apart from the other ops because they
 * stage per-token host arrays in wasm memory — slots then positions, and the rope cos/sin table, which
 * {@link RopeTableCache} computes once for q and k of every layer of a step.
 *
 * @example
 * ```ts
 * runRope(ctx, ropeTables, q, n, nHeads, at.pos, rope);
 * runKvStore(ctx, cache, layer, k, v, n, at);
 * runAttention(ctx, out, q, cache, layer, n, at, shape);
 * ```
 */
import type { AttentionShape, KvCache, RopeParams, Tensor, TokenPlacement } from "../backend.ts";
import { WasmBackendError } from "./errors.ts";
import { F32Word, Op } from "./job.ts";
import { type LinearMemory, Scratch } from "./linear_memory.ts";
import {
  asTensor,
  checkCount,
  checkFits,
  checkPlacements,
  type OpContext,
  PARALLEL_MIN_ELEMENTS,
  runJob,
} from "./op_context.ts";
import { asCache, checkPlacement } from "./wasm_kv_cache.ts";

/** The rope table last computed by one backend, reused while positions and params repeat. */
export class RopeTableCache {
  readonly #table: Scratch;
  #last: { params: RopeParams; pos: Int32Array; ptr: number } | null = null;

  constructor(mem: LinearMemory) {
    this.#table = new Scratch(mem);
  }

  /** Byte offset of the f64 (cos, sin) table [n][ropeDim/2][2] for these positions (reused when repeated). */
  tableFor(mem: LinearMemory, pos: Int32Array, p: RopeParams): number {
    const cached = this.#last;
    if (cached && cached.params === p && sameInts(cached.pos, pos)) return cached.ptr;
    const half = p.ropeDim / 2;
    const ptr = this.#table.get(pos.length * half * 16);
    const f64 = mem.f64;
    for (let i = 0; i < pos.length; i++) {
      for (let pair = 0; pair < half; pair++) {
        // the reference backend's formula, operation for operation
        const factor = p.freqFactors ? p.freqFactors[pair] : 1;
        const theta = pos[i] * Math.pow(p.freqBase, (-2 * pair) / p.ropeDim) / factor;
        f64[ptr / 8 + (i * half + pair) * 2] = Math.cos(theta);
        f64[ptr / 8 + (i * half + pair) * 2 + 1] = Math.sin(theta);
      }
    }
    this.#last = { params: p, pos: pos.slice(), ptr };
    return ptr;
  }
}

/** Rotates the first ropeDim of each head of x[t] by pos[t], in place, for t < n (see Backend.rope). */
export function runRope(
  ctx: OpContext,
  tables: RopeTableCache,
  x: Tensor,
  n: number,
  nHeads: number,
  pos: Int32Array,
  p: RopeParams,
): void {
  const xt = asTensor(ctx, x);
  checkCount(n, "rope n");
  checkCount(nHeads, "rope nHeads");
  checkFits(xt, n * nHeads * p.headDim, "rope input");
  if (pos.length < n) {
    throw new WasmBackendError("bad_argument", `rope: ${pos.length} positions for ${n} tokens`);
  }
  if (p.ropeDim % 2 !== 0 || p.ropeDim > p.headDim || p.ropeDim < 0) {
    throw new WasmBackendError(
      "bad_argument",
      `rope: ropeDim ${p.ropeDim} must be even and ≤ headDim ${p.headDim}`,
    );
  }
  if (p.freqFactors && p.freqFactors.length < p.ropeDim / 2) {
    throw new WasmBackendError(
      "bad_argument",
      `rope: ${p.freqFactors.length} freq factors for ${p.ropeDim / 2} pairs`,
    );
  }
  if (n === 0 || p.ropeDim === 0) return;
  const table = tables.tableFor(ctx.mem, pos.subarray(0, n), p);
  runJob(
    ctx,
    [Op.Rope, xt.ptr, n, nHeads, p.headDim, p.ropeDim, p.neox ? 1 : 0, table],
    n * nHeads * p.ropeDim >= PARALLEL_MIN_ELEMENTS,
  );
  xt.version++;
}

/** Copies k[t] and v[t] into the cache at (at.slot[t], layer, at.pos[t]) for t < n (see Backend.kvStore). */
export function runKvStore(
  ctx: OpContext,
  cache: KvCache,
  layer: number,
  k: Tensor,
  v: Tensor,
  n: number,
  at: TokenPlacement,
): void {
  const c = asCache(ctx, cache);
  const kt = asTensor(ctx, k);
  const vt = asTensor(ctx, v);
  const kvDim = c.spec.kvDim;
  checkCount(n, "kvStore n");
  checkFits(kt, n * kvDim, "kvStore k");
  checkFits(vt, n * kvDim, "kvStore v");
  checkPlacements(at, n);
  const f32 = ctx.mem.f32;
  for (let i = 0; i < n; i++) {
    checkPlacement(c.spec, layer, at.slot[i], at.pos[i]);
    const off = c.offset(at.slot[i], layer, at.pos[i]);
    f32.copyWithin(c.k / 4 + off, kt.ptr / 4 + i * kvDim, kt.ptr / 4 + (i + 1) * kvDim);
    f32.copyWithin(c.v / 4 + off, vt.ptr / 4 + i * kvDim, vt.ptr / 4 + (i + 1) * kvDim);
  }
}

/** Causal attention of q[t] over its slot's cache up to at.pos[t], for t < n (see Backend.attention). */
export function runAttention(
  ctx: OpContext,
  out: Tensor,
  q: Tensor,
  cache: KvCache,
  layer: number,
  n: number,
  at: TokenPlacement,
  shape: AttentionShape,
): void {
  const o = asTensor(ctx, out);
  const qt = asTensor(ctx, q);
  const c = asCache(ctx, cache);
  const { nHeads, nKvHeads, headDim, scale } = shape;
  checkCount(n, "attention n");
  if (!(nHeads > 0 && nKvHeads > 0 && nHeads % nKvHeads === 0 && nKvHeads * headDim === c.spec.kvDim)) {
    throw new WasmBackendError(
      "bad_argument",
      `attention: ${nHeads} heads, ${nKvHeads} kv heads of ${headDim} do not fit kvDim ${c.spec.kvDim}`,
    );
  }
  const qDim = nHeads * headDim;
  checkFits(qt, n * qDim, "attention q");
  checkFits(o, n * qDim, "attention output");
  if (o === qt) throw new WasmBackendError("bad_argument", "attention output must not alias q");
  checkPlacements(at, n);
  let work = 0;
  for (let i = 0; i < n; i++) {
    checkPlacement(c.spec, layer, at.slot[i], at.pos[i]);
    work += (at.pos[i] + 1) * qDim;
  }
  if (n === 0) return;
  const idx = ctx.indices.get(n * 8); // i32 slots [n], then positions [n]
  ctx.mem.i32.set(at.slot.subarray(0, n), idx / 4);
  ctx.mem.i32.set(at.pos.subarray(0, n), idx / 4 + n);
  const stride = nHeads * c.spec.ctx * 4; // a thread's scores: f32 [nHeads][ctx]
  const scores = ctx.scores.get(ctx.pool.threads * stride);
  const { layers, ctx: ctxLen, kvDim } = c.spec;
  runJob(
    ctx,
    [
      Op.Attention,
      o.ptr,
      qt.ptr,
      c.k,
      c.v,
      n,
      idx,
      idx + n * 4,
      nHeads,
      nKvHeads,
      headDim,
      new F32Word(scale),
    ]
      .concat([layers, ctxLen, kvDim, layer, scores, stride]),
    n * nHeads >= 2 && work >= PARALLEL_MIN_ELEMENTS,
  );
  o.version++;
}

function sameInts(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
