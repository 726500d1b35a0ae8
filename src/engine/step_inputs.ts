/**
 * The scheduler's per-step inputs: a planned step (`batch_plan.ts`) laid out as the rows one forward
 * pass takes — each fed token with its KV slot and position, and which rows yield next-token logits.
 *
 * Separate from the planner because the plan is a pure decision over counts, while this reads each
 * sequence's tokens, slot and position; separate from the scheduler's loop so the layout can be read (and
 * checked) on its own. Pure: it writes only the arrays it returns.
 */
import type { StepPlan } from "./batch_plan.ts";
import type { Sequence } from "./sequence.ts";

/** One step's rows for `embedTokens` / `runLayers` / `computeLogits`. */
export interface StepInputs {
  /** [plan.tokens] token ids: a decoding sequence's last sampled token, else its next prompt tokens */
  readonly tokens: Int32Array;
  /** [plan.tokens] KV-cache slot of each token's sequence */
  readonly slot: Int32Array;
  /** [plan.tokens] position of each token in its sequence */
  readonly pos: Int32Array;
  /** [plan.outputs] index of the row whose logits sample each emitting sequence's next token */
  readonly rows: Int32Array;
  /** sequences that get a next token this step, in `rows` order */
  readonly emitting: Sequence[];
  /** tokens of the step that decode, and that prefill a prompt */
  readonly decodeTokens: number;
  readonly prefillTokens: number;
}

/**
 * Lays out `plan` over `batch` (the planner's input, in the same order).
 *
 * @example
 * ```ts
 * const plan = planStep(batch, { maxBatch: 64, prefillChunk: 32 });
 * const { tokens, slot, pos, rows, emitting } = stepInputs(batch, plan);
 * embedTokens(forward, tokens);
 * runLayers(forward, plan.tokens, { slot, pos });
 * ```
 */
export function stepInputs(batch: readonly Sequence[], plan: StepPlan): StepInputs {
  const tokens = new Int32Array(plan.tokens);
  const slot = new Int32Array(plan.tokens);
  const pos = new Int32Array(plan.tokens);
  const rows = new Int32Array(plan.outputs);
  const emitting: Sequence[] = [];
  let decodeTokens = 0;
  let prefillTokens = 0;
  let at = 0;
  for (const entry of plan.entries) {
    const s = batch[entry.index];
    const start = s.position;
    for (let j = 0; j < entry.count; j++, at++) {
      tokens[at] = s.decoding ? s.lastToken : s.prompt[s.prefilled + j];
      slot[at] = s.slot;
      pos[at] = start + j;
    }
    if (entry.emitsLogits) {
      rows[emitting.length] = at - 1;
      emitting.push(s);
    }
    if (s.decoding) decodeTokens += entry.count;
    else prefillTokens += entry.count;
  }
  return { tokens, slot, pos, rows, emitting, decodeTokens, prefillTokens };
}
