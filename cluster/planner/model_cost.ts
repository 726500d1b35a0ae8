/**
 * The planner's view of a model: weight bytes and FLOPs per layer, embedding and head. Built from a
 * ModelConfig and a storage type (before the file is at hand), or from the GGUF tensor table (exact).
 *
 * @example
 * ```ts
 * const cost = modelCostFromConfig(cfg, bytesPerWeight(GgmlType.Q8_0)); // 34/32 bytes per weight
 * const exact = modelCostFromTensors(cfg, file.header.tensors);
 * ```
 *
 * @module
 */

import type { GgufTensorInfo } from "../../src/gguf/types.ts";
import type { ModelConfig } from "../../src/model/model_config.ts";
import { type GgmlType, ggmlTypeInfo } from "../../src/quant/ggml_type.ts";
import { type ModelCost, PlannerError } from "./planner_types.ts";

/** Context length, tokens, at which attention FLOPs are estimated (a conversation a few turns in). */
export const DEFAULT_CONTEXT_TOKENS = 512;
/** Norm weights and biases are stored as f32, bytes each. */
const F32_BYTES = 4;

/** Bytes per weight of a ggml storage type (block bytes / values per block): F16 → 2, Q8_0 → 1.0625. */
export function bytesPerWeight(type: GgmlType): number {
  const info = ggmlTypeInfo(type);
  if (!info) throw new PlannerError(`unknown ggml type ${type}`);
  return info.typeSize / info.blockSize;
}

/** Attention FLOPs per token per layer at `context` positions: q·kᵀ and p·v, 2 FLOPs per multiply-add. */
function attentionFlops(cfg: ModelConfig, context: number): number {
  return 4 * cfg.heads * cfg.headDim * context;
}

/**
 * Model cost from hyper-parameters: matrices at `weightBytes` bytes per weight (see {@link bytesPerWeight}),
 * norms and biases in f32.
 */
export function modelCostFromConfig(
  cfg: ModelConfig,
  weightBytes: number = 2,
  contextTokens: number = DEFAULT_CONTEXT_TOKENS,
): ModelCost {
  if (!(weightBytes > 0)) throw new PlannerError(`bytes per weight must be positive, got ${weightBytes}`);
  const qDim = cfg.heads * cfg.headDim;
  // q, k, v, o projections and the SwiGLU gate, up and down matrices, in weights
  const matrixWeights = cfg.dim * qDim * 2 + cfg.dim * cfg.kvDim * 2 + cfg.dim * cfg.ffn * 3;
  const smallWeights = 2 * cfg.dim + (cfg.qkvBias ? qDim + 2 * cfg.kvDim : 0);
  const layerBytes = matrixWeights * weightBytes + smallWeights * F32_BYTES;
  const layerFlops = 2 * matrixWeights + attentionFlops(cfg, contextTokens);
  const tableBytes = cfg.vocab * cfg.dim * weightBytes;
  return {
    layers: cfg.layers,
    layerBytes: new Array(cfg.layers).fill(layerBytes),
    layerFlops: new Array(cfg.layers).fill(layerFlops),
    embeddingBytes: tableBytes,
    headBytes: cfg.tiedEmbeddings ? 0 : tableBytes,
    outputNormBytes: cfg.dim * F32_BYTES,
    headFlops: 2 * cfg.vocab * cfg.dim,
    tiedEmbeddings: cfg.tiedEmbeddings,
    dim: cfg.dim,
  };
}

const LAYER_TENSOR = /^blk\.(\d+)\./;

/**
 * Model cost from the GGUF tensor table: each `blk.N.*` tensor's bytes count to layer N; FLOPs are
 * 2 per weight of each matrix (tensors with two or more dims) plus attention at `contextTokens`.
 */
export function modelCostFromTensors(
  cfg: ModelConfig,
  tensors: readonly GgufTensorInfo[],
  contextTokens: number = DEFAULT_CONTEXT_TOKENS,
): ModelCost {
  const layerBytes = new Array<number>(cfg.layers).fill(0);
  const layerFlops = new Array<number>(cfg.layers).fill(attentionFlops(cfg, contextTokens));
  let embeddingBytes = -1, headBytes = 0, outputNormBytes = 0;
  for (const t of tensors) {
    const m = LAYER_TENSOR.exec(t.name);
    if (m) {
      const layer = Number(m[1]);
      if (layer >= cfg.layers) {
        throw new PlannerError(`tensor ${t.name} is past the model's ${cfg.layers} layers`);
      }
      layerBytes[layer] += t.byteSize;
      if (t.dims.length >= 2) layerFlops[layer] += 2 * t.dims.reduce((a, b) => a * b, 1);
    } else if (t.name === "token_embd.weight") {
      embeddingBytes = t.byteSize;
    } else if (t.name === "output.weight") {
      headBytes = t.byteSize;
    } else if (t.name === "output_norm.weight") {
      outputNormBytes = t.byteSize;
    }
  }
  if (embeddingBytes < 0) throw new PlannerError("model has no token_embd.weight tensor");
  const missing = layerBytes.findIndex((b) => b === 0);
  if (missing >= 0) throw new PlannerError(`model has no tensors for layer ${missing}`);
  return {
    layers: cfg.layers,
    layerBytes,
    layerFlops,
    embeddingBytes,
    headBytes: cfg.tiedEmbeddings ? 0 : headBytes,
    outputNormBytes,
    headFlops: 2 * cfg.vocab * cfg.dim,
    tiedEmbeddings: cfg.tiedEmbeddings,
    dim: cfg.dim,
  };
}

/** Weight bytes of the whole model on one node. */
export function totalModelBytes(model: ModelCost): number {
  let sum = model.embeddingBytes + model.headBytes + model.outputNormBytes;
  for (const b of model.layerBytes) sum += b;
  return sum;
}

/** Throws PlannerError unless every count and size is finite, non-negative and consistent. */
export function validateModelCost(model: ModelCost): void {
  const bad = (what: string): never => {
    throw new PlannerError(`model cost: ${what}`);
  };
  if (!Number.isInteger(model.layers) || model.layers < 1) bad(`layers ${model.layers}`);
  if (model.layerBytes.length !== model.layers || model.layerFlops.length !== model.layers) {
    bad(
      `per-layer arrays of ${model.layerBytes.length}/${model.layerFlops.length} for ${model.layers} layers`,
    );
  }
  const sizes = [
    ...model.layerBytes,
    ...model.layerFlops,
    model.embeddingBytes,
    model.headBytes,
    model.outputNormBytes,
    model.headFlops,
  ];
  if (!sizes.every((x) => Number.isFinite(x) && x >= 0)) {
    bad("a size or FLOP count is negative or not finite");
  }
  if (!model.layerBytes.every((b) => b > 0)) bad("a layer has no weight bytes");
  if (!Number.isInteger(model.dim) || model.dim < 1) bad(`dim ${model.dim}`);
}
