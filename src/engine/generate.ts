/**
 * Single-sequence generation on a loaded model: prefill the prompt in chunks, then decode one token per
 * step, sample, detokenize with UTF-8 safety, and stop on EOS/EOT, a stop string or the token budget.
 *
 * Tokens come out as an async iterable so the caller (CLI, HTTP stream) writes each piece as it is made;
 * aborting the signal ends generation after the current step.
 */
import type { TokenPlacement } from "../backend/backend.ts";
import { computeLogits, embedTokens, runLayers } from "../model/forward.ts";
import type { LoadedModel } from "./loaded_model.ts";
import { createRng, defaultSamplingParams, sample, type SamplingParams } from "./sampler.ts";
import { StopMatcher } from "./stop_matcher.ts";
import { decodeOnGpu } from "../backend/webgpu/mod.ts";

/** Why generation ended, in OpenAI's terms. */
export type FinishReason = "stop" | "length";

/** Options of one generation. */
export interface GenerateOptions {
  /** most tokens to generate */
  readonly maxTokens: number;
  readonly sampling?: Partial<SamplingParams>;
  /** strings that end generation; the stop string itself is not emitted */
  readonly stop?: readonly string[];
  /** KV-cache slot to use (default 0) */
  readonly slot?: number;
  readonly signal?: AbortSignal;
}

/** One generated token and the text it makes safe to emit (may be empty while a character or stop is pending). */
export interface GeneratedPiece {
  readonly token: number;
  readonly text: string;
}

/** Totals of one generation. Times in milliseconds. */
export interface GenerationSummary {
  readonly finishReason: FinishReason;
  readonly promptTokens: number;
  readonly generatedTokens: number;
  /** text not yet emitted as a piece (held back for UTF-8 or a possible stop string), emitted at the end */
  readonly tail: string;
  readonly prefillMs: number;
  readonly decodeMs: number;
}

/** A prompt that does not fit the context. */
export class ContextOverflowError extends Error {
  override name = "ContextOverflowError";
  constructor(readonly promptTokens: number, readonly ctx: number) {
    super(`prompt of ${promptTokens} tokens does not fit the context of ${ctx} tokens`);
  }
}

/** Runs the prompt through the model in chunks and returns the logits of its last token. */
export async function prefill(
  model: LoadedModel,
  prompt: readonly number[],
  slot: number,
): Promise<Float32Array> {
  const { forward } = model;
  const chunk = forward.ws.maxBatch;
  let logits: Float32Array | undefined;
  for (let start = 0; start < prompt.length; start += chunk) {
    const tokens = Int32Array.from(prompt.slice(start, start + chunk));
    const at = placement(slot, start, tokens.length);
    embedTokens(forward, tokens);
    runLayers(forward, tokens.length, at);
    if (start + chunk >= prompt.length) {
      logits = await forward.backend.read(
        computeLogits(forward, Int32Array.of(tokens.length - 1)),
        model.cfg.vocab,
      );
    }
  }
  if (!logits) throw new RangeError("prefill needs at least one prompt token");
  return logits;
}

/** Runs one token at position `pos` and returns its logits. */
export function decodeStep(
  model: LoadedModel,
  token: number,
  pos: number,
  slot: number,
): Promise<Float32Array> {
  const { forward } = model;
  embedTokens(forward, Int32Array.of(token));
  runLayers(forward, 1, placement(slot, pos, 1));
  return forward.backend.read(computeLogits(forward, Int32Array.of(0)), model.cfg.vocab);
}

/**
 * Generates from `prompt` (token ids, BOS included if wanted).
 *
 * @example
 * ```ts
 * const run = generate(model, model.tokenizer.encode("Once upon a time"), { maxTokens: 32 });
 * for await (const piece of run) Deno.stdout.writeSync(new TextEncoder().encode(piece.text));
 * ```
 */
export async function* generate(
  model: LoadedModel,
  prompt: readonly number[],
  options: GenerateOptions,
): AsyncGenerator<GeneratedPiece, GenerationSummary> {
  const slot = options.slot ?? 0;
  if (prompt.length === 0) throw new RangeError("prompt must have at least one token");
  if (prompt.length >= model.ctx) throw new ContextOverflowError(prompt.length, model.ctx);
  const params: SamplingParams = { ...defaultSamplingParams(), ...options.sampling };
  const maxTokens = Math.min(options.maxTokens, model.ctx - prompt.length);
  if (model.forward.backend.name === "webgpu") {
    return yield* generateOnGpu(model, prompt, options, params, maxTokens);
  }
  const rng = createRng(params.seed ?? Date.now());
  const decoder = model.tokenizer.createStreamDecoder();
  const stop = new StopMatcher(options.stop ?? []);
  const history = [...prompt];

  const prefillStart = performance.now();
  let logits = await prefill(model, prompt, slot);
  const prefillMs = performance.now() - prefillStart;
  const decodeStart = performance.now();
  let generated = 0;
  let finishReason: FinishReason = "length";
  while (generated < maxTokens && !options.signal?.aborted) {
    const token = sample(logits, history, params, rng);
    generated++;
    history.push(token);
    if (model.tokenizer.isEndOfGeneration(token)) {
      finishReason = "stop";
      break;
    }
    const matched = stop.push(decoder.push(token));
    yield { token, text: matched.text };
    if (matched.stopped) {
      finishReason = "stop";
      break;
    }
    if (generated >= maxTokens) break;
    logits = await decodeStep(model, token, history.length - 1, slot);
  }
  const tail = finishReason === "stop" && stop.stopped ? "" : stop.push(decoder.flush()).text + stop.flush();
  return {
    finishReason,
    promptTokens: prompt.length,
    generatedTokens: generated,
    tail,
    prefillMs,
    decodeMs: performance.now() - decodeStart,
  };
}

/**
 * The WebGPU path: sampling runs on the GPU and each step's token feeds the next step there, so the host
 * reads tokens back once per chunk of steps instead of once per token (see decodeOnGpu). Stop strings
 * are still matched here on the text; the GPU work past a stop is discarded. prefillMs is the time to
 * the first token.
 */
async function* generateOnGpu(
  model: LoadedModel,
  prompt: readonly number[],
  options: GenerateOptions,
  params: SamplingParams,
  maxTokens: number,
): AsyncGenerator<GeneratedPiece, GenerationSummary> {
  const decoder = model.tokenizer.createStreamDecoder();
  const stop = new StopMatcher(options.stop ?? []);
  const started = performance.now();
  let firstTokenAt: number | undefined;
  const run = decodeOnGpu(model.forward, prompt, {
    ...params,
    seed: params.seed ?? Date.now(),
    maxTokens,
    stopTokens: model.tokenizer.endOfGenerationIds,
    slot: options.slot,
    mayStopEarly: stop.active,
    signal: options.signal,
  });
  let generated = 0;
  let finishReason: FinishReason = "length";
  let step = await run.next();
  while (!step.done) {
    firstTokenAt ??= performance.now();
    generated++;
    const matched = stop.push(decoder.push(step.value));
    yield { token: step.value, text: matched.text };
    if (matched.stopped) {
      finishReason = "stop";
      await run.return(undefined as never);
      break;
    }
    step = await run.next();
  }
  // an end-of-generation token ended the run on the GPU: it counts as generated, as on the CPU path
  if (step.done && step.value.finishReason === "stop") {
    finishReason = "stop";
    generated++;
  }
  const finished = performance.now();
  firstTokenAt ??= finished;
  return {
    finishReason,
    promptTokens: prompt.length,
    generatedTokens: generated,
    tail: stop.stopped ? "" : stop.push(decoder.flush()).text + stop.flush(),
    prefillMs: firstTokenAt - started,
    decodeMs: finished - firstTokenAt,
  };
}

function placement(slot: number, start: number, n: number): TokenPlacement {
  const pos = new Int32Array(n);
  for (let i = 0; i < n; i++) pos[i] = start + i;
  return { slot: new Int32Array(n).fill(slot), pos };
}
