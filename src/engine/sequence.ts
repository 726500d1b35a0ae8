/**
 * One request's generation state inside the scheduler: its prompt, KV slot, sampler, detokenizer and
 * stop strings, and the channel its pieces flow out through.
 *
 * Token handling follows `generate()` (src/engine/generate.ts) step for step — sample, count, end on
 * EOS/EOT, detokenize, match stop strings, end on the budget — so a sequence yields the same text in a
 * batch as alone.
 */
import type { Tokenizer } from "../tokenizer/mod.ts";
import type { StreamDecoder } from "../tokenizer/mod.ts";
import type { FinishReason, GeneratedPiece } from "./generate.ts";
import { createRng, Sampler, type SamplingParams } from "./sampler.ts";
import { StopMatcher } from "./stop_matcher.ts";
import { TokenChannel } from "./token_channel.ts";

/** Why a sequence ended: OpenAI's reasons, or cancelled (client gone, shutdown) or error (engine fault). */
export type SequenceEnd = FinishReason | "cancelled" | "error";

/** Totals of one sequence. Times in milliseconds since it was submitted. */
export interface SequenceSummary {
  readonly finishReason: SequenceEnd;
  readonly promptTokens: number;
  readonly generatedTokens: number;
  /** text held back (partial character or possible stop string) and released at the end */
  readonly tail: string;
  /** time spent waiting for a KV slot */
  readonly queuedMs: number;
  /** time to the first generated token (undefined when none was generated) */
  readonly firstTokenMs?: number;
  readonly totalMs: number;
  /** the failure when finishReason is "error" */
  readonly error?: unknown;
}

/** A generation request as the scheduler takes it: token ids, budget, sampling, stop strings. */
export interface SequenceRequest {
  /** prompt token ids (BOS included when wanted); at least one, fewer than the context */
  readonly prompt: readonly number[];
  /** most tokens to generate (≥ 1); capped so prompt + completion fit the context */
  readonly maxTokens: number;
  /** sampling parameters; missing fields take the sampler's defaults, a missing seed a random one */
  readonly sampling: SamplingParams;
  readonly stop?: readonly string[];
  /** aborting it cancels the sequence and frees its KV slot */
  readonly signal?: AbortSignal;
  /**
   * who sent it (API key, OpenAI `user` or remote address): the scheduler admits round-robin across
   * clients; requests without one share a single anonymous client
   */
  readonly client?: string;
}

/** A running or waiting sequence. Only the scheduler mutates it. */
/**
 * The output side of one sequence, shared by the local scheduler's Sequence and the pipeline's entry
 * sequence: UTF-8-safe detokenizing, stop strings, the token channel the client reads, counters and
 * the summary that resolves `done`.
 */
export class SequenceOutput {
  readonly channel = new TokenChannel<GeneratedPiece>();
  readonly done: Promise<SequenceSummary>;
  /** tokens generated so far */
  generated = 0;
  finished = false;
  admittedAt?: number;
  firstTokenAt?: number;

  private readonly decoder: StreamDecoder;
  private readonly stopMatcher: StopMatcher;
  private resolveDone!: (summary: SequenceSummary) => void;

  constructor(
    readonly id: number,
    readonly prompt: readonly number[],
    /** effective budget (already capped by the context) */
    readonly maxTokens: number,
    stop: readonly string[],
    protected readonly tokenizer: Tokenizer,
    readonly submittedAt: number,
  ) {
    this.decoder = tokenizer.createStreamDecoder();
    this.stopMatcher = new StopMatcher(stop);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** stop strings may end the sequence on text (the GPU cannot check them: its chunks stay short) */
  get hasStopStrings(): boolean {
    return this.stopMatcher.active;
  }

  /**
   * Counts and streams one generated token; returns true when it ended the sequence (end of generation,
   * a stop string, or the token budget). `now` is the clock in ms.
   */
  protected emit(token: number, now: number): boolean {
    this.generated++;
    this.firstTokenAt ??= now;
    if (this.tokenizer.isEndOfGeneration(token)) {
      this.finish("stop", now);
      return true;
    }
    const matched = this.stopMatcher.push(this.decoder.push(token));
    this.channel.push({ token, text: matched.text });
    if (matched.stopped) {
      this.finish("stop", now);
      return true;
    }
    if (this.generated >= this.maxTokens) {
      this.finish("length", now);
      return true;
    }
    return false;
  }

  /** Ends the sequence once: resolves `done` and closes (or fails) the channel. */
  finish(reason: SequenceEnd, now: number, error?: unknown): void {
    if (this.finished) return;
    this.finished = true;
    let tail = "";
    if (reason === "length" || (reason === "stop" && !this.stopMatcher.stopped)) {
      tail = this.stopMatcher.push(this.decoder.flush()).text + this.stopMatcher.flush();
    }
    const admitted = this.admittedAt ?? now;
    this.resolveDone({
      finishReason: reason,
      promptTokens: this.prompt.length,
      generatedTokens: this.generated,
      tail,
      queuedMs: admitted - this.submittedAt,
      firstTokenMs: this.firstTokenAt === undefined ? undefined : this.firstTokenAt - this.submittedAt,
      totalMs: now - this.submittedAt,
      error,
    });
    if (reason === "error") this.channel.fail(error);
    else this.channel.close();
  }
}

export class Sequence extends SequenceOutput {
  /** KV-cache slot while running, -1 otherwise */
  slot = -1;
  /** prompt tokens already in the cache */
  prefilled = 0;
  /** last sampled token, fed at the next step */
  lastToken = -1;
  /** set when the sequence must stop at the next step boundary */
  cancelled = false;

  private readonly sampler: Sampler;
  private readonly history: number[];

  constructor(
    id: number,
    prompt: readonly number[],
    /** effective budget (already capped by the context) */
    maxTokens: number,
    /** its sampling parameters, seed included */
    readonly params: SamplingParams,
    stop: readonly string[],
    tokenizer: Tokenizer,
    submittedAt: number,
  ) {
    super(id, prompt, maxTokens, stop, tokenizer, submittedAt);
    this.sampler = new Sampler(params, createRng(params.seed ?? 0));
    this.history = [...prompt];
  }

  /** Prompt fully in the cache: each step feeds one sampled token. */
  get decoding(): boolean {
    return this.prefilled === this.prompt.length;
  }

  /** Tokens waiting to be fed. */
  get pending(): number {
    return this.decoding ? 1 : this.prompt.length - this.prefilled;
  }

  /** Position of the next token fed (the cache holds positions 0 .. position-1). */
  get position(): number {
    return this.decoding ? this.history.length - 1 : this.prefilled;
  }

  /** Prompt and generated tokens so far. */
  get tokens(): readonly number[] {
    return this.history;
  }

  /** Positions this sequence holds in its KV slot. */
  get cachedTokens(): number {
    return this.decoding ? this.history.length - 1 : this.prefilled;
  }

  /**
   * Takes the logits of the next token, samples it and emits its text. Returns true when the sequence
   * has finished. `now` is the clock in ms.
   */
  accept(logits: Float32Array, now: number): boolean {
    return this.acceptToken(this.sampler.sample(logits, this.history), now);
  }

  /**
   * Takes a next token sampled elsewhere (on the GPU) and emits its text. Returns true when the
   * sequence has finished. `now` is the clock in ms.
   */
  acceptToken(token: number, now: number): boolean {
    this.history.push(token);
    if (this.emit(token, now)) return true;
    this.lastToken = token;
    return false;
  }
}
