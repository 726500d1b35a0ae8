/**
 * The one interface every compute backend implements: reference (plain TS, the specification),
 * wasm (SIMD CPU) and webgpu (GPU).
 *
 * The forward pass (src/model/forward.ts) is written once against these ops. Ops are synchronous
 * calls that may only *record* work (the WebGPU backend encodes them into a command buffer); results
 * become visible to the host through the async {@link Backend.read}. Activations are f32 from the
 * host's point of view; a backend may hold them in another precision internally and says so in its
 * tolerance. Weights stay in their GGUF type: backends read quantised blocks directly.
 *
 * Batches: an op over `n` rows works on the first `n` rows of tensors allocated for a larger maximum
 * batch. Tokens of several sequences may share one batch; each token carries its KV-cache slot (one
 * slot per sequence) and its position, so prefill, decode and batched decode are the same call.
 *
 * @example
 * ```ts
 * const x = backend.alloc(n * dim);
 * backend.embed(x, weights.tokenEmbedding, tokens);
 * backend.rmsNorm(h, x, layer.attnNorm, n, eps);
 * backend.matmul(q, layer.wq, h, n);
 * const values = await backend.read(q, n * qDim);
 * ```
 */
import type { GgmlType } from "../quant/ggml_type.ts";

/** Names a backend answers to (`--backend`). */
export type BackendName = "reference" | "wasm" | "webgpu";

/** An activation buffer owned by a backend: `length` f32 values, opaque to callers. */
export interface Tensor {
  /** capacity in f32 values */
  readonly length: number;
}

/** A weight matrix or vector held in its GGUF type. For a matrix, GGUF dims are [cols, rows]. */
export interface Weight {
  readonly name: string;
  readonly type: GgmlType;
  /** output features (GGUF dims[1]; 1 for a vector) */
  readonly rows: number;
  /** input features, the contiguous row length (GGUF dims[0]) */
  readonly cols: number;
}

/** Geometry of a KV cache: `slots` sequences × `layers` × `ctx` positions × `kvDim` values, for K and V. */
export interface KvCacheSpec {
  /** number of layers this cache serves (a pipeline stage holds only its own range) */
  readonly layers: number;
  /** concurrent sequences (one slot each) */
  readonly slots: number;
  /** positions per sequence */
  readonly ctx: number;
  /** n_kv_heads · head_dim */
  readonly kvDim: number;
}

/** A KV cache living on the backend: K and V, each [slots, layers, ctx, kvDim]. */
export interface KvCache {
  readonly spec: KvCacheSpec;
}

/** Rotary position embedding parameters of one model. */
export interface RopeParams {
  readonly headDim: number;
  /** leading dims of each head that rotate (`rope.dimension_count`), ≤ headDim, even */
  readonly ropeDim: number;
  /** θ base (`rope.freq_base`, default 10000) */
  readonly freqBase: number;
  /**
   * false: "normal" style (llama, GGML_ROPE_TYPE_NORM), rotating adjacent pairs (2i, 2i+1);
   * true: NeoX style (qwen2), rotating pairs (i, i + ropeDim/2).
   */
  readonly neox: boolean;
  /** Llama-3 `rope_freqs`: per-pair divisors of the frequency, length ropeDim/2 */
  readonly freqFactors?: Float32Array;
}

/** Attention geometry of one call. */
export interface AttentionShape {
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  /** softmax scale, usually 1/√headDim */
  readonly scale: number;
}

/** Where each token of a batch lives: its KV-cache slot (sequence) and its position in that sequence. */
export interface TokenPlacement {
  /** [n] slot index per token */
  readonly slot: Int32Array;
  /** [n] position per token */
  readonly pos: Int32Array;
}

/** Description of a weight to upload: its GGUF name, type and dims. */
export interface WeightSpec {
  readonly name: string;
  readonly type: GgmlType;
  /** GGUF order: dims[0] is the row length */
  readonly dims: readonly number[];
}

/** A weight arriving in pieces: {@link Backend.beginWeight}. */
export interface WeightWriter {
  /** The next rows, in order, in their GGUF form: a whole number of rows. */
  write(rows: Uint8Array): void;
  /** The weight, once every row has been written. */
  finish(): Weight;
}

/** A compute backend. See the module comment for the execution model. */
export interface Backend {
  readonly name: BackendName;
  /** e.g. CPU model and thread count, or GPU adapter */
  readonly description: string;

  /** Takes a weight in its GGUF form (raw block bytes). The backend may repack it. */
  uploadWeight(spec: WeightSpec, data: Uint8Array): Weight;
  /**
   * Optional: takes a weight in pieces of whole rows, so a loader can stream a tensor through one
   * reused buffer instead of holding all of it in JS memory (a lower peak RSS). Same result as
   * {@link uploadWeight} with the pieces joined.
   */
  beginWeight?(spec: WeightSpec): WeightWriter;
  /** Allocates an activation tensor of `length` f32 values, zeroed. */
  alloc(length: number): Tensor;
  /** Copies `data` into `t` starting at element `offset`. */
  write(t: Tensor, data: Float32Array, offset?: number): void;
  /**
   * Reads the first `length` values (default all) once all recorded work has finished. With `into`
   * (at least `length` long) the values are copied there and `into.subarray(0, length)` is returned:
   * a caller reading every step reuses one buffer instead of allocating (and page-faulting) a new one.
   */
  read(t: Tensor, length?: number, into?: Float32Array): Promise<Float32Array>;
  /**
   * Optional (CPU backends): the greedy pick of each of `rows` rows of `logits` [rows, rowLength] —
   * the index of the highest value, the lowest on ties, never a NaN; −1 for a row of only −∞ and NaN,
   * as the sampler's temperature-0 pick — written to `into[0..rows]` (returned), so a greedy decode step
   * reads back `rows` ids instead of rows·rowLength logits. Synchronous: results are ready on return.
   */
  greedyRows?(logits: Tensor, rows: number, rowLength: number, into: Int32Array): Int32Array;
  /** Allocates a zeroed KV cache. */
  createKvCache(spec: KvCacheSpec): KvCache;

  /** out[i, :] = row tokens[i] of `table` (dequantised). table: [vocab rows, dim cols]; out: [n, dim]. */
  embed(out: Tensor, table: Weight, tokens: Int32Array): void;
  /** out[n, w.rows] = x[n, w.cols] · wᵀ */
  matmul(out: Tensor, w: Weight, x: Tensor, n: number): void;
  /** x[i, :] += bias for i < n; bias: vector of x's row length. */
  addBias(x: Tensor, bias: Weight, n: number): void;
  /** out[i, :] = x[i, :] / sqrt(mean(x[i, :]²) + eps) · weight, for i < n; row length = weight.cols. */
  rmsNorm(out: Tensor, x: Tensor, weight: Weight, n: number, eps: number): void;
  /** Rotates x [n, nHeads, headDim] in place at each token's position. */
  rope(x: Tensor, n: number, nHeads: number, pos: Int32Array, params: RopeParams): void;
  /** Stores k, v [n, kvDim] into the cache at (slot[i], layer, pos[i]). `layer` is relative to the cache. */
  kvStore(cache: KvCache, layer: number, k: Tensor, v: Tensor, n: number, at: TokenPlacement): void;
  /**
   * Causal attention: for each token i, out[i] = softmax(q[i] · K[slot, 0..pos]ᵀ · scale) · V[slot, 0..pos],
   * per head, with grouped-query sharing (head h reads kv head h / (nHeads / nKvHeads)).
   * q, out: [n, nHeads · headDim]. Positions 0..pos[i] of the slot must already be stored.
   */
  attention(
    out: Tensor,
    q: Tensor,
    cache: KvCache,
    layer: number,
    n: number,
    at: TokenPlacement,
    shape: AttentionShape,
  ): void;
  /** out = silu(gate) · up, elementwise over `length` values. silu(x) = x / (1 + e^-x). */
  siluMul(out: Tensor, gate: Tensor, up: Tensor, length: number): void;
  /**
   * Optional fused SwiGLU: out[n, gate.rows] = silu(x · gateᵀ) · (x · upᵀ), the values of
   * `matmul(out, gate, x, n); matmul(scratch, up, x, n); siluMul(out, out, scratch, n · gate.rows)`.
   * gate and up have the same shape (any weight types); x: [n, gate.cols]. `scratch` ([n, up.rows],
   * not aliasing out or x) is room for a backend that fuses only some batch sizes (decode) and runs
   * the unfused ops on others; its contents afterwards are unspecified. The forward pass calls it when
   * present.
   */
  gateUpSilu?(out: Tensor, gate: Weight, up: Weight, x: Tensor, n: number, scratch: Tensor): void;
  /** out = a + b over `length` values (out may alias a). */
  add(out: Tensor, a: Tensor, b: Tensor, length: number): void;
  /** Softmax of each of n rows of `rowLength` values, in place. */
  softmax(x: Tensor, n: number, rowLength: number): void;
  /** out[j, :] = x[rows[j], :] for each j; rows of `rowLength` values. */
  gatherRows(out: Tensor, x: Tensor, rows: Int32Array, rowLength: number): void;

  /** Frees everything the backend holds. */
  dispose(): void;
}
