/**
 * Continuous batching on one loaded model.
 *
 * Requests wait in a bounded queue that is fair between clients (`fair_queue.ts`): each request carries
 * an optional `client` key (the API uses the API key, else the OpenAI `user`, else the remote address),
 * and when a KV-cache slot is free (one slot per sequence is its KV memory) the oldest request of the
 * client served least recently is admitted — round-robin across clients, FIFO within one — so a burst
 * from one client does not make a later client wait behind all of it. Requests without a key share
 * the client {@link ANONYMOUS_CLIENT}, so a scheduler used without keys is a plain FIFO. The engine loop then runs steps: each step feeds one token of every
 * decoding sequence plus prefill chunks of newcomers (see `batch_plan.ts`) through ONE forward pass —
 * `embedTokens` → `runLayers` → `computeLogits` with one output row per sequence that needs a next token —
 * so the weights are read once per step for the whole batch. Finished and cancelled sequences leave at
 * the step boundary and their slot goes to the next in the queue; nobody waits for a batch to "finish".
 *
 * Determinism: a sequence's tokens depend only on its own prompt, seed and KV slot, never on its
 * batch-mates, because every op computes each token row on its own. On the reference backend batched and
 * solo runs are bit-identical; a fast backend whose kernels vary the summation order with the batch size
 * may differ in the last float bits, which can flip a greedy choice between two near-equal logits — the
 * conformance tolerance (ARCHITECTURE.md) bounds that difference.
 *
 * The loop gives the event loop a turn at least every `yieldEveryMs` of compute (by default after every
 * step), so HTTP requests, socket writes and client disconnects are handled while generation runs.
 *
 * On the WebGPU backend sampling runs on the GPU (`gpu_chunk_decode.ts`), because a readback costs at
 * least ~10 ms in Deno: steps with prefill read back only the sampled ids, and while every running
 * sequence decodes the batch runs in chunks of steps with one readback per chunk; the chunk session
 * ends at the boundary where a sequence finishes or is cancelled (its slot is freed there) or a
 * waiting request can be admitted. A sequence draws token j with seed + j, so its tokens do not
 * depend on its batch-mates or on when chunks end. If some running sequence's parameters are beyond
 * GPU sampling, steps fall back to reading the logits back and sampling on the CPU.
 */
import type { Tensor } from "../backend/backend.ts";
import type { WebGpuBackend } from "../backend/webgpu/webgpu_backend.ts";
import { computeLogits, embedTokens, runLayers } from "../model/forward.ts";
import { ContextOverflowError, type GeneratedPiece } from "./generate.ts";
import type { LoadedModel } from "./loaded_model.ts";
import { planStep } from "./batch_plan.ts";
import { eventLoopTurn } from "./event_loop_turn.ts";
import { type ChunkControl, GpuChunkDecoder, type GpuDecodeOptions } from "./gpu_chunk_decode.ts";
import { BLOCKING_DRAIN_MS, drainStreams } from "./stream_drain.ts";
import {
  defaultSamplingParams,
  isPlainGreedy,
  type SamplingParams,
  validateSamplingParams,
} from "./sampler.ts";
import { FairQueue } from "./fair_queue.ts";
import { DrainingError, EngineError } from "./scheduler_errors.ts";
import { Sequence, type SequenceRequest, type SequenceSummary } from "./sequence.ts";

/** Options of a {@link Scheduler}. */
export interface SchedulerOptions {
  /** requests allowed to wait for a slot beyond the free ones; more → QueueFullError */
  readonly queueSize: number;
  /**
   * requests one client may have waiting beyond the free slots; more → ClientQueueFullError (a
   * QueueFullError). Default `queueSize`: no stricter than the total, because clients without a key
   * share one anonymous client and a lower bound would refuse them all together. Set it lower when
   * clients are keyed (API keys) so one client cannot fill the whole queue.
   */
  readonly clientQueueSize?: number;
  /** most prefill tokens per step while other sequences decode */
  readonly prefillChunk: number;
  /** longest compute stretch between event-loop turns, ms (default {@link DEFAULT_YIELD_EVERY_MS}) */
  readonly yieldEveryMs?: number;
  /** clock in ms (default performance.now) */
  readonly now?: () => number;
  /** seed for requests without one (default: crypto random) */
  readonly randomSeed?: () => number;
  /**
   * on the WebGPU backend, sample on the GPU and decode in chunks with one readback per chunk (default
   * true, or its knobs); false reads the logits back every step and samples on the CPU (the baseline
   * of bench/serve)
   */
  readonly gpuDecode?: boolean | GpuDecodeOptions;
}

/** Client key of requests that carry none: they share one round-robin turn. */
export const ANONYMOUS_CLIENT = "";

/** Longest stretch of engine compute before the event loop gets a turn, ms. A turn costs about 20–40 µs
 * (see event_loop_turn.ts), so the default gives one after every step. */
export const DEFAULT_YIELD_EVERY_MS = 0;

/** A submitted request: its pieces as they are generated, and its summary at the end. */
export interface SequenceStream extends AsyncIterable<GeneratedPiece> {
  readonly id: number;
  readonly promptTokens: number;
  /** resolves when the sequence ends, however it ends (never rejects) */
  readonly done: Promise<SequenceSummary>;
  /** Cancels the sequence (same as aborting the request's signal). */
  cancel(): void;
}

/** Gauges and counters of the scheduler. */
export interface SchedulerStats {
  readonly queued: number;
  readonly active: number;
  readonly slots: number;
  /** KV positions in use over all slots, and the total */
  readonly kvTokens: number;
  readonly kvCapacity: number;
  readonly steps: number;
  readonly prefillTokens: number;
  readonly decodeTokens: number;
  readonly draining: boolean;
  /** tokens generated by all sequences (each streamed token, and the end-of-generation ones) */
  readonly generatedTokens?: number;
  /** host waits on device results: one per step that samples on the CPU, one per GPU decode chunk */
  readonly readbacks?: number;
  /** GPU queue submissions by the engine (WebGPU only; 0 elsewhere) */
  readonly submits?: number;
  /** readbacks / generated tokens, submits / generated tokens (0 before any token) */
  readonly readbacksPerToken?: number;
  readonly submitsPerToken?: number;
  /** decode chunks run GPU-resident (WebGPU), one readback each */
  readonly gpuChunks?: number;
}

/**
 * Runs many sequences on one model with continuous batching.
 *
 * @example
 * ```ts
 * const model = await loadModel(path, createReferenceBackend(), { slots: 8, maxBatch: 64 });
 * const scheduler = new Scheduler(model, { queueSize: 32, prefillChunk: 32 });
 * const stream = scheduler.submit({ prompt: model.tokenizer.encode("Hi"), maxTokens: 16,
 *   sampling: { ...defaultSamplingParams(), seed: 1 }, client: "alice" });
 * for await (const piece of stream) console.log(piece.text);
 * console.log((await stream.done).finishReason);
 * await scheduler.close();
 * ```
 */
export class Scheduler {
  private readonly queue = new FairQueue<Sequence>();
  private readonly active: Sequence[] = [];
  private readonly freeSlots: number[];
  private readonly now: () => number;
  private readonly yieldEveryMs: number;
  private nextId = 1;
  private wake?: () => void;
  private stepping = false;
  private draining = false;
  private closed = false;
  private readonly loopDone: Promise<void>;
  private counters = { steps: 0, prefillTokens: 0, decodeTokens: 0 };
  private io = { generatedTokens: 0, readbacks: 0, submits: 0 };
  /** the per-step path's logits, reused every step (a fresh MB-sized array per step costs page faults) */
  private logitsBuffer = new Float32Array(0);
  /** the greedy picks of the per-step path (see greedyStep), reused every step */
  private greedyIds = new Int32Array(0);
  /** GPU-resident sampling and decode chunks, on the WebGPU backend (see gpu_chunk_decode.ts) */
  private readonly gpu?: GpuChunkDecoder;
  private readonly chunkControl: ChunkControl = {
    interrupted: () => this.queue.size > 0 && this.freeSlots.length > 0,
    waiting: () => this.queue.size > 0,
    now: () => this.now(),
  };

  constructor(readonly model: LoadedModel, private readonly options: SchedulerOptions) {
    if (model.forward.ws.maxBatch < model.slots) {
      throw new RangeError(`maxBatch ${model.forward.ws.maxBatch} must be at least slots ${model.slots}`);
    }
    this.freeSlots = Array.from({ length: model.slots }, (_, i) => model.slots - 1 - i);
    this.now = options.now ?? (() => performance.now());
    this.yieldEveryMs = options.yieldEveryMs ?? DEFAULT_YIELD_EVERY_MS;
    const gpuDecode = options.gpuDecode ?? true;
    this.gpu = gpuDecode === false
      ? undefined
      : GpuChunkDecoder.create(model.forward, model.slots, gpuDecode === true ? {} : gpuDecode);
    this.loopDone = this.loop();
  }

  /**
   * Queues a request. Throws ContextOverflowError (prompt does not fit), QueueFullError, DrainingError,
   * SamplerError (bad parameters) or RangeError (empty prompt, token id outside the vocabulary).
   */
  submit(request: SequenceRequest): SequenceStream {
    if (this.draining || this.closed) throw new DrainingError();
    const { prompt } = request;
    if (prompt.length === 0) throw new RangeError("the prompt must have at least one token");
    if (prompt.length >= this.model.ctx) throw new ContextOverflowError(prompt.length, this.model.ctx);
    const vocab = this.model.cfg.vocab;
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
    if (request.signal?.aborted) throw request.signal.reason ?? new DOMException("aborted", "AbortError");
    const seed = sampling.seed ?? (this.options.randomSeed ?? randomSeed)();
    const maxTokens = Math.min(request.maxTokens, this.model.ctx - prompt.length);
    const sequence = new Sequence(
      this.nextId++,
      prompt,
      maxTokens,
      { ...sampling, seed },
      request.stop ?? [],
      this.model.tokenizer,
      this.now(),
    );
    // free slots count as room: whatever waits now is admitted at the next loop turn
    const free = this.freeSlots.length;
    this.queue.push(request.client ?? ANONYMOUS_CLIENT, sequence, {
      total: free + this.options.queueSize,
      perClient: free + (this.options.clientQueueSize ?? this.options.queueSize),
    });
    const cancel = () => this.cancel(sequence);
    request.signal?.addEventListener("abort", cancel, { once: true });
    sequence.done.then(() => request.signal?.removeEventListener("abort", cancel));
    this.wake?.();
    const channel = sequence.channel;
    return {
      id: sequence.id,
      promptTokens: prompt.length,
      done: sequence.done,
      cancel,
      [Symbol.asyncIterator]: () => channel[Symbol.asyncIterator](),
    };
  }

  /** Current gauges and counters. */
  stats(): SchedulerStats {
    const chunks = this.gpu?.totals;
    const generated = this.io.generatedTokens + (chunks?.tokens ?? 0);
    const readbacks = this.io.readbacks + (chunks?.readbacks ?? 0);
    const submits = this.io.submits + (chunks?.submits ?? 0);
    return {
      queued: this.queue.size,
      active: this.active.length,
      slots: this.model.slots,
      kvTokens: this.active.reduce((sum, s) => sum + s.cachedTokens, 0),
      kvCapacity: this.model.slots * this.model.ctx,
      // GPU decode chunks count live, so the figures are current when a stream ends mid-session
      steps: this.counters.steps + (chunks?.steps ?? 0),
      prefillTokens: this.counters.prefillTokens,
      decodeTokens: this.counters.decodeTokens + (chunks?.tokens ?? 0),
      draining: this.draining,
      generatedTokens: generated,
      readbacks,
      submits,
      readbacksPerToken: readbacks / Math.max(1, generated),
      submitsPerToken: submits / Math.max(1, generated),
      gpuChunks: chunks?.chunks ?? 0,
    };
  }

  /**
   * Stops accepting requests (submit throws DrainingError), lets running and queued sequences finish for
   * up to `graceMs`, then cancels what is left and stops the loop.
   */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    const deadline = this.now() + graceMs;
    while ((this.active.length > 0 || this.queue.size > 0) && this.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, Math.max(1, deadline - this.now()))));
    }
    await this.close();
  }

  /** Cancels every sequence and stops the engine loop. The model stays loaded (the caller closes it). */
  async close(): Promise<void> {
    this.draining = true;
    this.closed = true;
    for (const s of [...this.queue.values(), ...this.active]) this.cancel(s);
    this.wake?.();
    await this.loopDone;
    this.gpu?.dispose();
  }

  private cancel(sequence: Sequence): void {
    if (sequence.finished) return;
    if (this.queue.remove(sequence)) {
      sequence.finish("cancelled", this.now());
      return;
    }
    sequence.cancelled = true;
    // outside a step the slot is freed now; during one, at its end (the step may be writing that slot)
    if (!this.stepping) this.sweep();
  }

  /** Removes finished and cancelled sequences from the batch and frees their slots. */
  private sweep(): void {
    for (let i = this.active.length - 1; i >= 0; i--) {
      const s = this.active[i];
      if (!s.finished && !s.cancelled) continue;
      if (!s.finished) s.finish("cancelled", this.now());
      this.active.splice(i, 1);
      this.freeSlots.push(s.slot);
      s.slot = -1;
      this.gpu?.release(s);
    }
  }

  private admit(): void {
    while (this.queue.size > 0 && this.freeSlots.length > 0) {
      const s = this.queue.shift()!;
      s.slot = this.freeSlots.pop()!;
      s.admittedAt = this.now();
      this.gpu?.attach(s);
      this.active.push(s);
    }
  }

  private async loop(): Promise<void> {
    let lastTurn = this.now();
    for (;;) {
      this.sweep();
      this.admit();
      if (this.active.length === 0) {
        if (this.closed) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        lastTurn = this.now();
        continue;
      }
      this.stepping = true;
      try {
        await this.step();
      } catch (error) {
        const failure = new EngineError(`engine step failed: ${(error as Error)?.message ?? error}`, {
          cause: error,
        });
        for (const s of this.active) s.finish("error", this.now(), failure);
      } finally {
        this.stepping = false;
      }
      this.sweep(); // cancelled during the step: free their slots now, before any wait
      if (this.now() - lastTurn >= this.yieldEveryMs) {
        // GPU steps hand out tokens in bursts (and take ≥ 10 ms each): let the readers catch up
        await (this.gpu
          ? drainStreams(this.active, this.now, this.gpu.submitBlocks ? BLOCKING_DRAIN_MS : 0)
          : eventLoopTurn());
        lastTurn = this.now();
      }
    }
  }

  /** Adds the readbacks and submits since `before` (WebGPU) to the per-step path's counters. */
  private countGpuWork(before?: { readbacks: number; submits: number }): void {
    if (!before) return;
    const after = this.gpuStats();
    this.io.readbacks += after.readbacks - before.readbacks;
    this.io.submits += after.submits - before.submits;
  }

  /** The WebGPU backend's readback and submit counters. */
  private gpuStats(): { readbacks: number; submits: number } {
    const { readbacks, submits } = (this.model.forward.backend as WebGpuBackend).stats;
    return { readbacks, submits };
  }

  /**
   * Emits the step's tokens from greedy picks made on the backend (wasm: `greedyRows`), so the host reads
   * back one id per sequence instead of a vocabulary of logits (scanning 32000 logits in JS takes ~25 µs
   * per sequence, a 5 % share of an 8-sequence step). False, having done nothing, when the backend has no
   * such op, a sequence samples otherwise, or a row has nothing to pick (the sampler then reports it).
   */
  private greedyStep(logits: Tensor, emitting: Sequence[]): boolean {
    const backend = this.model.forward.backend;
    if (!backend.greedyRows || !emitting.every((s) => isPlainGreedy(s.params))) return false;
    if (this.greedyIds.length < emitting.length) this.greedyIds = new Int32Array(emitting.length);
    const ids = backend.greedyRows(logits, emitting.length, this.model.cfg.vocab, this.greedyIds);
    for (let i = 0; i < emitting.length; i++) if (ids[i] < 0) return false;
    this.io.readbacks++;
    const now = this.now();
    emitting.forEach((s, i) => {
      if (s.cancelled || s.finished) return;
      this.io.generatedTokens++;
      s.acceptToken(ids[i], now);
    });
    return true;
  }

  /**
   * One engine step over every running sequence; on the WebGPU backend, when every running sequence
   * decodes, a session of GPU-resident decode chunks instead (it returns when the batch must change).
   */
  private async step(): Promise<void> {
    const batch = this.active.filter((s) => !s.cancelled && !s.finished);
    const gpu = this.gpu && batch.every((s) => this.gpu!.supports(s.params)) ? this.gpu : undefined;
    if (gpu && batch.length > 0 && batch.every((s) => s.decoding)) {
      await gpu.runChunks(batch, this.chunkControl); // counts into gpu.totals
      return;
    }
    const plan = planStep(batch, {
      maxBatch: this.model.forward.ws.maxBatch,
      prefillChunk: this.options.prefillChunk,
    });
    if (plan.tokens === 0) return;
    const tokens = new Int32Array(plan.tokens);
    const slot = new Int32Array(plan.tokens);
    const pos = new Int32Array(plan.tokens);
    const rows = new Int32Array(plan.outputs);
    const emitting: Sequence[] = [];
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
      if (s.decoding) this.counters.decodeTokens += entry.count;
      else this.counters.prefillTokens += entry.count;
    }
    const { forward } = this.model;
    const before = this.gpu && this.gpuStats();
    embedTokens(forward, tokens);
    runLayers(forward, plan.tokens, { slot, pos });
    // the cache now holds the fed tokens: advance prefill before the await, so stats stay exact
    for (const entry of plan.entries) {
      const s = batch[entry.index];
      if (!s.decoding) s.prefilled += entry.count;
    }
    this.counters.steps++;
    if (emitting.length === 0) return this.countGpuWork(before);
    if (gpu) {
      // sampled on the GPU too, so a sequence draws the same tokens here as in the decode chunks
      const ids = await gpu.sampleStep(computeLogits(forward, rows), emitting);
      this.countGpuWork(before);
      const now = this.now();
      emitting.forEach((s, i) => {
        if (s.cancelled || s.finished) return;
        s.acceptToken(ids[i], now);
        this.io.generatedTokens++;
      });
      return;
    }
    const vocab = this.model.cfg.vocab;
    const logitsTensor = computeLogits(forward, rows);
    if (!before && this.greedyStep(logitsTensor, emitting)) return;
    const length = emitting.length * vocab;
    if (this.logitsBuffer.length < length) this.logitsBuffer = new Float32Array(length);
    const logits = await forward.backend.read(logitsTensor, length, this.logitsBuffer);
    if (before) this.countGpuWork(before);
    else this.io.readbacks++;
    const now = this.now();
    emitting.forEach((s, i) => {
      if (s.cancelled || s.finished) return;
      this.io.generatedTokens++;
      try {
        s.accept(logits.subarray(i * vocab, (i + 1) * vocab), now);
      } catch (error) {
        s.finish(
          "error",
          now,
          new EngineError(`sampling failed: ${(error as Error)?.message ?? error}`, { cause: error }),
        );
      }
    });
  }
}

function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}
