/**
 * The checks a request passes before an engine queues it: a prompt that fits the context, token ids
 * inside the vocabulary, a positive token budget and valid sampling parameters.
 *
 * Separate from the scheduler because two engines take the same {@link SequenceRequest} — the local
 * Scheduler and the pipeline's entry engine (cluster/pipeline/pipeline_engine.ts) — and the HTTP layer
 * maps their errors alike, so both must refuse the same requests with the same errors. Pure: no clock,
 * no queue; each engine then settles the seed and the abort signal in its own order.
 */
import { ContextOverflowError } from "./generate.ts";
import { defaultSamplingParams, type SamplingParams, validateSamplingParams } from "./sampler.ts";
import type { SequenceRequest } from "./sequence.ts";

/**
 * Checks `request` against a model's context (`ctx`, tokens) and vocabulary size; returns its sampling
 * parameters with the sampler's defaults filled in (the seed may still be missing). Throws RangeError
 * (empty prompt, token id outside the vocabulary, bad maxTokens), ContextOverflowError (the prompt does
 * not fit) or SamplerError (bad sampling parameters).
 *
 * @example
 * ```ts
 * const sampling = validateRequest(request, model.ctx, model.cfg.vocab);
 * const seed = sampling.seed ?? randomSeed();
 * ```
 */
export function validateRequest(request: SequenceRequest, ctx: number, vocab: number): SamplingParams {
  const { prompt } = request;
  if (prompt.length === 0) throw new RangeError("the prompt must have at least one token");
  if (prompt.length >= ctx) throw new ContextOverflowError(prompt.length, ctx);
  for (const id of prompt) {
    if (!Number.isInteger(id) || id < 0 || id >= vocab) {
      throw new RangeError(`token id ${id} outside the vocabulary of ${vocab}`);
    }
  }
  if (!Number.isInteger(request.maxTokens) || request.maxTokens < 1) {
    throw new RangeError(`maxTokens must be a positive integer, got ${request.maxTokens}`);
  }
  const sampling: SamplingParams = { ...defaultSamplingParams(), ...request.sampling };
  validateSamplingParams(sampling);
  return sampling;
}
