/**
 * The GPU-resident decode loop: tokens are sampled on the GPU and fed to the next step's embedding on
 * the GPU, so the host reads back only once per chunk of steps.
 *
 * Why: in Deno 2.9.6 `mapAsync` never resolves in less than ~10 ms (its poll loop sleeps 10 ms), so one
 * readback per token caps decode near 90 tokens/s whatever the GPU. Here:
 *
 *   prefill → sample ids[0] ─┐   chunk: for each id j in [a, b): embed ids[j−1] → layers → logits →
 *                            └─> sample ids[j]; then one readback of ids[a, b)
 *
 * - Each chunk is recorded and submitted while the previous chunk's readback is still in flight (its
 *   ops are recorded before awaiting): the token buffer is double-buffered by position, the GPU writes
 *   the next chunk's ids while the host reads the current one's, and never waits on the 10 ms poll.
 * - Chunk sizes are chosen from the measured time per step (chunk_size.ts): a short first chunk, then
 *   as many steps as keep the readback floor under a tenth of the chunk's time, fewer near the budget
 *   and when host-side stop strings may end the run. A stop token ends the run at the chunk it appears
 *   in; the work done past it (the rest of its chunk and at most one chunk in flight) is discarded.
 * - Sampling follows the CPU sampler (penalties → top-k → top-p → min-p → temperature → draw, see
 *   gpu_sampling.ts). The token buffer holds the prompt before the generated ids, so the penalties'
 *   window of the last `penaltyLastN` tokens is a range of it. Greedy (temperature 0) is the argmax of
 *   the penalized logits; temperature > 0 an exact Gumbel-max draw with a seed per step.
 *
 * @example
 * ```ts
 * const run = decodeOnGpu(ctx, promptIds, { maxTokens: 64, stopTokens: [2] });
 * for await (const token of run) console.log(token);
 * ```
 */
import type { Tensor } from "../backend.ts";
import { computeLogits, embedTokens, type ForwardContext, runLayers } from "../../model/forward.ts";
import { chooseChunkSize, DEFAULT_MAX_CHUNK } from "./chunk_size.ts";
import type { GpuTokenIds } from "./gpu_resources.ts";
import { checkSampleOptions, type GpuSampleOptions } from "./gpu_sampling.ts";
import type { WebGpuBackend } from "./webgpu_backend.ts";
import { WebGpuError } from "./webgpu_error.ts";

/** Options of a GPU-resident generation. */
export interface GpuDecodeOptions {
  /** most tokens to generate */
  readonly maxTokens: number;
  /** 0 (default) = greedy; > 0 = Gumbel-max draw from softmax(kept logits / T) */
  readonly temperature?: number;
  /** the CPU sampler's filters (SamplingParams' names and meaning); each off by default */
  readonly topK?: number;
  readonly topP?: number;
  readonly minP?: number;
  readonly repetitionPenalty?: number;
  readonly frequencyPenalty?: number;
  readonly presencePenalty?: number;
  /** tokens (prompt included) the penalties look back over: default 64, 0 = none, -1 = all */
  readonly penaltyLastN?: number;
  /** seed of the draws (step s uses seed + s) */
  readonly seed?: number;
  /** tokens that end generation (end-of-sequence); the stop token itself is not yielded */
  readonly stopTokens?: readonly number[];
  /** KV-cache slot of the sequence (default 0) */
  readonly slot?: number;
  /** largest chunk of steps per readback (default 64) */
  readonly maxChunk?: number;
  /** the caller checks stop strings on the text and may end early: chunks stay short */
  readonly mayStopEarly?: boolean;
  readonly signal?: AbortSignal;
}

/** Totals of one GPU-resident generation. */
export interface GpuDecodeSummary {
  readonly finishReason: "stop" | "length" | "abort";
  readonly generatedTokens: number;
  /** decode steps the GPU ran, including those discarded after a stop */
  readonly steps: number;
  readonly readbacks: number;
  readonly submits: number;
  /** readbacks / generated tokens (readbacks when none was generated) */
  readonly readbacksPerToken: number;
}

/** The penalties' default window, tokens (llama.cpp's, as the CPU sampler's). */
const DEFAULT_PENALTY_LAST_N = 64;

/**
 * Prefills `prompt` in the sequence's slot from position 0 and generates up to `maxTokens` tokens with
 * sampling on the GPU, yielding each token as its chunk is read back. `ctx.backend` must be the WebGPU
 * backend. Generation stops at the context's end: at most ctx − prompt.length tokens.
 */
export async function* decodeOnGpu(
  ctx: ForwardContext,
  prompt: readonly number[],
  options: GpuDecodeOptions,
): AsyncGenerator<number, GpuDecodeSummary> {
  const backend = ctx.backend as WebGpuBackend;
  if (backend.name !== "webgpu" || typeof backend.sampleTokens !== "function") {
    throw new WebGpuError("unsupported", `decodeOnGpu needs the WebGPU backend, got ${ctx.backend.name}`);
  }
  const { cfg, weights, ws, cache } = ctx;
  const table = weights.tokenEmbedding;
  if (!table || !weights.output) {
    throw new WebGpuError("unsupported", "decodeOnGpu needs the whole model on this node");
  }
  const slot = options.slot ?? 0;
  const maxChunk = Math.max(1, Math.floor(options.maxChunk ?? DEFAULT_MAX_CHUNK));
  const ctxLen = cache.spec.ctx;
  const maxTokens = Math.min(options.maxTokens, ctxLen - prompt.length);
  if (prompt.length === 0 || maxTokens < 1) {
    throw new WebGpuError(
      "bad_input",
      `prompt of ${prompt.length} tokens leaves no room in a context of ${ctxLen}`,
    );
  }
  checkSampleOptions(options);
  const stops = new Set(options.stopTokens ?? []);
  const lastN = options.penaltyLastN ?? DEFAULT_PENALTY_LAST_N;
  if (!Number.isInteger(lastN) || lastN < -1) {
    throw new WebGpuError("bad_input", `penaltyLastN must be an integer ≥ -1, got ${lastN}`);
  }
  const base = prompt.length; // ids[base + j]: the j-th generated token
  const sampling = (j: number) => samplingAt(options, options.seed ?? 0, lastN, j, { ids, base });
  const start = { ...backend.stats };
  // [prompt, generated] u32 token ids (chunks never launch past maxTokens)
  const ids: GpuTokenIds = backend.createTokenIds(base + maxTokens);
  backend.writeTokenIds(ids, 0, Int32Array.from(prompt));

  // prefill in batches of ws.maxBatch; only the last batch's logits are sampled (into ids[0])
  for (let at = 0; at < prompt.length; at += ws.maxBatch) {
    const tokens = Int32Array.from(prompt.slice(at, at + ws.maxBatch));
    const n = tokens.length;
    embedTokens(ctx, tokens);
    runLayers(ctx, n, {
      slot: new Int32Array(n).fill(slot),
      pos: Int32Array.from({ length: n }, (_, i) => at + i),
    });
    if (at + n >= prompt.length) {
      backend.sampleTokens(ids, base, computeLogits(ctx, Int32Array.of(n - 1)), 1, cfg.vocab, sampling(0));
    }
  }

  let steps = 0;
  /** Records the steps producing ids[a, b) and starts their readback. */
  const launch = (a: number, b: number): Promise<Int32Array> => {
    for (let j = Math.max(a, 1); j < b; j++) {
      // the batch-of-one case of a batched step: ids[j − 1] sits right after the prompt and earlier tokens
      const row = {
        slot,
        pos: prompt.length + j - 1,
        sampling: sampling(j),
        targets: [{ ids, offset: base + j }],
      };
      recordDecodeStep(ctx, { ids, offset: base + j - 1 }, [row]);
      steps++;
    }
    return backend.readTokenIds(ids, b - a, base + a);
  };

  let finishReason: GpuDecodeSummary["finishReason"] = "length";
  let generated = 0;
  let stepMs: number | undefined; // measured time per decode step
  const mayStopEarly = options.mayStopEarly ?? false;
  const chunkAfter = (at: number, first = false) =>
    at + chooseChunkSize({ stepMs, remaining: maxTokens - at, maxChunk, mayStopEarly, first });
  let next = chunkAfter(0, true); // first id not yet launched
  let inFlight: Promise<Int32Array> | undefined = launch(0, next);
  let launchedSteps = next - 1; // steps of the chunk in flight (the first id comes from the prefill)
  let since = performance.now();
  try {
    while (inFlight) {
      const current = inFlight;
      const currentSteps = launchedSteps;
      // record and submit the next chunk before waiting on this one: the GPU stays busy
      const end = options.signal?.aborted ? next : chunkAfter(next);
      launchedSteps = end - next;
      inFlight = next < end ? launch(next, next = end) : undefined;
      const tokens = await current;
      // chunks run back to back, so the time between readbacks is the GPU time of one chunk (or the
      // readback floor, which makes the next chunks grow until it is a small share)
      const now = performance.now();
      if (currentSteps > 0) stepMs = (now - since) / currentSteps;
      since = now;
      for (const token of tokens) {
        if (stops.has(token)) {
          finishReason = "stop";
          break;
        }
        generated++;
        yield token;
      }
      if (finishReason === "stop") break;
      if (options.signal?.aborted) {
        finishReason = "abort";
        break;
      }
    }
  } finally {
    await inFlight?.catch(() => {}); // let a discarded chunk's readback finish before the ids buffer goes
    backend.destroyTokenIds(ids);
  }
  const stats = backend.stats;
  return {
    finishReason,
    generatedTokens: generated,
    steps,
    readbacks: stats.readbacks - start.readbacks,
    submits: stats.submits - start.submits,
    readbacksPerToken: (stats.readbacks - start.readbacks) / Math.max(1, generated),
  };
}

/** Where one sampled token id goes: ids[offset] of a token-id buffer on the GPU. */
export interface IdTarget {
  readonly ids: GpuTokenIds;
  readonly offset: number;
}

/** One row (one sequence) of a batched GPU decode step. */
export interface DecodeRow {
  /** KV-cache slot of the sequence */
  readonly slot: number;
  /** position of the token this row feeds */
  readonly pos: number;
  /** how its next token is drawn: seed and penalty window of that token (see {@link samplingAt}) */
  readonly sampling: GpuSampleOptions;
  /**
   * where the drawn id is written; the first target gets the penalties, the others the same draw
   * from the already penalized logits (a sequence's own history and a batch's shared step ids)
   */
  readonly targets: readonly IdTarget[];
}

/**
 * Options of the sampling of generated token `j` of a sequence: the draw's seed is `seed + j` (so a
 * sequence draws the same tokens alone or batched, whatever step the draw runs in), and, when
 * `history` holds the sequence as [prompt, generated] from `base`, the penalties' window of the last
 * `lastN` tokens before it (-1 = all).
 */
export function samplingAt(
  params: GpuSampleOptions,
  seed: number,
  lastN: number,
  j: number,
  history?: { readonly ids: GpuTokenIds; readonly base: number },
): GpuSampleOptions {
  const options = { ...params, seed: (seed + j) >>> 0, history: undefined };
  if (!history) return options;
  const seen = history.base + j;
  const start = lastN < 0 ? 0 : Math.max(0, seen - lastN);
  return { ...options, history: { ids: history.ids, start, count: seen - start } };
}

/**
 * Records one decode step of `rows.length` sequences, nothing read back: embeds the fed tokens —
 * `input` ids[offset, offset + n) already on the GPU, or host ids — into rows of ws.x, runs the
 * layers with each row's slot and position, computes the logits [n, vocab] and samples each row
 * into its targets (see {@link recordRowSampling}). `scratch` ([vocab] f32) is needed when n > 1.
 */
export function recordDecodeStep(
  ctx: ForwardContext,
  input: IdTarget | Int32Array,
  rows: readonly DecodeRow[],
  scratch?: Tensor,
): void {
  const backend = ctx.backend as WebGpuBackend;
  const n = rows.length;
  if (input instanceof Int32Array) embedTokens(ctx, input);
  else {
    const table = ctx.weights.tokenEmbedding;
    if (!table) throw new WebGpuError("unsupported", "GPU decoding needs the token embedding on this node");
    backend.embedTokenIds(ctx.ws.x, table, input.ids, input.offset, n);
  }
  runLayers(ctx, n, {
    slot: Int32Array.from(rows, (r) => r.slot),
    pos: Int32Array.from(rows, (r) => r.pos),
  });
  const logits = computeLogits(ctx, Int32Array.from({ length: n }, (_, i) => i));
  recordRowSampling(backend, logits, rows, ctx.cfg.vocab, scratch);
}

/**
 * Records the sampling of each row of `logits` [rows.length, vocab] with that row's own options.
 * Row i > 0 is first copied into `scratch` ([vocab] f32) and sampled as row 0 of it: the draw then
 * hashes the same (seed, row 0, id) as the sequence's solo run, and the penalties (one row at a time)
 * rewrite only the copy.
 */
export function recordRowSampling(
  backend: WebGpuBackend,
  logits: Tensor,
  rows: readonly DecodeRow[],
  vocab: number,
  scratch?: Tensor,
): void {
  rows.forEach((row, i) => {
    let source = logits;
    if (i > 0) {
      if (!scratch) throw new WebGpuError("bad_input", "sampling a batch of rows needs a scratch row");
      backend.gatherRows(scratch, logits, Int32Array.of(i), vocab);
      source = scratch;
    }
    row.targets.forEach((target, k) => {
      const options = k === 0 ? row.sampling : { ...row.sampling, history: undefined };
      backend.sampleTokens(target.ids, target.offset, source, 1, vocab, options);
    });
  });
}
