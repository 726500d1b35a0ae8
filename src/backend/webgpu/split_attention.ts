/**
 * Attention split over the context (flash-decoding) for decode steps with a long context.
 *
 * The one-pass attention kernel runs one workgroup per (head, token), so a decode step keeps only
 * `nHeads` workgroups busy however long the context: a GPU with a hundred cores idles while each
 * workgroup walks thousands of positions. Past {@link SPLIT_ATTENTION_MIN_CONTEXT} positions, a decode
 * step instead cuts each token's positions into slices, one workgroup per (head, token, slice)
 * (kernels/attention_split.wgsl writes each slice's max, sum and unnormalised output), and a small
 * combine kernel (kernels/attention_combine.wgsl) merges the slices by their maxima.
 *
 * The slices' partial results live in one scratch buffer per backend, grown on demand; every layer
 * reuses it (dispatches of one pass are ordered, so a layer's combine reads before the next layer's
 * slices write).
 *
 * @example
 * ```ts
 * attentionSplits(Int32Array.of(1000), 1); // { splits: 16, span: 64 }
 * attentionSplits(Int32Array.of(40), 1); // undefined: short context, one pass
 * ```
 */
import type { Dispatcher } from "./dispatcher.ts";
import type { GpuLimits } from "./gpu_device.ts";
import { createStorage } from "./gpu_resources.ts";
import { KERNELS, WORKGROUP_SIZE } from "./kernel_specs.ts";
import type { ParamValues } from "./param_layout.ts";
import type { KernelVariant } from "./pipeline_cache.ts";
import type { IdBuffer } from "./recorder.ts";

/** Context length (positions, the longest token's pos + 1) from which decode attention is split. */
export const SPLIT_ATTENTION_MIN_CONTEXT = 256;
/** Most tokens of a batch that still use the split kernel: decode and batched decode, not prefill (whose tokens already fill the GPU). */
export const SPLIT_ATTENTION_MAX_TOKENS = 8;
/** Most slices per (head, token): bounds the scratch buffer and the combine kernel's loop. */
export const MAX_ATTENTION_SPLITS = 32;
/** Positions per slice are a multiple of the workgroup: each slice walks whole chunks. */
const SPAN_STEP = WORKGROUP_SIZE;

/** How a batch's attention is split: `splits` slices of `span` positions each. */
export interface AttentionSplit {
  readonly splits: number;
  readonly span: number;
}

/**
 * The split of a batch whose tokens sit at `pos[0, n)`, or undefined for the one-pass kernel (a
 * prefill-sized batch, or a context under {@link SPLIT_ATTENTION_MIN_CONTEXT}).
 */
export function attentionSplits(pos: Int32Array, n: number): AttentionSplit | undefined {
  if (n < 1 || n > SPLIT_ATTENTION_MAX_TOKENS) return undefined;
  let context = 0;
  for (let i = 0; i < n; i++) context = Math.max(context, pos[i] + 1);
  if (context < SPLIT_ATTENTION_MIN_CONTEXT) return undefined;
  const wanted = Math.min(MAX_ATTENTION_SPLITS, Math.ceil(context / SPAN_STEP));
  const span = Math.ceil(context / wanted / SPAN_STEP) * SPAN_STEP;
  return { splits: Math.ceil(context / span), span };
}

type AttentionValues = ParamValues<typeof KERNELS.attention.params.fields>;

/** The split-attention kernels of one backend and their scratch buffer. */
export class SplitAttention {
  private scratch?: IdBuffer;
  /** outgrown scratch buffers: recorded work may still bind them, so they go at dispose */
  private readonly retired: IdBuffer[] = [];

  constructor(private readonly device: GPUDevice, private readonly limits: GpuLimits) {}

  /**
   * Records slices and combine for attention with the one-pass kernel's parameters `values` (the
   * placements already in the data arena), variant (KV type) and buffers. Call after the recorder's
   * `reserve(2, …)` and `begin()`.
   */
  record(
    kernels: Dispatcher,
    variant: KernelVariant,
    values: AttentionValues,
    split: AttentionSplit,
    bufs: { data: IdBuffer; q: IdBuffer; out: IdBuffer; k: IdBuffer; v: IdBuffer },
  ): void {
    const { n, n_heads, head_dim } = values;
    const part = this.partials(n * n_heads * split.splits * (head_dim + 2) * 4);
    const grid = [kernels.dim(n_heads), kernels.dim(n)];
    kernels.dispatch(
      KERNELS.attention_split,
      variant,
      { ...values, splits: split.splits, span: split.span },
      [bufs.data, bufs.q, part, bufs.k, bufs.v],
      [...grid, kernels.dim(split.splits)],
    );
    kernels.dispatch(KERNELS.attention_combine, {}, { n, n_heads, head_dim, splits: split.splits }, [
      part,
      bufs.out,
    ], grid);
  }

  /** Frees the scratch buffer. */
  dispose(): void {
    for (const b of [...this.retired, ...(this.scratch ? [this.scratch] : [])]) b.buffer.destroy();
    this.retired.length = 0;
    this.scratch = undefined;
  }

  private partials(bytes: number): IdBuffer {
    if (!this.scratch || this.scratch.buffer.size < bytes) {
      if (this.scratch) this.retired.push(this.scratch);
      this.scratch = createStorage(this.device, this.limits, bytes, "split attention partials");
    }
    return this.scratch;
  }
}
