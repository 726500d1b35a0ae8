/**
 * The transformer forward pass of the llama family (llama and qwen2), written once against the
 * Backend interface:
 *
 *   embed → per layer { rmsnorm, q/k/v (+bias), rope, kv store, attention, o, residual,
 *                       rmsnorm, gate/up, silu·mul, down, residual } → rmsnorm → logits
 *
 * (gate/up and silu·mul are one op on backends offering the optional fused `gateUpSilu`.)
 *
 * A pipeline stage runs only its layer range: the first stage embeds tokens, the last computes logits,
 * and the hidden state [n, dim] travels between them.
 */
import type { Backend, KvCache, Tensor, TokenPlacement } from "../backend/backend.ts";
import type { ModelConfig } from "./model_config.ts";
import type { ModelWeights } from "./model_weights.ts";

/** Scratch tensors for batches of up to `maxBatch` tokens and `maxOutputs` logits rows. */
export interface Workspace {
  readonly maxBatch: number;
  readonly maxOutputs: number;
  readonly x: Tensor; // [maxBatch, dim] residual stream (hidden state)
  readonly normed: Tensor; // [maxBatch, dim]
  readonly q: Tensor; // [maxBatch, heads·headDim]
  readonly k: Tensor; // [maxBatch, kvDim]
  readonly v: Tensor; // [maxBatch, kvDim]
  readonly attnOut: Tensor; // [maxBatch, heads·headDim]
  readonly proj: Tensor; // [maxBatch, dim]
  readonly gate: Tensor; // [maxBatch, ffn]
  readonly up: Tensor; // [maxBatch, ffn]
  readonly headIn: Tensor; // [maxOutputs, dim]
  readonly logits: Tensor; // [maxOutputs, vocab]
}

/** Everything one forward call needs: the model share on a backend, its KV cache and scratch space. */
export interface ForwardContext {
  readonly backend: Backend;
  readonly cfg: ModelConfig;
  readonly weights: ModelWeights;
  /** KV cache for the layers of weights.range (layer 0 of the cache = range.start) */
  readonly cache: KvCache;
  readonly ws: Workspace;
}

/** Allocates scratch tensors for batches of up to `maxBatch` tokens. */
export function createWorkspace(
  backend: Backend,
  cfg: ModelConfig,
  maxBatch: number,
  maxOutputs: number,
): Workspace {
  const qDim = cfg.heads * cfg.headDim;
  return {
    maxBatch,
    maxOutputs,
    x: backend.alloc(maxBatch * cfg.dim),
    normed: backend.alloc(maxBatch * cfg.dim),
    q: backend.alloc(maxBatch * qDim),
    k: backend.alloc(maxBatch * cfg.kvDim),
    v: backend.alloc(maxBatch * cfg.kvDim),
    attnOut: backend.alloc(maxBatch * qDim),
    proj: backend.alloc(maxBatch * cfg.dim),
    gate: backend.alloc(maxBatch * cfg.ffn),
    up: backend.alloc(maxBatch * cfg.ffn),
    headIn: backend.alloc(maxOutputs * cfg.dim),
    logits: backend.alloc(maxOutputs * cfg.vocab),
  };
}

/** First stage: writes the embeddings of `tokens` into the residual stream ws.x [n, dim]. */
export function embedTokens(ctx: ForwardContext, tokens: Int32Array): void {
  const table = ctx.weights.tokenEmbedding;
  if (!table || !ctx.weights.range.embedding) throw new Error("this model share holds no token embedding");
  ctx.backend.embed(ctx.ws.x, table, tokens);
}

/** Runs this share's layers over the residual stream ws.x [n, dim] in place. */
export function runLayers(ctx: ForwardContext, n: number, at: TokenPlacement): void {
  const { backend: b, cfg, weights, cache, ws } = ctx;
  const rope = weights.ropeFreqFactors ? { ...cfg.rope, freqFactors: weights.ropeFreqFactors } : cfg.rope;
  const shape = {
    nHeads: cfg.heads,
    nKvHeads: cfg.kvHeads,
    headDim: cfg.headDim,
    scale: 1 / Math.sqrt(cfg.headDim),
  };
  weights.layers.forEach((layer, cacheLayer) => {
    // attention block
    b.rmsNorm(ws.normed, ws.x, layer.attnNorm, n, cfg.rmsEps);
    b.matmul(ws.q, layer.wq, ws.normed, n);
    b.matmul(ws.k, layer.wk, ws.normed, n);
    b.matmul(ws.v, layer.wv, ws.normed, n);
    if (layer.bq) b.addBias(ws.q, layer.bq, n);
    if (layer.bk) b.addBias(ws.k, layer.bk, n);
    if (layer.bv) b.addBias(ws.v, layer.bv, n);
    b.rope(ws.q, n, cfg.heads, at.pos, rope);
    b.rope(ws.k, n, cfg.kvHeads, at.pos, rope);
    b.kvStore(cache, cacheLayer, ws.k, ws.v, n, at);
    b.attention(ws.attnOut, ws.q, cache, cacheLayer, n, at, shape);
    b.matmul(ws.proj, layer.wo, ws.attnOut, n);
    b.add(ws.x, ws.x, ws.proj, n * cfg.dim);
    // feed-forward block (SwiGLU)
    b.rmsNorm(ws.normed, ws.x, layer.ffnNorm, n, cfg.rmsEps);
    if (b.gateUpSilu) b.gateUpSilu(ws.gate, layer.wGate, layer.wUp, ws.normed, n, ws.up);
    else {
      b.matmul(ws.gate, layer.wGate, ws.normed, n);
      b.matmul(ws.up, layer.wUp, ws.normed, n);
      b.siluMul(ws.gate, ws.gate, ws.up, n * cfg.ffn);
    }
    b.matmul(ws.proj, layer.wDown, ws.gate, n);
    b.add(ws.x, ws.x, ws.proj, n * cfg.dim);
  });
}

/** Last stage: logits [rows.length, vocab] for the chosen rows of the residual stream, in ws.logits. */
export function computeLogits(ctx: ForwardContext, rows: Int32Array): Tensor {
  const { backend: b, cfg, weights, ws } = ctx;
  if (!weights.outputNorm || !weights.output) throw new Error("this model share holds no output head");
  b.gatherRows(ws.headIn, ws.x, rows, cfg.dim);
  b.rmsNorm(ws.headIn, ws.headIn, weights.outputNorm, rows.length, cfg.rmsEps);
  b.matmul(ws.logits, weights.output, ws.headIn, rows.length);
  return ws.logits;
}

/** Whole model on one node: embed `tokens`, run every layer, and return logits for `outputRows`. */
export function forwardTokens(
  ctx: ForwardContext,
  tokens: Int32Array,
  at: TokenPlacement,
  outputRows: Int32Array,
): Tensor {
  embedTokens(ctx, tokens);
  runLayers(ctx, tokens.length, at);
  return computeLogits(ctx, outputRows);
}
