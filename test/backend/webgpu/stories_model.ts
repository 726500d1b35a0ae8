/**
 * The real stories260K model (../shared/models) on a backend, and the reference engine's greedy run
 * on it, for the WebGPU generation tests.
 *
 * @example
 * ```ts
 * const ctx = await openStories(backend);
 * const { prompt_ids, generated_ids } = await readReferenceRun();
 * ```
 */
import type { Backend } from "../../../src/backend/backend.ts";
import { openGguf } from "../../../src/gguf/mod.ts";
import { modelConfigFromGguf } from "../../../src/model/model_config.ts";
import { fullRange, loadModelWeights } from "../../../src/model/model_weights.ts";
import { createWorkspace, type ForwardContext } from "../../../src/model/forward.ts";

const MODEL = "../shared/models/stories260K.gguf";
const REFERENCE = "../shared/reference/stories260K.json";
/** Positions per slot: the 5-token prompt plus 32 generated tokens, with room to overshoot a chunk. */
const CTX = 64;

/** The reference engine's greedy run (prompt and the 32 tokens it generated). */
export interface ReferenceRun {
  readonly prompt_ids: number[];
  readonly generated_ids: number[];
}

/** Reads ../shared/reference/stories260K.json. */
export async function readReferenceRun(): Promise<ReferenceRun> {
  return JSON.parse(await Deno.readTextFile(REFERENCE));
}

/** Index of the highest value, lowest index on ties (the reference's greedy rule). */
export function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Loads stories260K onto `backend` with a KV cache of `slots` slots of CTX positions. */
export async function openStories(backend: Backend, slots = 1): Promise<ForwardContext> {
  const file = await openGguf(MODEL);
  try {
    const cfg = modelConfigFromGguf(file.header);
    const weights = await loadModelWeights(file, backend, cfg, fullRange(cfg));
    const cache = backend.createKvCache({ layers: cfg.layers, slots, ctx: CTX, kvDim: cfg.kvDim });
    return { backend, cfg, weights, cache, ws: createWorkspace(backend, cfg, 16, slots) };
  } finally {
    file.close();
  }
}
