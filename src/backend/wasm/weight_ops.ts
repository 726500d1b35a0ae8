/**
 * The ops that read a weight matrix: embedding lookup, the matrix product and the fused SwiGLU product.
 * They are apart from the activation ops because a product first prepares its input for the weight's
 * storage type ({@link ActivationCache}): int8 blocks for quantised weights (as llama.cpp does, hence
 * their rounding against the reference), f32 rows with columns paired for F16, nothing for F32; and
 * that preparation is cached, so q, k and v (or gate and up) reading one input prepare it once.
 *
 * @example
 * ```ts
 * const acts = new ActivationCache(mem);
 * runMatmul(ctx, acts, q, wq, x, n); // prepares x for wq's type
 * runMatmul(ctx, acts, k, wk, x, n); // reuses it when wk's type prepares the same way
 * ```
 */
import type { Tensor, Weight } from "../backend.ts";
import { GgmlType } from "../../quant/mod.ts";
import { runSiluMul } from "./activation_ops.ts";
import { WasmBackendError } from "./errors.ts";
import { FLAG_F16_NONFINITE, FLAG_RELAXED, Op } from "./job.ts";
import { type LinearMemory, Scratch } from "./linear_memory.ts";
import {
  asTensor,
  asWeight,
  checkCount,
  checkFits,
  type OpContext,
  PARALLEL_MIN_ELEMENTS,
  PARALLEL_MIN_MACS,
  runJob,
  type WasmTensor,
} from "./op_context.ts";

/** How a matmul input is prepared: "quant" for quantised weights, "pair" for F16 ones. */
type Preparation = "quant" | "pair";

/** A matmul input prepared for one weight storage, kept while the input is unchanged. */
export class ActivationCache {
  readonly #act: Scratch;
  readonly #paired: Scratch;
  /** what #act and #paired currently hold */
  #prepared: Record<Preparation, { t: WasmTensor; version: number; n: number; cols: number } | null> = {
    quant: null,
    pair: null,
  };

  constructor(mem: LinearMemory) {
    this.#act = new Scratch(mem);
    this.#paired = new Scratch(mem);
  }

  /**
   * Byte offset of x's first n rows prepared for a matmul: "quant", int8 blocks for quantised weights (at
   * most 2·n·cols + 64·n bytes, layout in wasm/src/act_quant.rs); "pair", f32 rows with each group of 8
   * columns stored evens first for F16 weights. Reused while x is unchanged: q, k and v (or gate and
   * up) share one input.
   */
  prepare(ctx: OpContext, kind: Preparation, x: WasmTensor, n: number, cols: number): number {
    const ptr = kind === "quant" ? this.#act.get(2 * n * cols + 64 * n) : this.#paired.get(4 * n * cols);
    const hit = this.#prepared[kind];
    if (hit && hit.t === x && hit.version === x.version && hit.n === n && hit.cols === cols) return ptr;
    const parallel = n > 1 && n * cols >= PARALLEL_MIN_ELEMENTS;
    runJob(ctx, [kind === "quant" ? Op.Quant : Op.Pair, x.ptr, n, cols, ptr], parallel);
    this.#prepared[kind] = { t: x, version: x.version, n, cols };
    return ptr;
  }

  /** Forgets what is prepared (dispose: drops the references to tensors). */
  clear(): void {
    this.#prepared = { quant: null, pair: null };
  }
}

/** out[t, :] = row tokens[t] of `table` (see Backend.embed). */
export function runEmbed(ctx: OpContext, out: Tensor, table: Weight, tokens: Int32Array): void {
  const o = asTensor(ctx, out);
  const w = asWeight(ctx, table);
  const n = tokens.length;
  checkFits(o, n * w.cols, "embed output");
  for (const token of tokens) {
    if (!Number.isInteger(token) || token < 0 || token >= w.rows) {
      throw new RangeError(`token id ${token} outside vocabulary of ${w.rows}`);
    }
  }
  if (n === 0) return;
  const idx = ctx.indices.get(n * 4);
  ctx.mem.i32.set(tokens, idx / 4);
  runJob(ctx, [Op.Embed, w.storage, w.ptr, w.cols, idx, n, o.ptr], n * w.cols >= PARALLEL_MIN_ELEMENTS);
  o.version++;
}

/** out[t, :] = w · x[t, :] for t < n (see Backend.matmul). */
export function runMatmul(
  ctx: OpContext,
  acts: ActivationCache,
  out: Tensor,
  w: Weight,
  x: Tensor,
  n: number,
): void {
  const o = asTensor(ctx, out);
  const wt = asWeight(ctx, w);
  const xt = asTensor(ctx, x);
  checkCount(n, "matmul n");
  checkFits(xt, n * wt.cols, "matmul input");
  checkFits(o, n * wt.rows, "matmul output");
  if (o === xt) throw new WasmBackendError("bad_argument", "matmul output must not alias its input");
  if (n === 0) return;
  const parallel = wt.rows * wt.cols * n >= PARALLEL_MIN_MACS;
  const s = wt.storage;
  if (s === GgmlType.F32) {
    const flags = ctx.relaxed ? FLAG_RELAXED : 0;
    runJob(ctx, [Op.Matmul, s, wt.ptr, wt.rows, wt.cols, xt.ptr, n, o.ptr, flags], parallel);
  } else if (s === GgmlType.F16 && wt.flags & FLAG_F16_NONFINITE) {
    runJob(ctx, [Op.Matmul, s, wt.ptr, wt.rows, wt.cols, xt.ptr, n, o.ptr, wt.flags], parallel);
  } else if (s === GgmlType.F16) {
    const paired = acts.prepare(ctx, "pair", xt, n, wt.cols);
    runJob(ctx, [Op.Matmul, s, wt.ptr, wt.rows, wt.cols, paired, n, o.ptr, wt.flags], parallel);
  } else {
    const act = acts.prepare(ctx, "quant", xt, n, wt.cols);
    const flags = wt.flags | (ctx.relaxed && wt.relaxedOk ? FLAG_RELAXED : 0);
    runJob(ctx, [Op.Matmul, s, wt.ptr, wt.rows, wt.cols, act, n, o.ptr, flags], parallel);
  }
  o.version++;
}

/**
 * out = silu(x · gateᵀ) · (x · upᵀ) (see Backend.gateUpSilu). F32 weights take one dispatch (each thread
 * applies silu·mul to the rows it computed); other types run the three unfused ops. Bits equal the
 * unfused ops' either way.
 */
export function runGateUpSilu(
  ctx: OpContext,
  acts: ActivationCache,
  out: Tensor,
  gate: Weight,
  up: Weight,
  x: Tensor,
  n: number,
  scratch: Tensor,
): void {
  const o = asTensor(ctx, out);
  const g = asWeight(ctx, gate);
  const u = asWeight(ctx, up);
  const xt = asTensor(ctx, x);
  const st = asTensor(ctx, scratch);
  if (g.rows !== u.rows || g.cols !== u.cols) {
    throw new WasmBackendError(
      "bad_argument",
      `gateUpSilu: ${g.name} [${g.rows}x${g.cols}] and ${u.name} [${u.rows}x${u.cols}] differ in shape`,
    );
  }
  if (st === o || st === xt) {
    throw new WasmBackendError("bad_argument", "gateUpSilu scratch must not alias out or x");
  }
  if (g.storage !== GgmlType.F32 || u.storage !== GgmlType.F32) {
    runMatmul(ctx, acts, out, gate, x, n);
    runMatmul(ctx, acts, scratch, up, x, n);
    runSiluMul(ctx, out, out, scratch, n * g.rows);
    return;
  }
  checkCount(n, "gateUpSilu n");
  checkFits(xt, n * g.cols, "gateUpSilu input");
  checkFits(o, n * g.rows, "gateUpSilu output");
  checkFits(st, n * g.rows, "gateUpSilu scratch");
  if (o === xt) throw new WasmBackendError("bad_argument", "gateUpSilu output must not alias its input");
  if (n === 0) return;
  const flags = ctx.relaxed ? FLAG_RELAXED : 0;
  runJob(
    ctx,
    [Op.GateUpSilu, g.ptr, u.ptr, g.rows, g.cols, xt.ptr, n, o.ptr, st.ptr, flags],
    2 * g.rows * g.cols * n >= PARALLEL_MIN_MACS,
  );
  o.version++;
  st.version++;
}
