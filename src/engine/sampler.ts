/**
 * Token sampling from logits: pure, seeded, and in llama.cpp's order.
 *
 * penalties → top-k → top-p → min-p → temperature → draw
 *
 * - penalties (repetition, frequency, presence) apply to tokens seen in the last `penaltyLastN` tokens
 *   of the history, as llama.cpp defines them: a repeated token's logit is divided by the repetition
 *   penalty when positive and multiplied when negative, then reduced by `count·frequency + presence`;
 * - top-k keeps the k highest logits (0 = off);
 * - top-p keeps the smallest best-first prefix whose probability mass reaches p (1 = off);
 * - min-p keeps tokens whose probability is at least minP × the best token's (0 = off);
 * - temperature divides the surviving logits; temperature 0 is greedy: the highest penalized logit,
 *   lowest id on ties, with no draw.
 *
 * Only the candidates that matter are ever sorted: top-k uses a size-k heap, top-p without top-k
 * buckets the logits and sorts one bucket (sampling/top_p.ts), and the draw walks the kept ids in id
 * order, so a 150k vocabulary costs a few linear passes per token and every route to the same kept set
 * draws the same token for the same RNG state.
 *
 * @example
 * ```ts
 * const rng = createRng(1234);
 * const params = { ...defaultSamplingParams(), temperature: 0.7 };
 * const next = sample(logits, history, params, rng);
 * ```
 */
import type { Rng } from "./sampling/rng.ts";
import { topKIds } from "./sampling/top_k.ts";
import { keptBy, topPCutoff } from "./sampling/top_p.ts";

export { createRng, type Rng } from "./sampling/rng.ts";

/** How to pick the next token. */
export interface SamplingParams {
  /** softmax temperature; 0 = greedy (argmax). Higher flattens the distribution. */
  readonly temperature: number;
  /** keep only the k most likely tokens; 0 = off */
  readonly topK: number;
  /** keep the smallest set of most likely tokens holding this much probability; 1 = off */
  readonly topP: number;
  /** drop tokens less likely than minP × the most likely one; 0 = off */
  readonly minP: number;
  /** > 1 discourages repeating recent tokens; 1 = off */
  readonly repetitionPenalty: number;
  /** subtracted from a recent token's logit once per occurrence; 0 = off */
  readonly frequencyPenalty: number;
  /** subtracted once from the logit of any recent token; 0 = off */
  readonly presencePenalty: number;
  /** how many of the last tokens the penalties look at (default 64; 0 = none; -1 = the whole history) */
  readonly penaltyLastN?: number;
  /** seed for the caller's RNG; the sampler itself only uses the RNG it is given */
  readonly seed?: number;
}

/** llama.cpp's defaults: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, penalties off. */
export function defaultSamplingParams(): SamplingParams {
  return {
    temperature: 0.8,
    topK: 40,
    topP: 0.95,
    minP: 0.05,
    repetitionPenalty: 1,
    frequencyPenalty: 0,
    presencePenalty: 0,
    penaltyLastN: DEFAULT_PENALTY_LAST_N,
  };
}

/** Tokens the penalties look back over when `penaltyLastN` is not given (llama.cpp's default). */
export const DEFAULT_PENALTY_LAST_N = 64;

/** Invalid sampling parameters or logits with nothing to sample. */
export class SamplerError extends Error {
  override name = "SamplerError";
}

function check(ok: boolean, what: string, value: unknown): void {
  if (!ok) throw new SamplerError(`sampling parameter ${what}, got ${value}`);
}

/** Throws SamplerError unless every parameter is in its documented range. */
export function validateSamplingParams(p: SamplingParams): void {
  check(Number.isFinite(p.temperature) && p.temperature >= 0, "temperature must be ≥ 0", p.temperature);
  check(Number.isInteger(p.topK) && p.topK >= 0, "topK must be an integer ≥ 0", p.topK);
  check(p.topP >= 0 && p.topP <= 1, "topP must be in [0, 1]", p.topP);
  check(p.minP >= 0 && p.minP <= 1, "minP must be in [0, 1]", p.minP);
  check(
    Number.isFinite(p.repetitionPenalty) && p.repetitionPenalty > 0,
    "repetitionPenalty must be > 0",
    p.repetitionPenalty,
  );
  check(Number.isFinite(p.frequencyPenalty), "frequencyPenalty must be finite", p.frequencyPenalty);
  check(Number.isFinite(p.presencePenalty), "presencePenalty must be finite", p.presencePenalty);
  const lastN = p.penaltyLastN ?? DEFAULT_PENALTY_LAST_N;
  check(Number.isInteger(lastN) && lastN >= -1, "penaltyLastN must be an integer ≥ -1", lastN);
}

/**
 * A copy of `logits` with NaN as -Infinity and the penalties applied.
 * `history` ids outside the vocabulary are ignored.
 */
export function penalizedLogits(
  logits: Float32Array,
  history: readonly number[],
  p: SamplingParams,
): Float32Array {
  const out = new Float32Array(logits);
  for (let i = 0; i < out.length; i++) if (out[i] !== out[i]) out[i] = -Infinity;
  if (!penaltiesApply(p)) return out;
  const lastN = p.penaltyLastN ?? DEFAULT_PENALTY_LAST_N;
  const from = lastN < 0 ? 0 : Math.max(0, history.length - lastN);
  const counts = new Map<number, number>();
  for (let i = from; i < history.length; i++) counts.set(history[i], (counts.get(history[i]) ?? 0) + 1);
  for (const [id, count] of counts) {
    if (!Number.isInteger(id) || id < 0 || id >= out.length) continue;
    let l = out[id];
    if (p.repetitionPenalty !== 1) l = l <= 0 ? l * p.repetitionPenalty : l / p.repetitionPenalty;
    out[id] = l - count * p.frequencyPenalty - p.presencePenalty;
  }
  return out;
}

/** Whether any penalty changes the logits (a penalty is set and its window is not empty). */
function penaltiesApply(p: SamplingParams): boolean {
  const active = p.repetitionPenalty !== 1 || p.frequencyPenalty !== 0 || p.presencePenalty !== 0;
  return active && (p.penaltyLastN ?? DEFAULT_PENALTY_LAST_N) !== 0;
}

/**
 * Whether `p` picks the highest raw logit: temperature 0 and no penalty that changes the logits. Such a
 * pick needs no copy of the logits, and a backend may make it where the logits are (greedyRows).
 */
export function isPlainGreedy(p: SamplingParams): boolean {
  return p.temperature === 0 && !penaltiesApply(p);
}

/** The greedy pick without a copy: highest logit, lowest id on ties, NaN never chosen; -1 if none. */
function greedyPick(logits: Float32Array): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i] > bestValue) {
      best = i;
      bestValue = logits[i];
    }
  }
  return best;
}

/** Highest logit, lowest id on ties. */
export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/**
 * Picks the next token id. Pure apart from drawing from `rng` (at most one draw, none when greedy).
 *
 * @throws SamplerError for invalid parameters, empty logits, or logits that are all -Infinity/NaN
 */
export function sample(
  logits: Float32Array,
  history: readonly number[],
  params: SamplingParams,
  rng: Rng,
): number {
  validateSamplingParams(params);
  if (logits.length === 0) throw new SamplerError("cannot sample from empty logits");
  if (isPlainGreedy(params)) {
    // the common greedy case reads the logits in place: the same pick as below, without a copy
    const best = greedyPick(logits);
    if (best < 0) throw new SamplerError("every logit is -Infinity or NaN: nothing to sample");
    return best;
  }
  const work = penalizedLogits(logits, history, params);
  const best = argmax(work);
  const max = work[best];
  if (max === -Infinity) throw new SamplerError("every logit is -Infinity or NaN: nothing to sample");
  if (params.temperature === 0 || max === Infinity) return best;

  const n = work.length;
  // The pool: the top-k ids (best first), or null for the whole vocabulary.
  const pool = params.topK > 0 && params.topK < n ? topKIds(work, params.topK) : null;
  // min-p keeps a best-first prefix too, so with top-p the shorter prefix wins whatever the order.
  const minLogit = params.minP > 0 ? max + Math.log(params.minP) : -Infinity;
  // The top-p cut-off: the last id kept, in rank order; -1 = no cut.
  let cutoff = -1;
  if (params.topP < 1) {
    if (pool) {
      // Probabilities are relative to the candidates that survived top-k.
      let z = 0;
      for (const id of pool) z += Math.exp(work[id] - max);
      const target = params.topP * z;
      let mass = 0;
      cutoff = pool[pool.length - 1];
      for (const id of pool) {
        mass += Math.exp(work[id] - max);
        if (mass >= target) {
          cutoff = id;
          break;
        }
      }
    } else {
      cutoff = topPCutoff(work, max, params.topP);
    }
  }
  const kept = (i: number) => work[i] >= minLogit && (cutoff < 0 || keptBy(work, i, cutoff));
  // Draw in id order over the kept ids, so every path to the same kept set draws the same token.
  const ids = pool ? Int32Array.from(pool).sort() : null;
  return draw(work, ids, kept, max, params.temperature, rng);
}

/**
 * One draw from softmax(logits / temperature) over the ids (all ids when null) that `kept` accepts.
 */
function draw(
  logits: Float32Array,
  ids: Int32Array | null,
  kept: (id: number) => boolean,
  max: number,
  temperature: number,
  rng: Rng,
): number {
  const count = ids ? ids.length : logits.length;
  const weights = new Float64Array(count); // [count] unnormalized probabilities, 0 = not kept
  let total = 0;
  for (let j = 0; j < count; j++) {
    const id = ids ? ids[j] : j;
    if (!kept(id)) continue;
    const w = Math.exp((logits[id] - max) / temperature);
    weights[j] = w;
    total += w;
  }
  const u = rng.nextFloat() * total;
  let acc = 0;
  let last = -1;
  for (let j = 0; j < count; j++) {
    if (weights[j] === 0) continue;
    last = j;
    acc += weights[j];
    if (u < acc) break;
  }
  // (if rounding left u at the very top, `last` is the last id with weight)
  return ids ? ids[last] : last;
}

/**
 * A sampler bound to its parameters and RNG, for callers that sample a whole sequence.
 *
 * @example
 * ```ts
 * const sampler = new Sampler({ ...defaultSamplingParams(), seed: 7 }, createRng(7));
 * const id = sampler.sample(logits, history);
 * ```
 */
export class Sampler {
  constructor(readonly params: SamplingParams, private readonly rng: Rng) {
    validateSamplingParams(params);
  }

  sample(logits: Float32Array, history: readonly number[]): number {
    return sample(logits, history, this.params, this.rng);
  }
}
