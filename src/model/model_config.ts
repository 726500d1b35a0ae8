/**
 * Hyper-parameters of a transformer, read from GGUF metadata (`{arch}.*` keys).
 *
 * Supported architectures: `llama` (Llama 2/3, TinyLlama, SmolLM, Mistral: normal RoPE, no biases) and
 * `qwen2` (NeoX RoPE, biases on Q, K and V). Both share one forward pass (src/model/forward.ts).
 */
import type { RopeParams } from "../backend/backend.ts";
import { MetadataReader } from "../gguf/metadata_reader.ts";
import type { GgufHeader } from "../gguf/types.ts";

/** Architectures the forward pass implements. */
export const SUPPORTED_ARCHITECTURES = ["llama", "qwen2"] as const;
export type Architecture = typeof SUPPORTED_ARCHITECTURES[number];

/** Shapes and constants of one model. */
export interface ModelConfig {
  readonly arch: Architecture;
  /** model width (embedding_length) */
  readonly dim: number;
  readonly layers: number;
  /** query heads */
  readonly heads: number;
  /** key/value heads (grouped-query attention when < heads) */
  readonly kvHeads: number;
  readonly headDim: number;
  /** kvHeads · headDim */
  readonly kvDim: number;
  /** SwiGLU hidden width */
  readonly ffn: number;
  /** trained context length, tokens */
  readonly ctx: number;
  readonly vocab: number;
  readonly rmsEps: number;
  readonly rope: RopeParams;
  /** no `output.weight`: the head reuses `token_embd.weight` */
  readonly tiedEmbeddings: boolean;
  /** Q, K and V projections have biases (qwen2) */
  readonly qkvBias: boolean;
}

/** Largest width, count or length accepted from metadata: beyond it a value is corrupt, not a model. */
const MAX_HYPERPARAMETER = 1 << 24;

/** A model file that edgering cannot run: unknown architecture or missing/invalid hyper-parameters. */
export class ModelConfigError extends Error {
  override name = "ModelConfigError";
}

/** Reads the hyper-parameters of a GGUF model. Throws ModelConfigError naming the missing or bad key. */
export function modelConfigFromGguf(header: GgufHeader): ModelConfig {
  const meta = new MetadataReader(header.metadata, (_problem, message) => new ModelConfigError(message));
  const arch = meta.require("general.architecture", meta.string("general.architecture"), "a string");
  if (!(SUPPORTED_ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new ModelConfigError(
      `unsupported architecture "${arch}" (supported: ${SUPPORTED_ARCHITECTURES.join(", ")})`,
    );
  }
  /** A hyper-parameter `{arch}.{suffix}`: a plausible positive integer, or `fallback` when absent. */
  const size = (suffix: string, fallback?: number): number => {
    const key = `${arch}.${suffix}`;
    const value = meta.require(key, meta.uint(key) ?? fallback, "a positive integer");
    if (value < 1 || value > MAX_HYPERPARAMETER) {
      throw new ModelConfigError(`metadata ${key} = ${value} is not a plausible positive integer`);
    }
    return value;
  };
  const dim = size("embedding_length");
  const layers = size("block_count");
  const heads = size("attention.head_count");
  const kvHeads = size("attention.head_count_kv", heads);
  const headDim = size("attention.key_length", Math.floor(dim / heads));
  if (heads % kvHeads !== 0) {
    throw new ModelConfigError(`head_count ${heads} is not a multiple of head_count_kv ${kvHeads}`);
  }
  const ropeDim = size("rope.dimension_count", headDim);
  if (ropeDim > headDim || ropeDim % 2 !== 0) {
    throw new ModelConfigError(
      `rope.dimension_count ${ropeDim} must be even and at most head dim ${headDim}`,
    );
  }
  const tensorNames = new Set(header.tensors.map((t) => t.name));
  const embedding = header.tensors.find((t) => t.name === "token_embd.weight");
  if (!embedding) throw new ModelConfigError("model has no token_embd.weight tensor");
  const supported = arch as Architecture;
  return {
    arch: supported,
    dim,
    layers,
    heads,
    kvHeads,
    headDim,
    kvDim: kvHeads * headDim,
    ffn: size("feed_forward_length"),
    ctx: size("context_length", 2048),
    vocab: embedding.dims[1] ?? 0,
    rmsEps: meta.number(`${arch}.attention.layer_norm_rms_epsilon`) ?? 1e-5,
    rope: {
      headDim,
      ropeDim,
      freqBase: meta.number(`${arch}.rope.freq_base`) ?? 10000,
      neox: supported === "qwen2",
    },
    tiedEmbeddings: !tensorNames.has("output.weight"),
    qkvBias: tensorNames.has("blk.0.attn_q.bias"),
  };
}
