/**
 * What every wasm op shares: the backend's memory, thread pool and job descriptor, its scratch regions
 * for host arrays, the relaxed-SIMD choice and its liveness check, handed over explicitly so that the op
 * families live in their own files (weight_ops.ts, activation_ops.ts, attention_ops.ts,
 * bandwidth_probe.ts) while the backend class (wasm_backend.ts) keeps its state private and owns only
 * memory and lifetime. Beside the context: the tensor handle, the ownership and argument checks every
 * op starts with, and {@link runJob}, the one way an op reaches the kernels.
 *
 * Every op runs the same way: host-side checks, host arrays into a scratch region, one descriptor
 * (job.ts) run on all threads when the op is big enough to pay for the synchronisation (the
 * PARALLEL_MIN_* thresholds), else on the calling thread; then the written tensor's version is bumped.
 *
 * @example
 * ```ts
 * const t = asTensor(ctx, x);
 * checkFits(t, 4, "add operand");
 * runJob(ctx, [Op.Add, t.ptr, t.ptr, t.ptr, 4], false); // x += x, on this thread
 * t.version++;
 * ```
 */
import type { Tensor, TokenPlacement, Weight } from "../backend.ts";
import { WasmBackendError } from "./errors.ts";
import { type F32Word, writeDesc } from "./job.ts";
import type { LinearMemory, Scratch } from "./linear_memory.ts";
import type { ThreadPool } from "./thread_pool.ts";
import { WasmWeight } from "./weight_writer.ts";

/** Multiply-adds below which a matmul runs on the calling thread alone (dispatch costs ~1–2 µs). */
export const PARALLEL_MIN_MACS = 1 << 16;
/** Elements below which elementwise ops, norms and RoPE run on the calling thread alone. */
export const PARALLEL_MIN_ELEMENTS = 1 << 15;

/** The backend state an op runs with. */
export interface OpContext {
  /** the backend whose tensors, weights and caches the ops accept */
  readonly owner: object;
  readonly mem: LinearMemory;
  readonly pool: ThreadPool;
  /** byte offset of the job descriptor, u32 [DESC_WORDS] */
  readonly desc: number;
  /** matmuls use the relaxed-SIMD loops */
  readonly relaxed: boolean;
  /** i32 host arrays staged for one op: token ids, slots then positions, greedy picks */
  readonly indices: Scratch;
  /** attention scores, f32 [threads][nHeads][ctx] */
  readonly scores: Scratch;
  /** throws WasmBackendError "disposed" once the backend is disposed */
  readonly live: () => void;
}

/** A tensor in the wasm backend's memory: f32 [length] at byte offset `ptr`. */
export class WasmTensor implements Tensor {
  /** bumped by every op and write that changes the contents (keys the activation-quantisation cache) */
  version = 0;
  constructor(readonly owner: object, readonly ptr: number, readonly length: number) {}
}

/** Runs a job, on all threads when `parallel`, else on the calling thread. */
export function runJob(ctx: OpContext, words: readonly (number | F32Word)[], parallel: boolean): void {
  ctx.live();
  writeDesc(ctx.mem, ctx.desc, words);
  ctx.pool.run(ctx.desc, parallel ? ctx.pool.threads : 1);
}

/** `t` as the WasmTensor it is, after checking that the backend is live and allocated it. */
export function asTensor(ctx: OpContext, t: Tensor): WasmTensor {
  ctx.live();
  if (!(t instanceof WasmTensor) || t.owner !== ctx.owner) {
    throw new WasmBackendError("bad_argument", "tensor was not allocated by this wasm backend");
  }
  return t;
}

/** `w` as the WasmWeight it is, after checking that it was uploaded to this backend. */
export function asWeight(ctx: OpContext, w: Weight): WasmWeight {
  if (!(w instanceof WasmWeight) || w.owner !== ctx.owner) {
    throw new WasmBackendError("bad_argument", `weight ${w.name} was not uploaded to this wasm backend`);
  }
  return w;
}

/** Throws unless `n` is a non-negative integer. */
export function checkCount(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new WasmBackendError("bad_argument", `${what} must be a non-negative integer, got ${n}`);
  }
}

/** Throws unless `t` holds at least `need` values. */
export function checkFits(t: WasmTensor, need: number, what: string): void {
  if (need > t.length) {
    throw new WasmBackendError("bad_argument", `${what}: needs ${need} values, tensor holds ${t.length}`);
  }
}

/** Throws unless `at` places at least `n` tokens. */
export function checkPlacements(at: TokenPlacement, n: number): void {
  if (at.slot.length < n || at.pos.length < n) {
    throw new WasmBackendError(
      "bad_argument",
      `placement of ${at.slot.length} slots / ${at.pos.length} positions for ${n} tokens`,
    );
  }
}
