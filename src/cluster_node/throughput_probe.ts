/**
 * The start-up micro-benchmark behind a node's throughput score.
 *
 * Decoding one token reads every weight matrix once (the embedding table excepted: one row of it),
 * so decode speed is bound by how fast the backend streams weights. The probe decodes a few tokens on
 * the loaded model and reports weight bytes streamed per second — the unit the layer planner
 * (`cluster/planner`, `PlannerMember.bytesPerSec`) turns into a stage's ms per token:
 *
 *   bytesPerSec = decodeStreamBytes / (median seconds per decoded token)
 *
 * It runs before the scheduler takes the model, on slot 0, at positions the first real request
 * overwrites.
 *
 * @example
 * ```ts
 * const probe = await probeDecodeThroughput(model);
 * probe.bytesPerSec; // e.g. 1.9e9 on a laptop CPU for a small model
 * ```
 *
 * @module
 */
import { decodeStep } from "../engine/generate.ts";
import type { LoadedModel } from "../engine/loaded_model.ts";
import type { Backend } from "../backend/backend.ts";
import type { GgufFile } from "../gguf/mod.ts";
import type { GgufTensorInfo } from "../gguf/types.ts";
import { createWorkspace, embedTokens, type ForwardContext, runLayers } from "../model/forward.ts";
import type { ModelConfig } from "../model/model_config.ts";
import { loadModelWeights } from "../model/model_weights.ts";
import type { Tokenizer } from "../tokenizer/mod.ts";

/** Probe limits: at least MIN timed tokens, then stop at the time budget or at MAX tokens. */
export const PROBE_MIN_TOKENS = 3;
/** @see PROBE_MIN_TOKENS */
export const PROBE_MAX_TOKENS = 32;
/** Time the probe may take once the minimum is reached, ms: short, it delays "ready". */
export const PROBE_BUDGET_MS = 250;

/** What the probe measured. */
export interface ThroughputProbe {
  /** Weight bytes streamed per second while decoding one token at a time. */
  bytesPerSec: number;
  /** Median time of one decode step, ms. */
  msPerToken: number;
  /** Weight bytes one decode step reads. */
  streamBytes: number;
  /** Decode steps timed. */
  tokens: number;
}

/**
 * Weight bytes one decode step reads: every tensor of the model except the token embedding table
 * (one row is gathered) — unless the output head is tied to it, when the head matmul reads it whole.
 */
export function decodeStreamBytes(tensors: readonly GgufTensorInfo[], tiedEmbeddings: boolean): number {
  let sum = 0;
  for (const t of tensors) {
    if (t.name === "rope_freqs.weight") continue;
    if (t.name === "token_embd.weight" && !tiedEmbeddings) continue;
    sum += t.byteSize;
  }
  return sum;
}

/** Times decode steps on `model` (see the module comment). `now` is injectable for tests. */
export async function probeDecodeThroughput(
  model: LoadedModel,
  now: () => number = () => performance.now(),
): Promise<ThroughputProbe> {
  const streamBytes = decodeStreamBytes(model.file.header.tensors, model.cfg.tiedEmbeddings);
  const token = model.tokenizer.bosId >= 0 ? model.tokenizer.bosId : 0;
  // positions 1.. (the warm-up prefilled position 0); stay inside the context
  await decodeStep(model, token, 1, 0); // untimed: first-call effects (allocation, JIT)
  return await timeSteps(
    (pos) => decodeStep(model, token, pos + 1, 0).then(() => {}),
    model.ctx - 2,
    streamBytes,
    now,
  );
}

/** What {@link probeLayerThroughput} runs on: the open model and a backend it may fill and dispose. */
export interface LayerProbeInput {
  readonly file: GgufFile;
  readonly cfg: ModelConfig;
  readonly tokenizer: Tokenizer;
  /** a backend of the kind the node serves with, for the probe alone: disposed when it returns */
  readonly backend: Backend;
  /** bytes the probe may load (`--weights-memory`) */
  readonly budgetBytes: number;
}

/** Weight bytes of each layer, [layers]: the tensors named `blk.<i>.*`. */
export function layerBytes(tensors: readonly GgufTensorInfo[], layers: number): number[] {
  const bytes = new Array<number>(layers).fill(0);
  for (const t of tensors) {
    const m = /^blk\.(\d+)\./.exec(t.name);
    const i = m ? Number(m[1]) : -1;
    if (i >= 0 && i < layers) bytes[i] += t.byteSize;
  }
  return bytes;
}

/**
 * The probe of a node that cannot hold the whole model: loads the embedding and the first k layers
 * that fit `budgetBytes` (at least one), times single-token steps through them, and reports those
 * layers' bytes per second — the same unit as {@link probeDecodeThroughput}, since a decode step streams
 * each layer's weights once. The backend is disposed before it returns, so the weights it loaded are
 * not held beside the stage the plan gives this node later.
 *
 * @example
 * ```ts
 * const probe = await probeLayerThroughput({ file, cfg, tokenizer, backend, budgetBytes: 600_000 });
 * probe.streamBytes; // ≤ 600_000
 * ```
 */
export async function probeLayerThroughput(
  input: LayerProbeInput,
  now: () => number = () => performance.now(),
): Promise<ThroughputProbe> {
  const { file, cfg, tokenizer, backend } = input;
  try {
    const perLayer = layerBytes(file.header.tensors, cfg.layers);
    const embedding = file.header.tensors.find((t) => t.name === "token_embd.weight")?.byteSize ?? 0;
    let k = 1;
    let held = embedding + perLayer[0];
    while (k < cfg.layers && held + perLayer[k] <= input.budgetBytes) held += perLayer[k++];
    const weights = await loadModelWeights(file, backend, cfg, {
      start: 0,
      end: k,
      embedding: true,
      head: false,
    });
    const ctx = Math.min(cfg.ctx, PROBE_MAX_TOKENS + 2);
    const forward: ForwardContext = {
      backend,
      cfg,
      weights,
      cache: backend.createKvCache({ layers: k, slots: 1, ctx, kvDim: cfg.kvDim }),
      ws: createWorkspace(backend, cfg, 1, 1),
    };
    const tokens = Int32Array.of(tokenizer.bosId >= 0 ? tokenizer.bosId : 0);
    const step = async (pos: number) => {
      embedTokens(forward, tokens);
      runLayers(forward, 1, { slot: Int32Array.of(0), pos: Int32Array.of(pos) });
      await backend.read(forward.ws.x, 1); // waits for the recorded work (GPU backends)
    };
    await step(0); // untimed: first-call effects (allocation, JIT)
    const streamBytes = perLayer.slice(0, k).reduce((a, b) => a + b, 0);
    return await timeSteps(step, ctx - 1, streamBytes, now);
  } finally {
    backend.dispose();
  }
}

/** Times `step(pos)` at positions 1.. and turns the median into weight bytes per second. */
async function timeSteps(
  step: (pos: number) => Promise<void>,
  maxTokens: number,
  streamBytes: number,
  now: () => number,
): Promise<ThroughputProbe> {
  const times: number[] = [];
  const start = now();
  for (let i = 0; i < Math.max(1, Math.min(PROBE_MAX_TOKENS, maxTokens)); i++) {
    const t0 = now();
    await step(1 + i);
    times.push(now() - t0);
    if (times.length >= PROBE_MIN_TOKENS && now() - start >= PROBE_BUDGET_MS) break;
  }
  times.sort((a, b) => a - b);
  // a step faster than the timer's resolution still counts as some time
  const msPerToken = Math.max(times[Math.floor(times.length / 2)], 0.001);
  return {
    bytesPerSec: Math.round((streamBytes * 1000) / msPerToken),
    msPerToken,
    streamBytes,
    tokens: times.length,
  };
}
