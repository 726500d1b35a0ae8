/**
 * The WGSL sources of every kernel, reached through static text imports so that `deno compile`
 * embeds them in the binary (no run-time reads of source files).
 *
 * `KERNEL_SOURCES` holds the op kernels (one file per op, entry point named after it), each followed
 * by the snippets it is built with (`SNIPPET_SOURCES`: shared functions with no entry point of their
 * own; WGSL has no include, and module-scope declarations may come in any order, so appending keeps
 * the kernel's header first); `WEIGHT_DECODERS` the per-type `load_group` decoders the weight-reading
 * kernels are built with, each preceded by `UNPACK_SOURCE`, the helpers they share.
 *
 * @example
 * ```ts
 * import { KERNEL_SOURCES } from "./kernels/mod.ts";
 * KERNEL_SOURCES.rms_norm.includes("fn rms_norm("); // true
 * ```
 */
import add from "./add.wgsl" with { type: "text" };
import addBias from "./add_bias.wgsl" with { type: "text" };
import attention from "./attention.wgsl" with { type: "text" };
import attentionChunk from "./attention_chunk.wgsl" with { type: "text" };
import attentionCombine from "./attention_combine.wgsl" with { type: "text" };
import attentionSplit from "./attention_split.wgsl" with { type: "text" };
import copy from "./copy.wgsl" with { type: "text" };
import embed from "./embed.wgsl" with { type: "text" };
import gateUpSilu from "./gate_up_silu.wgsl" with { type: "text" };
import gatherRows from "./gather_rows.wgsl" with { type: "text" };
import kvStore from "./kv_store.wgsl" with { type: "text" };
import matmul from "./matmul.wgsl" with { type: "text" };
import matvec from "./matvec.wgsl" with { type: "text" };
import matvecRows from "./matvec_rows.wgsl" with { type: "text" };
import penalize from "./penalize.wgsl" with { type: "text" };
import rmsNorm from "./rms_norm.wgsl" with { type: "text" };
import rope from "./rope.wgsl" with { type: "text" };
import sample from "./sample.wgsl" with { type: "text" };
import siluMul from "./silu_mul.wgsl" with { type: "text" };
import softmax from "./softmax.wgsl" with { type: "text" };
import workgroupReduce from "./workgroup_reduce.wgsl" with { type: "text" };
import unpack from "./weights/unpack.wgsl" with { type: "text" };
import bf16 from "./weights/bf16.wgsl" with { type: "text" };
import f16 from "./weights/f16.wgsl" with { type: "text" };
import f32 from "./weights/f32.wgsl" with { type: "text" };
import q4_0 from "./weights/q4_0.wgsl" with { type: "text" };
import q4_1 from "./weights/q4_1.wgsl" with { type: "text" };
import q4_k from "./weights/q4_k.wgsl" with { type: "text" };
import q5_0 from "./weights/q5_0.wgsl" with { type: "text" };
import q5_1 from "./weights/q5_1.wgsl" with { type: "text" };
import q5_k from "./weights/q5_k.wgsl" with { type: "text" };
import q6_k from "./weights/q6_k.wgsl" with { type: "text" };
import q8_0 from "./weights/q8_0.wgsl" with { type: "text" };

/** Shared kernel parts without an entry point, by file name (without `.wgsl`). */
export const SNIPPET_SOURCES = {
  attention_chunk: attentionChunk,
  matvec_rows: matvecRows,
  workgroup_reduce: workgroupReduce,
} as const;

/** A kernel file followed by the snippets it calls into. */
function withSnippets(kernel: string, ...snippets: readonly string[]): string {
  return [kernel, ...snippets].join("\n");
}

/** Op kernels by entry-point name (= file name without `.wgsl`), with their snippets appended. */
export const KERNEL_SOURCES = {
  add,
  add_bias: addBias,
  attention: withSnippets(attention, attentionChunk, workgroupReduce),
  attention_combine: attentionCombine,
  attention_split: withSnippets(attentionSplit, attentionChunk, workgroupReduce),
  copy,
  embed,
  gate_up_silu: withSnippets(gateUpSilu, matvecRows),
  gather_rows: gatherRows,
  kv_store: kvStore,
  matmul,
  matvec: withSnippets(matvec, matvecRows),
  penalize,
  rms_norm: withSnippets(rmsNorm, workgroupReduce),
  rope,
  sample: withSnippets(sample, workgroupReduce),
  silu_mul: siluMul,
  softmax: withSnippets(softmax, workgroupReduce),
} as const;

/** Name of an op kernel. */
export type KernelName = keyof typeof KERNEL_SOURCES;

/** Helpers every weight decoder uses (nibble, bit and int8 unpacking). */
export const UNPACK_SOURCE: string = unpack;

/** Weight decoders (`fn load_group`) by storage format name (= file name in kernels/weights/). */
export const WEIGHT_DECODERS = { bf16, f16, f32, q4_0, q4_1, q4_k, q5_0, q5_1, q5_k, q6_k, q8_0 } as const;

/** Name of a weight storage format. */
export type WeightFormatName = keyof typeof WEIGHT_DECODERS;
