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
import type { GgufTensorInfo } from "../gguf/types.ts";

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
  const maxTokens = Math.max(1, Math.min(PROBE_MAX_TOKENS, model.ctx - 2));
  await decodeStep(model, token, 1, 0); // untimed: first-call effects (allocation, JIT)
  const times: number[] = [];
  const start = now();
  for (let i = 0; i < maxTokens; i++) {
    const t0 = now();
    await decodeStep(model, token, 2 + i, 0);
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
