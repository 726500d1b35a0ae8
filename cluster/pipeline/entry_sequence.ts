/**
 * One request's state at the entry node while its tokens come from a pipeline: the prompt, the tokens
 * already streamed to the client, the detokenizer and stop strings, and the route it currently runs on.
 *
 * Token handling mirrors the local scheduler's Sequence (src/engine/sequence.ts) step for step —
 * count, end on EOS/EOT, detokenize, match stop strings, end on the budget — so a request yields the
 * same pieces whether it ran locally or through a pipeline. What is added is what a replay needs: the
 * history (prompt + generated) and the number of RNG draws the last stage has made for it.
 *
 * @module
 */

import { DEFAULT_PENALTY_LAST_N, type SamplingParams } from "../../src/engine/sampler.ts";
import { SequenceOutput } from "../../src/engine/sequence.ts";
import type { Tokenizer } from "../../src/tokenizer/mod.ts";
import { FrameType, type OpenFrame, type TokenFrame, type WireDtype } from "./frames.ts";
import type { PipelineRoute } from "./route.ts";

/** What one accepted token did to the sequence. */
export type AcceptResult = "continue" | "finished";

/** A request being served through a pipeline. Only the PipelineEngine mutates it. */
export class EntrySequence extends SequenceOutput {
  /** prompt + tokens generated so far: what a replay prefills, and the penalties' history */
  readonly history: number[];
  /** RNG draws the last stage made: one per token when sampling is not greedy */
  draws = 0;
  /** the route it runs on now, and its sequence id there (0 while between routes) */
  route?: PipelineRoute;
  seqId = 0;
  /** node ids that failed this sequence: replays avoid them */
  readonly avoid = new Set<string>();
  failovers = 0;
  /** true while a failover is looking for a route */
  failingOver = false;
  /** the last stage of the current route feeds tokens to the first itself (OPEN feedUntil) */
  feeding = false;
  /** clock (ms) of the last token, or of the start of the current route */
  lastProgress: number;
  /** clock (ms) when the last failover began; cleared by the first token after it */
  failedAt?: number;

  constructor(
    id: number,
    prompt: readonly number[],
    /** effective budget (already capped by the context) */
    maxTokens: number,
    readonly sampling: SamplingParams & { readonly seed: number },
    stop: readonly string[],
    tokenizer: Tokenizer,
    submittedAt: number,
  ) {
    super(id, prompt, maxTokens, stop, tokenizer, submittedAt);
    this.history = [...prompt];
    this.lastProgress = submittedAt;
  }

  /** Position the next sampled token will take. */
  get nextPosition(): number {
    return this.history.length;
  }

  /**
   * Position of the last token this request can take: tokens sampled below it are fed back as decode
   * input (OPEN feedUntil), the one at it ends the budget.
   */
  get lastPosition(): number {
    return this.prompt.length + this.maxTokens - 1;
  }

  /**
   * The OPEN that starts this sequence (or its replay) on `route` under `seqId`: the route, our reply
   * id, the sampling parameters, the RNG draws already made and the history for the penalties; with
   * `feed`, the last stage feeds each token to the first itself, up to the budget.
   */
  openFrame(
    seqId: number,
    route: PipelineRoute,
    replyTo: string,
    wireDtype: WireDtype,
    feed = false,
  ): OpenFrame {
    const p = this.sampling;
    return {
      type: FrameType.Open,
      seqId,
      planEpoch: route.epoch,
      hop: 0,
      wireDtype,
      route: route.stages.map(({ start, end, embedding, head, address }) => ({
        start,
        end,
        embedding,
        head,
        address,
      })),
      replyTo,
      sampling: {
        temperature: p.temperature,
        topK: p.topK,
        topP: p.topP,
        minP: p.minP,
        repetitionPenalty: p.repetitionPenalty,
        frequencyPenalty: p.frequencyPenalty,
        presencePenalty: p.presencePenalty,
        penaltyLastN: p.penaltyLastN ?? DEFAULT_PENALTY_LAST_N,
        seed: p.seed,
      },
      drawsDone: this.draws,
      history: Int32Array.from(this.history),
      ...(feed && this.lastPosition > 0 ? { feedUntil: this.lastPosition } : {}),
    };
  }

  /**
   * The prompt — on a replay, prompt plus every token already streamed — as TOKEN frames of at most
   * `chunk` tokens for the first stage; the last one asks for a sample.
   */
  promptFrames(seqId: number, epoch: number, chunk: number): TokenFrame[] {
    const tokens = this.history;
    const frames: TokenFrame[] = [];
    for (let start = 0; start < tokens.length; start += chunk) {
      const end = Math.min(tokens.length, start + chunk);
      frames.push({
        type: FrameType.Token,
        seqId,
        planEpoch: epoch,
        chunk: frames.length,
        position: start,
        tokens: Int32Array.from(tokens.slice(start, end)),
        sample: end === tokens.length,
        reset: false,
      });
    }
    return frames;
  }

  /** Takes the next token from the last stage and streams its text. */
  accept(token: number, now: number): AcceptResult {
    if (this.sampling.temperature > 0) this.draws++;
    this.history.push(token);
    this.lastProgress = now;
    return this.emit(token, now) ? "finished" : "continue";
  }
}
