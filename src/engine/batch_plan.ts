/**
 * The scheduler's per-step decision, as a pure function: which tokens of which running sequences go
 * into the next engine step.
 *
 * Every decoding sequence feeds exactly one token (its last sampled one), so all running streams advance
 * together and the weights are read once for all of them. The room left in the step goes to prompt
 * prefill, oldest admission first, at most `prefillChunk` tokens while anyone is decoding (so a long
 * prompt arriving never stalls running streams for more than one chunk), and the whole step when no
 * one is (nothing to stall: prefill as fast as the batch allows).
 */

/** What the planner needs to know of one running sequence, in admission order. */
export interface PlanInput {
  /** true once the prompt is in the cache and a sampled token waits to be fed */
  readonly decoding: boolean;
  /** tokens waiting to be fed: the rest of the prompt, or 1 when decoding */
  readonly pending: number;
}

/** Tokens of one sequence in the step. */
export interface PlanEntry {
  /** index of the sequence in the planner's input */
  readonly index: number;
  /** tokens fed this step (consecutive positions) */
  readonly count: number;
  /** whether this step yields the sequence's next-token logits (its pending tokens are all fed) */
  readonly emitsLogits: boolean;
}

/** One engine step: entries in batch order (decodes first, then prefill chunks). */
export interface StepPlan {
  readonly entries: readonly PlanEntry[];
  /** total tokens in the step (≤ maxBatch) */
  readonly tokens: number;
  /** rows of logits computed (entries with emitsLogits) */
  readonly outputs: number;
}

/** Limits of one step. */
export interface PlanLimits {
  /** most tokens in a step */
  readonly maxBatch: number;
  /** most prefill tokens in a step while some sequence is decoding */
  readonly prefillChunk: number;
}

/**
 * Plans the next step.
 *
 * @example
 * ```ts
 * planStep([{ decoding: true, pending: 1 }, { decoding: false, pending: 100 }], { maxBatch: 64, prefillChunk: 32 });
 * // { entries: [{ index: 0, count: 1, emitsLogits: true }, { index: 1, count: 32, emitsLogits: false }],
 * //   tokens: 33, outputs: 1 }
 * ```
 */
export function planStep(sequences: readonly PlanInput[], limits: PlanLimits): StepPlan {
  const entries: PlanEntry[] = [];
  let tokens = 0;
  let outputs = 0;
  sequences.forEach((s, index) => {
    if (s.decoding && s.pending > 0 && tokens < limits.maxBatch) {
      entries.push({ index, count: 1, emitsLogits: true });
      tokens++;
      outputs++;
    }
  });
  let budget = Math.min(limits.maxBatch - tokens, tokens > 0 ? limits.prefillChunk : limits.maxBatch);
  sequences.forEach((s, index) => {
    if (s.decoding || s.pending <= 0 || budget <= 0) return;
    const count = Math.min(s.pending, budget);
    const emitsLogits = count === s.pending;
    entries.push({ index, count, emitsLogits });
    tokens += count;
    budget -= count;
    if (emitsLogits) outputs++;
  });
  return { entries, tokens, outputs };
}
