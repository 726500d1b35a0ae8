/**
 * Recording token sampling on the GPU: the penalties kernel (in place on the logits, over a window of
 * token ids that never left the GPU), then the sample kernel (top-k → top-p → min-p → temperature →
 * Gumbel-max draw), in the order and with the semantics of the CPU sampler (src/engine/sampler.ts).
 *
 * The penalties rewrite the logits tensor: callers sample from scratch logits (a decode step's, which
 * nothing reads afterwards). With `writeProbs` the sample kernel also replaces the logits with the
 * distribution it drew from (0 for filtered-out ids), which is how tests compare the filtered set with
 * the CPU sampler's.
 *
 * @example
 * ```ts
 * recordSample(rec, kernels, ids, 5, logits, 1, vocab, {
 *   temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, repetitionPenalty: 1.1,
 *   history: { ids, start: 0, count: 5 },
 *   seed: 7,
 * });
 * ```
 */
import type { Tensor } from "../backend.ts";
import type { Dispatcher } from "./dispatcher.ts";
import type { GpuTensor, GpuTokenIds } from "./gpu_resources.ts";
import { KERNELS } from "./kernel_specs.ts";
import type { Recorder } from "./recorder.ts";
import { WebGpuError } from "./webgpu_error.ts";

/** The token ids the penalties look at: ids[start, start + count) of a token-id buffer on the GPU. */
export interface GpuPenaltyWindow {
  readonly ids: GpuTokenIds;
  readonly start: number;
  readonly count: number;
}

/** Options of GPU sampling; each filter is off by default, as the neutral value of the CPU sampler. */
export interface GpuSampleOptions {
  /** 0 = greedy (highest penalized logit, lowest id on ties); > 0 = draw from softmax(kept logits / T) */
  readonly temperature?: number;
  /** 32-bit seed of the draw; vary it per step */
  readonly seed?: number;
  /** keep the k best tokens; 0 (default) = off */
  readonly topK?: number;
  /** keep the shortest best-first prefix holding this much probability (within top-k); 1 = off */
  readonly topP?: number;
  /** drop tokens less likely than minP × the best one; 0 = off */
  readonly minP?: number;
  /** > 1 discourages tokens of the penalty window; 1 = off */
  readonly repetitionPenalty?: number;
  /** subtracted once per occurrence in the window; 0 = off */
  readonly frequencyPenalty?: number;
  /** subtracted once from any token of the window; 0 = off */
  readonly presencePenalty?: number;
  /** the tokens the penalties look at (needed when a penalty is on; one row of logits only) */
  readonly history?: GpuPenaltyWindow;
  /** replace the logits with the kept distribution (tests) */
  readonly writeProbs?: boolean;
}

function check(ok: boolean, what: string, value: unknown): void {
  if (!ok) throw new WebGpuError("bad_input", `GPU sampling: ${what}, got ${value}`);
}

/** Throws WebGpuError("bad_input") unless every sampling parameter is in its documented range. */
export function checkSampleOptions(options: GpuSampleOptions): void {
  const {
    temperature = 0,
    topK = 0,
    topP = 1,
    minP = 0,
    repetitionPenalty = 1,
    frequencyPenalty = 0,
    presencePenalty = 0,
  } = options;
  check(Number.isFinite(temperature) && temperature >= 0, "temperature must be ≥ 0", temperature);
  check(Number.isInteger(topK) && topK >= 0 && topK <= 0xffffffff, "topK must be an integer ≥ 0", topK);
  check(topP >= 0 && topP <= 1, "topP must be in [0, 1]", topP);
  check(minP >= 0 && minP <= 1, "minP must be in [0, 1]", minP);
  check(
    Number.isFinite(repetitionPenalty) && repetitionPenalty > 0,
    "repetitionPenalty must be > 0",
    repetitionPenalty,
  );
  check(Number.isFinite(frequencyPenalty), "frequencyPenalty must be finite", frequencyPenalty);
  check(Number.isFinite(presencePenalty), "presencePenalty must be finite", presencePenalty);
}

/**
 * Records the sampling of `n` rows of `vocab` logits into ids[offset, offset + n).
 * Throws WebGpuError("bad_input") for out-of-range parameters or ids.
 */
export function recordSample(
  rec: Recorder,
  kernels: Dispatcher,
  ids: GpuTokenIds,
  offset: number,
  logits: Tensor,
  n: number,
  vocab: number,
  options: GpuSampleOptions = {},
): void {
  const { temperature = 0, topK = 0, topP = 1, minP = 0 } = options;
  const { repetitionPenalty = 1, frequencyPenalty = 0, presencePenalty = 0 } = options;
  checkSampleOptions(options);
  check(Number.isInteger(vocab) && vocab >= 1, "vocab must be ≥ 1", vocab);
  check(
    Number.isInteger(n) && n >= 0 && logits.length >= n * vocab,
    `${n} rows of ${vocab} logits`,
    logits.length,
  );
  check(
    Number.isInteger(offset) && offset >= 0 && offset + n <= ids.length,
    `ids ${offset}..${offset + n}`,
    ids.length,
  );
  if (n === 0) return;
  const x = (logits as GpuTensor).buf;
  const h = options.history;
  const penalized = repetitionPenalty !== 1 || frequencyPenalty !== 0 || presencePenalty !== 0;
  if (penalized && h && h.count > 0) {
    check(n === 1, "penalties apply to one row of logits", n);
    check(
      Number.isInteger(h.start) && Number.isInteger(h.count) && h.start >= 0 &&
        h.start + h.count <= h.ids.length,
      `penalty window ${h.start}..${h.start + h.count}`,
      h.ids.length,
    );
    rec.reserve(1, 0);
    rec.begin();
    kernels.dispatch(
      KERNELS.penalize,
      {},
      {
        len: vocab,
        hist_off: h.start,
        count: h.count,
        rep: repetitionPenalty,
        freq: frequencyPenalty,
        pres: presencePenalty,
      },
      [x, h.ids.buf],
      [1],
    );
  }
  rec.reserve(1, 0);
  rec.begin();
  kernels.dispatch(
    KERNELS.sample,
    {},
    {
      len: vocab,
      temperature,
      seed: (options.seed ?? 0) >>> 0,
      ids_off: offset,
      top_k: topK,
      top_p: topP,
      min_p: minP,
      write_probs: options.writeProbs ? 1 : 0,
    },
    [x, ids.buf],
    [kernels.dim(n)],
  );
}
