/**
 * A model ready to run on one node: its GGUF file, hyper-parameters, tokenizer, the weights on a backend,
 * a KV cache with one slot per concurrent sequence, and scratch space.
 */
import type { Backend } from "../backend/backend.ts";
import { type GgufFile, openGguf } from "../gguf/mod.ts";
import { createWorkspace, type ForwardContext } from "../model/forward.ts";
import { type ModelConfig, modelConfigFromGguf } from "../model/model_config.ts";
import { fullRange, loadModelWeights, type LoadProgress, type ModelWeights } from "../model/model_weights.ts";
import { Tokenizer } from "../tokenizer/mod.ts";

/** Options for {@link loadModel}. */
export interface LoadModelOptions {
  /** concurrent sequences (KV-cache slots); default 1 */
  readonly slots?: number;
  /** context per sequence, tokens; default and maximum: the model's trained context */
  readonly ctx?: number;
  /** most tokens in one forward call (prefill chunk); default 64 */
  readonly maxBatch?: number;
  readonly onProgress?: LoadProgress;
}

/** A model loaded on a backend. Call {@link LoadedModel.close} to release the file and the backend. */
export interface LoadedModel {
  readonly source: string;
  readonly file: GgufFile;
  readonly cfg: ModelConfig;
  readonly tokenizer: Tokenizer;
  readonly weights: ModelWeights;
  readonly forward: ForwardContext;
  /** context per sequence actually allocated, tokens */
  readonly ctx: number;
  readonly slots: number;
  close(): void;
}

/** Default prefill chunk: large enough to run prompts as matrix products, small enough for scratch memory. */
export const DEFAULT_MAX_BATCH = 64;

/**
 * Opens a GGUF model (path or URL) and loads all of it onto `backend`.
 *
 * @example
 * ```ts
 * const model = await loadModel("../shared/models/stories260K.gguf", createReferenceBackend());
 * console.log(model.cfg.layers); // 5
 * model.close();
 * ```
 */
export async function loadModel(
  source: string,
  backend: Backend,
  options: LoadModelOptions = {},
): Promise<LoadedModel> {
  const file = await openGguf(source);
  try {
    const cfg = modelConfigFromGguf(file.header);
    const tokenizer = Tokenizer.fromMetadata(file.header.metadata);
    const weights = await loadModelWeights(file, backend, cfg, fullRange(cfg), options.onProgress);
    const ctx = Math.min(options.ctx ?? cfg.ctx, cfg.ctx);
    const slots = options.slots ?? 1;
    const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    const cache = backend.createKvCache({ layers: cfg.layers, slots, ctx, kvDim: cfg.kvDim });
    const ws = createWorkspace(backend, cfg, maxBatch, slots);
    return {
      source,
      file,
      cfg,
      tokenizer,
      weights,
      forward: { backend, cfg, weights, cache, ws },
      ctx,
      slots,
      close() {
        file.close();
        backend.dispose();
      },
    };
  } catch (error) {
    file.close();
    throw error;
  }
}
