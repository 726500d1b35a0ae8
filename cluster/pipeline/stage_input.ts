/**
 * What a stage accepts from the network, as pure checks apart from the runner's state: an OPEN for
 * this stage's layers (and, on the last stage, the sampler it sets up), TOKEN input only at the stage
 * with the embedding, FORWARD input only elsewhere, at the model's width and in consecutive positions,
 * rows that continue their sequence inside its context, and (at start and on a new plan) a layer range
 * the model has. Each check returns the reason a frame is
 * refused ({@link Refusal}: the wire error code and a message naming the offending value) or the
 * accepted value; the StageRunner (stage_runner.ts) ends the sequence with that error.
 *
 * @example
 * ```ts
 * const opened = admitOpen(frame, runner.range);
 * if ("code" in opened) reply(opened.code, opened.message);
 * ```
 *
 * @module
 */

import { createRng, type SamplingParams, validateSamplingParams } from "../../src/engine/sampler.ts";
import type { LayerRange } from "../../src/model/model_weights.ts";
import { type ForwardFrame, type OpenFrame, WireErrorCode } from "./frames.ts";
import { PipelineConfigError } from "./pipeline_errors.ts";
import type { SamplerState } from "./stage_step.ts";

/** Why input is refused: the code sent back in the ERROR frame, and what was wrong. */
export interface Refusal {
  readonly code: WireErrorCode;
  readonly message: string;
}

/** What an accepted OPEN sets up at this stage. */
export interface OpenedRoute {
  /** address of the next stage; undefined on the last */
  readonly next?: string;
  /** last stage of a longer route: the first stage's address, where fed tokens go */
  readonly first?: string;
  /** last stage: tokens for positions below this are fed to the first stage (0: the entry feeds) */
  readonly feedUntil: number;
  /** last stage: the sequence's sampler, its RNG advanced past the draws already made */
  readonly sampler?: SamplerState;
}

/**
 * Checks that OPEN's hop names exactly this stage's `range` and that the head ends the route; on the
 * last stage, validates the sampling parameters and restores the sampler (a replayed sequence
 * continues its random stream where the dead route left it).
 */
export function admitOpen(f: OpenFrame, range: LayerRange): OpenedRoute | Refusal {
  const me = f.route[f.hop];
  const r = range;
  if (me.start !== r.start || me.end !== r.end || me.embedding !== r.embedding || me.head !== r.head) {
    return refusal(
      WireErrorCode.BadFrame,
      `route hop ${f.hop} names layers ${me.start}..${me.end}, this stage holds ${r.start}..${r.end}`,
    );
  }
  if (me.head !== (f.hop === f.route.length - 1)) {
    return refusal(WireErrorCode.BadFrame, `the stage with the head must end the route`);
  }
  if (!me.head) return { next: f.route[f.hop + 1].address, feedUntil: 0 };
  const params: SamplingParams = { ...f.sampling };
  try {
    validateSamplingParams(params);
  } catch (error) {
    return refusal(WireErrorCode.BadFrame, (error as Error).message);
  }
  const rng = createRng(f.sampling.seed);
  for (let i = 0; i < f.drawsDone; i++) rng.nextFloat();
  return {
    first: f.route.length > 1 ? f.route[0].address : undefined,
    feedUntil: f.feedUntil ?? 0,
    sampler: { params, rng, history: Array.from(f.history) },
  };
}

/** TOKEN input: only at the stage with the embedding, every id inside the vocabulary. */
export function tokenInputProblem(tokens: Int32Array, range: LayerRange, vocab: number): Refusal | undefined {
  if (!range.embedding) {
    return refusal(WireErrorCode.BadFrame, "TOKEN input at a stage without the embedding");
  }
  for (const t of tokens) {
    if (t >= vocab) {
      return refusal(WireErrorCode.BadFrame, `token id ${t} outside the vocabulary of ${vocab}`);
    }
  }
  return undefined;
}

/**
 * One FORWARD segment (rows [from, from + rows) of `f`): only at a stage without the embedding, at
 * the model's width `dim`, in consecutive positions.
 */
export function forwardInputProblem(
  f: ForwardFrame,
  from: number,
  rows: number,
  range: LayerRange,
  dim: number,
): Refusal | undefined {
  if (range.embedding) return refusal(WireErrorCode.BadFrame, "FORWARD input at the first stage");
  if (f.dim !== dim) return refusal(WireErrorCode.BadFrame, `hidden width ${f.dim}, the model's is ${dim}`);
  const start = f.positions[from];
  for (let i = 1; i < rows; i++) {
    if (f.positions[from + i] !== start + i) {
      return refusal(WireErrorCode.BadFrame, `segment positions are not consecutive from ${start}`);
    }
  }
  return undefined;
}

/** Rows [start, start + n) must continue a sequence queued up to `queuedTo` and fit `ctx` positions. */
export function rowsProblem(start: number, n: number, queuedTo: number, ctx: number): Refusal | undefined {
  if (start !== queuedTo) {
    return refusal(WireErrorCode.BadFrame, `rows start at position ${start}, expected ${queuedTo}`);
  }
  if (start + n > ctx) {
    return refusal(WireErrorCode.BadFrame, `position ${start + n - 1} is past the stage context of ${ctx}`);
  }
  return undefined;
}

/** Throws PipelineConfigError when `r` is not a range of a `layers`-layer model a stage can run. */
export function checkRange(r: LayerRange, layers: number): void {
  if (
    !(r.start >= 0 && r.end <= layers && r.start <= r.end) || (r.start === r.end && !r.embedding && !r.head)
  ) {
    throw new PipelineConfigError(
      `stage range ${r.start}..${r.end} does not fit the model's ${layers} layers`,
    );
  }
}

function refusal(code: WireErrorCode, message: string): Refusal {
  return { code, message };
}
