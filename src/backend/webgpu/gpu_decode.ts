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
 *   ops are recorded before awaiting), so the GPU never waits on the host's 10 ms poll.
 * - Chunks grow adaptively: 4 tokens first (a quick first token to stream), doubling to `maxChunk`
 *   while the sequence goes on; a stop token ends the run at the chunk it appears in and the work
 *   done past it (at most one chunk in flight plus the rest of its own) is discarded.
 * - Greedy (temperature 0) is an argmax; temperature > 0 is an exact draw by Gumbel-max with a seed
 *   per step. Top-k/top-p and penalties are not applied on this path (the host sampler has them).
 *
 * @example
 * ```ts
 * const run = decodeOnGpu(ctx, promptIds, { maxTokens: 64, stopTokens: [2] });
 * for await (const token of run) console.log(token);
 * ```
 */
import { computeLogits, embedTokens, type ForwardContext, runLayers } from "../../model/forward.ts";
import type { GpuTokenIds } from "./gpu_resources.ts";
import type { WebGpuBackend } from "./webgpu_backend.ts";
import { WebGpuError } from "./webgpu_error.ts";

/** Options of a GPU-resident generation. */
export interface GpuDecodeOptions {
  /** most tokens to generate */
  readonly maxTokens: number;
  /** 0 (default) = greedy; > 0 = Gumbel-max draw from softmax(logits / T) */
  readonly temperature?: number;
  /** seed of the draws (step s uses seed + s) */
  readonly seed?: number;
  /** tokens that end generation (end-of-sequence); the stop token itself is not yielded */
  readonly stopTokens?: readonly number[];
  /** KV-cache slot of the sequence (default 0) */
  readonly slot?: number;
  /** largest chunk of steps per readback (default 32) */
  readonly maxChunk?: number;
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
}

/** First chunk of a generation: short, so the first tokens stream out early. */
const FIRST_CHUNK = 4;
/** Default largest chunk: 1/32 readback per token, at most 31 discarded steps after a stop. */
const DEFAULT_MAX_CHUNK = 32;

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
  const maxChunk = Math.max(1, options.maxChunk ?? DEFAULT_MAX_CHUNK);
  const ctxLen = cache.spec.ctx;
  const maxTokens = Math.min(options.maxTokens, ctxLen - prompt.length);
  if (prompt.length === 0 || maxTokens < 1) {
    throw new WebGpuError(
      "bad_input",
      `prompt of ${prompt.length} tokens leaves no room in a context of ${ctxLen}`,
    );
  }
  const stops = new Set(options.stopTokens ?? []);
  const sampling = (step: number) => ({
    temperature: options.temperature ?? 0,
    seed: ((options.seed ?? 0) + step) >>> 0,
  });
  const start = { ...backend.stats };
  // ids[j]: the j-th generated token (chunks never launch past maxTokens)
  const ids: GpuTokenIds = backend.createTokenIds(maxTokens);

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
      backend.sampleTokens(ids, 0, computeLogits(ctx, Int32Array.of(n - 1)), 1, cfg.vocab, sampling(0));
    }
  }

  const slotOf = Int32Array.of(slot);
  const pos = new Int32Array(1);
  const zero = Int32Array.of(0);
  let steps = 0;
  /** Records the steps producing ids[a, b) and starts their readback. */
  const launch = (a: number, b: number): Promise<Int32Array> => {
    for (let j = Math.max(a, 1); j < b; j++) {
      pos[0] = prompt.length + j - 1; // ids[j − 1] sits right after the prompt and earlier tokens
      backend.embedTokenIds(ws.x, table, ids, j - 1, 1);
      runLayers(ctx, 1, { slot: slotOf, pos });
      backend.sampleTokens(ids, j, computeLogits(ctx, zero), 1, cfg.vocab, sampling(j));
      steps++;
    }
    return backend.readTokenIds(ids, b - a, a);
  };

  let finishReason: GpuDecodeSummary["finishReason"] = "length";
  let generated = 0;
  let chunk = Math.min(FIRST_CHUNK, maxChunk);
  let next = 0; // first id not yet launched
  const room = (a: number, size: number) => Math.min(a + size, maxTokens);
  let inFlight: Promise<Int32Array> | undefined = launch(0, next = room(0, chunk));
  try {
    while (inFlight) {
      const current = inFlight;
      // record and submit the next chunk before waiting on this one: the GPU stays busy
      chunk = Math.min(chunk * 2, maxChunk);
      const end = room(next, chunk);
      inFlight = next < end && !options.signal?.aborted ? launch(next, next = end) : undefined;
      for (const token of await current) {
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
  };
}
