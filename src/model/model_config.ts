/**
 * Hyper-parameters of a transformer, read from GGUF metadata (`{arch}.*` keys).
 *
 * Supported architectures: `llama` (Llama 2/3, TinyLlama, SmolLM, Mistral: normal RoPE, no biases) and
 * `qwen2` (NeoX RoPE, biases on Q, K and V). Both share one forward pass (src/model/forward.ts).
 */
import type { RopeParams } from "../backend/backend.ts";
import type { GgufHeader, GgufKv } from "../gguf/types.ts";

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

/** A model file that edgering cannot run: unknown architecture or missing/invalid hyper-parameters. */
export class ModelConfigError extends Error {
  override name = "ModelConfigError";
}

/** Reads the hyper-parameters of a GGUF model. Throws ModelConfigError naming the missing or bad key. */
export function modelConfigFromGguf(header: GgufHeader): ModelConfig {
  const meta = header.metadata;
  const arch = stringValue(meta, "general.architecture");
  if (!(SUPPORTED_ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new ModelConfigError(
      `unsupported architecture "${arch}" (supported: ${SUPPORTED_ARCHITECTURES.join(", ")})`,
    );
  }
  const key = (suffix: string) => `${arch}.${suffix}`;
  const dim = positiveInt(meta, key("embedding_length"));
  const layers = positiveInt(meta, key("block_count"));
  const heads = positiveInt(meta, key("attention.head_count"));
  const kvHeads = positiveInt(meta, key("attention.head_count_kv"), heads);
  const headDim = positiveInt(meta, key("attention.key_length"), Math.floor(dim / heads));
  if (heads % kvHeads !== 0) {
    throw new ModelConfigError(`head_count ${heads} is not a multiple of head_count_kv ${kvHeads}`);
  }
  const ropeDim = positiveInt(meta, key("rope.dimension_count"), headDim);
  if (ropeDim > headDim || ropeDim % 2 !== 0) {
    throw new ModelConfigError(
      `rope.dimension_count ${ropeDim} must be even and at most head dim ${headDim}`,
    );
  }
  const tensorNames = new Set(header.tensors.map((t) => t.name));
  const embedding = header.tensors.find((t) => t.name === "token_embd.weight");
  if (!embedding) throw new ModelConfigError("model has no token_embd.weight tensor");
  const vocab = embedding.dims[1] ?? 0;
  const arch2 = arch as Architecture;
  return {
    arch: arch2,
    dim,
    layers,
    heads,
    kvHeads,
    headDim,
    kvDim: kvHeads * headDim,
    ffn: positiveInt(meta, key("feed_forward_length")),
    ctx: positiveInt(meta, key("context_length"), 2048),
    vocab,
    rmsEps: numberValue(meta, key("attention.layer_norm_rms_epsilon"), 1e-5),
    rope: {
      headDim,
      ropeDim,
      freqBase: numberValue(meta, key("rope.freq_base"), 10000),
      neox: arch2 === "qwen2",
    },
    tiedEmbeddings: !tensorNames.has("output.weight"),
    qkvBias: tensorNames.has("blk.0.attn_q.bias"),
  };
}

function lookup(meta: ReadonlyMap<string, GgufKv>, key: string): GgufKv["value"] | undefined {
  return meta.get(key)?.value;
}

function stringValue(meta: ReadonlyMap<string, GgufKv>, key: string): string {
  const value = lookup(meta, key);
  if (typeof value !== "string") throw new ModelConfigError(`metadata ${key} is missing or not a string`);
  return value;
}

function numberValue(meta: ReadonlyMap<string, GgufKv>, key: string, fallback?: number): number {
  const value = lookup(meta, key);
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  throw new ModelConfigError(`metadata ${key} is missing or not a number (got ${String(value)})`);
}

function positiveInt(meta: ReadonlyMap<string, GgufKv>, key: string, fallback?: number): number {
  const value = numberValue(meta, key, fallback);
  if (!Number.isInteger(value) || value < 1 || value > 1 << 24) {
    throw new ModelConfigError(`metadata ${key} = ${value} is not a plausible positive integer`);
  }
  return value;
}
