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
 * GPU sampling, steps fall back to reading the logits back and sampling on the CPU
 * (`cpu_step_sampler.ts`, which also takes greedy picks made on the backend).
 */
import { computeLogits, embedTokens, runLayers } from "../model/forward.ts";
import type { LoadedModel } from "./loaded_model.ts";
import { planStep } from "./batch_plan.ts";
import { CpuStepSampler } from "./cpu_step_sampler.ts";
import { eventLoopTurns } from "./event_loop_turn.ts";
import { type ChunkControl, GpuChunkDecoder, type GpuDecodeOptions } from "./gpu_chunk_decode.ts";
import { BLOCKING_DRAIN_MS, drainStreams } from "./stream_drain.ts";
import { FairQueue } from "./fair_queue.ts";
import { DrainingError, EngineError } from "./scheduler_errors.ts";
import { countGpuWork, gpuWork, type SchedulerStats, schedulerStats } from "./scheduler_stats.ts";
import { Sequence, type SequenceRequest } from "./sequence.ts";
import { type SequenceStream, sequenceStream } from "./sequence_stream.ts";
import { stepInputs } from "./step_inputs.ts";
import { validateRequest } from "./validate_request.ts";

export type { SchedulerStats } from "./scheduler_stats.ts";
export type { SequenceStream } from "./sequence_stream.ts";

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
/** Event-loop turns per yield: two, so that a response starts within a step or two under load (see
 * event_loop_turn.ts). */
const SERVING_TURNS = 2;

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
  /** the per-step path's sampling on the host, with its reused buffers (see cpu_step_sampler.ts) */
  private readonly cpu: CpuStepSampler;
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
    this.cpu = new CpuStepSampler(model.forward.backend, model.cfg.vocab);
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
    const sampling = validateRequest(request, this.model.ctx, this.model.cfg.vocab);
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
    const stream = sequenceStream(sequence, request.signal, () => this.cancel(sequence));
    this.wake?.();
    return stream;
  }

  /** Current gauges and counters. */
  stats(): SchedulerStats {
    return schedulerStats({
      queued: this.queue.size,
      active: this.active,
      slots: this.model.slots,
      ctx: this.model.ctx,
      draining: this.draining,
      counters: this.counters,
      io: this.io,
      chunks: this.gpu?.totals,
    });
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
          : eventLoopTurns(SERVING_TURNS));
        lastTurn = this.now();
      }
    }
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
    const { tokens, slot, pos, rows, emitting, decodeTokens, prefillTokens } = stepInputs(batch, plan);
    this.counters.decodeTokens += decodeTokens;
    this.counters.prefillTokens += prefillTokens;
    const { forward } = this.model;
    const before = this.gpu && gpuWork(forward.backend);
    embedTokens(forward, tokens);
    runLayers(forward, plan.tokens, { slot, pos });
    // the cache now holds the fed tokens: advance prefill before the await, so stats stay exact
    for (const entry of plan.entries) {
      const s = batch[entry.index];
      if (!s.decoding) s.prefilled += entry.count;
    }
    this.counters.steps++;
    if (emitting.length === 0) return countGpuWork(this.io, forward.backend, before);
    if (gpu) {
      // sampled on the GPU too, so a sequence draws the same tokens here as in the decode chunks
      const ids = await gpu.sampleStep(computeLogits(forward, rows), emitting);
      countGpuWork(this.io, forward.backend, before);
      const now = this.now();
      emitting.forEach((s, i) => {
        if (s.cancelled || s.finished) return;
        s.acceptToken(ids[i], now);
        this.io.generatedTokens++;
      });
      return;
    }
    const logitsTensor = computeLogits(forward, rows);
    if (!before && this.cpu.greedy(logitsTensor, emitting, this.now, this.io)) return;
    const logits = await this.cpu.read(logitsTensor, emitting.length);
    if (before) countGpuWork(this.io, forward.backend, before);
    else this.io.readbacks++;
    this.cpu.accept(logits, emitting, this.now(), this.io);
  }
}

function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}
