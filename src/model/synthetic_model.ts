/**
 * Synthetic models: real architectures (llama, qwen2) with seeded random weights and a real tokenizer's
 * metadata copied from another GGUF. Tests and benchmarks run on these, since real weights cannot be
 * downloaded here; generation on them is meaningless text but exercises every code path at real sizes.
 *
 * Weights are normal(0, 0.02) like a freshly initialised transformer; norm weights are 1.
 */
import type { GgufKv } from "../gguf/types.ts";
import { GgufValueType } from "../gguf/types.ts";
import { type GgufFile, writeGgufFile } from "../gguf/mod.ts";
import { GgmlType } from "../quant/ggml_type.ts";
import { quantize } from "../quant/mod.ts";
import type { Architecture } from "./model_config.ts";

/** Shape and storage of a synthetic model. */
export interface SyntheticModelSpec {
  readonly arch: Architecture;
  readonly dim: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly ffn: number;
  readonly ctx: number;
  /** storage type of the matrices (norms and biases stay F32) */
  readonly type: GgmlType;
  readonly seed: number;
  /** separate output head (llama default) or tied to the embedding */
  readonly tied?: boolean;
}

/** Named sizes the issues and benchmarks use (vocabulary comes from the tokenizer file: 32000 for llama-spm). */
export const SYNTHETIC_PRESETS = {
  "llama-110m": { arch: "llama", dim: 768, layers: 12, heads: 12, kvHeads: 12, ffn: 2048, ctx: 1024 },
  "tinyllama-1.1b": { arch: "llama", dim: 2048, layers: 22, heads: 32, kvHeads: 4, ffn: 5632, ctx: 2048 },
} as const;

export type SyntheticPresetName = keyof typeof SYNTHETIC_PRESETS;

/** Storage types `make-model --type` accepts. */
export const SYNTHETIC_TYPES: Readonly<Record<string, GgmlType>> = {
  f32: GgmlType.F32,
  f16: GgmlType.F16,
  q8_0: GgmlType.Q8_0,
  q4_0: GgmlType.Q4_0,
};

/** Standard deviation of the random weights. */
const WEIGHT_STD = 0.02;

/** A fast seeded normal(0, 1) source: splitmix32 uniforms through Box–Muller. */
export function createNormalSource(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const u1 = uniform() || 1 / 4294967296;
    const u2 = uniform();
    const radius = Math.sqrt(-2 * Math.log(u1));
    spare = radius * Math.sin(2 * Math.PI * u2);
    return radius * Math.cos(2 * Math.PI * u2);
  };
}

interface TensorPlan {
  readonly name: string;
  /** GGUF order: [cols, rows] */
  readonly dims: readonly number[];
  readonly type: GgmlType;
  readonly fill: "normal" | "ones";
}

function tensorPlans(spec: SyntheticModelSpec, vocab: number): TensorPlan[] {
  const headDim = spec.dim / spec.heads;
  const kvDim = spec.kvHeads * headDim;
  const matrix = (name: string, cols: number, rows: number): TensorPlan => ({
    name,
    dims: [cols, rows],
    type: spec.type,
    fill: "normal",
  });
  const vector = (name: string, length: number, fill: "normal" | "ones"): TensorPlan => ({
    name,
    dims: [length],
    type: GgmlType.F32,
    fill,
  });
  const plans: TensorPlan[] = [matrix("token_embd.weight", spec.dim, vocab)];
  for (let l = 0; l < spec.layers; l++) {
    const p = `blk.${l}.`;
    plans.push(
      vector(p + "attn_norm.weight", spec.dim, "ones"),
      matrix(p + "attn_q.weight", spec.dim, spec.dim),
      matrix(p + "attn_k.weight", spec.dim, kvDim),
      matrix(p + "attn_v.weight", spec.dim, kvDim),
    );
    if (spec.arch === "qwen2") {
      plans.push(
        vector(p + "attn_q.bias", spec.dim, "normal"),
        vector(p + "attn_k.bias", kvDim, "normal"),
        vector(p + "attn_v.bias", kvDim, "normal"),
      );
    }
    plans.push(
      matrix(p + "attn_output.weight", spec.dim, spec.dim),
      vector(p + "ffn_norm.weight", spec.dim, "ones"),
      matrix(p + "ffn_gate.weight", spec.dim, spec.ffn),
      matrix(p + "ffn_up.weight", spec.dim, spec.ffn),
      matrix(p + "ffn_down.weight", spec.ffn, spec.dim),
    );
  }
  plans.push(vector("output_norm.weight", spec.dim, "ones"));
  if (!spec.tied) plans.push(matrix("output.weight", spec.dim, vocab));
  return plans;
}

/** Validates a spec; returns a message naming the bad field, or undefined. */
export function checkSyntheticSpec(spec: SyntheticModelSpec): string | undefined {
  for (const field of ["dim", "layers", "heads", "kvHeads", "ffn", "ctx"] as const) {
    const value = spec[field];
    if (!Number.isInteger(value) || value < 1 || value > 1 << 20) {
      return `--${field} must be a positive integer`;
    }
  }
  if (spec.dim % spec.heads !== 0) return `--dim ${spec.dim} is not a multiple of --heads ${spec.heads}`;
  if (spec.heads % spec.kvHeads !== 0) {
    return `--heads ${spec.heads} is not a multiple of --kv-heads ${spec.kvHeads}`;
  }
  if ((spec.dim / spec.heads) % 2 !== 0) return `head dim ${spec.dim / spec.heads} must be even for RoPE`;
  if (spec.type !== GgmlType.F32 && spec.type !== GgmlType.F16) {
    if (spec.dim % 32 !== 0 || spec.ffn % 32 !== 0) {
      return `--dim and --ffn must be multiples of 32 for quantised types`;
    }
  }
  return undefined;
}

/**
 * Writes a synthetic model to `outPath`, copying every `tokenizer.*` key from `vocabFrom`.
 * Streams tensor by tensor, so multi-gigabyte models never sit in memory whole.
 */
export async function writeSyntheticModel(
  spec: SyntheticModelSpec,
  vocabFrom: GgufFile,
  outPath: string,
): Promise<void> {
  const problem = checkSyntheticSpec(spec);
  if (problem) throw new RangeError(problem);
  const tokens = vocabFrom.header.metadata.get("tokenizer.ggml.tokens");
  if (!tokens || !Array.isArray(tokens.value)) {
    throw new RangeError(`${vocabFrom.source.name} has no tokenizer.ggml.tokens`);
  }
  const vocab = tokens.value.length;
  const arch = spec.arch;
  const u32 = (value: number): GgufKv => ({ type: GgufValueType.UINT32, value });
  const f32 = (value: number): GgufKv => ({ type: GgufValueType.FLOAT32, value });
  const metadata: Array<[string, GgufKv]> = [
    ["general.architecture", { type: GgufValueType.STRING, value: arch }],
    ["general.name", { type: GgufValueType.STRING, value: `edgering synthetic ${arch} seed ${spec.seed}` }],
    [`${arch}.context_length`, u32(spec.ctx)],
    [`${arch}.embedding_length`, u32(spec.dim)],
    [`${arch}.block_count`, u32(spec.layers)],
    [`${arch}.feed_forward_length`, u32(spec.ffn)],
    [`${arch}.attention.head_count`, u32(spec.heads)],
    [`${arch}.attention.head_count_kv`, u32(spec.kvHeads)],
    [`${arch}.attention.layer_norm_rms_epsilon`, f32(1e-5)],
    [`${arch}.rope.freq_base`, f32(arch === "qwen2" ? 1000000 : 10000)],
    [`${arch}.rope.dimension_count`, u32(spec.dim / spec.heads)],
  ];
  for (const [key, kv] of vocabFrom.header.metadata) {
    if (key.startsWith("tokenizer.")) metadata.push([key, kv]);
  }
  const normal = createNormalSource(spec.seed);
  const tensors = tensorPlans(spec, vocab).map((plan) => ({
    name: plan.name,
    dims: plan.dims,
    type: plan.type,
    data: () => {
      const count = plan.dims.reduce((a, b) => a * b, 1);
      const values = new Float32Array(count);
      if (plan.fill === "ones") values.fill(1);
      else for (let i = 0; i < count; i++) values[i] = normal() * WEIGHT_STD;
      return quantize(plan.type, values);
    },
  }));
  await writeGgufFile(outPath, { metadata, tensors });
}
