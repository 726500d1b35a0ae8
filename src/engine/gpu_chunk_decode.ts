/**
 * The scheduler's GPU-resident decode: on the WebGPU backend, a batch of decoding sequences runs in
 * chunks of K steps with one readback per chunk, instead of one logits readback per step.
 *
 * Why: in Deno 2.9.6 `mapAsync` never resolves in less than ~10 ms, so a readback per step caps a node
 * near 90 steps/s whatever the GPU. Here, per step of a chunk and for the B rows of the batch:
 *
 *   embed stepIds[t−1][0..B) → layers (row i: its slot, its position) → logits [B, vocab]
 *     → row i sampled with its own options and seed into stepIds[t][i]
 *
 * and after K steps one readback of stepIds[0..K)[0..B), K·B tokens. The first step of a session
 * embeds the sequences' last tokens from the host; later chunks embed the previous chunk's last ids
 * straight from the GPU, so the next chunk is recorded and submitted before the current one's readback
 * is awaited (the step ids are double-buffered: two halves of [maxChunk, slots] ids). Not on adapters
 * whose submit runs the work before returning (lavapipe, measured per chunk): there it would only
 * delay each chunk's tokens by the next chunk, and the event loop is frozen meanwhile, so after each
 * chunk the readers get a moment to write the tokens out (stream_drain.ts).
 *
 * - Sampling follows gpu_decode.ts: generated token j of a sequence draws with seed + j (its j, not the
 *   step's), sampled as row 0 of a copy of its logits row, so a sequence draws the same tokens alone or
 *   batched, and the same as `decodeOnGpu`. Sequences with penalties keep their [prompt, generated] ids
 *   in their own GPU buffer (the penalties' window) and draw into it and into the step ids.
 * - A session runs while the batch is unchanged. Before each chunk is launched it stops launching when
 *   a sequence has finished or been cancelled, or a newcomer can be admitted; the chunk in flight is
 *   then drained (its tokens of the finished ones discarded) and the scheduler sweeps, admits and
 *   prefills with its per-step path. Chunks never run a sequence past its token budget, hence never
 *   past its context; a stop token or stop string ends a sequence at its chunk and the rest is dropped.
 * - Chunk sizes come from chunk_size.ts with the time per step measured for this batch size; they stay
 *   short while stop strings may end a sequence or while requests wait for a slot.
 *
 * @example
 * ```ts
 * const gpu = GpuChunkDecoder.create(model.forward, model.slots);
 * if (gpu && batch.every((s) => s.decoding && gpu.supports(s.params))) {
 *   await gpu.runChunks(batch, { interrupted: () => false, waiting: () => false, now: performance.now });
 * }
 * ```
 */
import type { Tensor } from "../backend/backend.ts";
import { chooseChunkSize, DEFAULT_MAX_CHUNK } from "../backend/webgpu/chunk_size.ts";
import {
  type DecodeRow,
  type IdTarget,
  recordDecodeStep,
  recordRowSampling,
  samplingAt,
} from "../backend/webgpu/gpu_decode.ts";
import type { GpuTokenIds } from "../backend/webgpu/gpu_resources.ts";
import { checkSampleOptions, type GpuSampleOptions } from "../backend/webgpu/gpu_sampling.ts";
import type { WebGpuBackend } from "../backend/webgpu/webgpu_backend.ts";
import type { ForwardContext } from "../model/forward.ts";
import { DEFAULT_PENALTY_LAST_N, type SamplingParams } from "./sampler.ts";
import type { Sequence } from "./sequence.ts";
import { BLOCKING_DRAIN_MS, drainStreams } from "./stream_drain.ts";

/** What a chunk session asks the scheduler between chunks. */
export interface ChunkControl {
  /** the batch should change at the next chunk boundary (a newcomer can be admitted): stop launching */
  interrupted(): boolean;
  /** requests wait for a slot that only a finishing sequence frees: keep chunks short */
  waiting(): boolean;
  /** clock, ms */
  now(): number;
}

/** Knobs of the GPU-resident decode. */
export interface GpuDecodeOptions {
  /** most steps per chunk (default {@link DEFAULT_MAX_CHUNK}): bounds the steps discarded after a stop */
  readonly maxChunk?: number;
  /**
   * whether the next chunk is recorded before the current one's readback is awaited: "measured"
   * (default) unless the last submit ran the work itself (software adapters), or always, or never
   */
  readonly overlap?: "measured" | "always" | "never";
}

/** Counters of the GPU-resident decode. */
export interface GpuChunkTotals {
  /** chunks launched (one readback each) */
  chunks: number;
  /** decode steps run, those discarded after a stop included */
  steps: number;
  /** tokens sampled on the GPU and accepted by their sequence */
  tokens: number;
  /** host readbacks and GPU queue submits of the chunks (the backend's counters over them) */
  readbacks: number;
  submits: number;
}

/**
 * Share of a chunk's time (launch to readback) above which its launch — recording and submit — is taken
 * to have run the GPU work itself, as lavapipe's submit does: recording the next chunk before awaiting
 * then only delays the tokens (they reach the host after the next chunk has run too).
 */
const SUBMIT_BLOCKS_SHARE = 0.5;

/** A launched chunk: its readback, steps, and when and how long it took to launch (ms). */
interface Chunk {
  readonly read: Promise<Int32Array>;
  readonly steps: number;
  readonly launchedAt: number;
  readonly submitMs: number;
  /** the session's first chunk, never overlapped: its tokens stream out after its own steps */
  readonly first: boolean;
}

/** GPU state of one sequence: its penalty window, when it has penalties. */
interface GpuSequence {
  /** [prompt, generated] ids: maxTokens + prompt.length u32 */
  readonly history?: GpuTokenIds;
  /** ids of `history` written so far (the rest come from the host when the CPU sampled them) */
  written: number;
}

/** The CPU sampler's parameters as GPU sampling options. */
function gpuOptions(p: SamplingParams): GpuSampleOptions {
  return {
    temperature: p.temperature,
    topK: p.topK,
    topP: p.topP,
    minP: p.minP,
    repetitionPenalty: p.repetitionPenalty,
    frequencyPenalty: p.frequencyPenalty,
    presencePenalty: p.presencePenalty,
  };
}

function penalized(p: SamplingParams): boolean {
  const active = p.repetitionPenalty !== 1 || p.frequencyPenalty !== 0 || p.presencePenalty !== 0;
  return active && (p.penaltyLastN ?? DEFAULT_PENALTY_LAST_N) !== 0;
}

/**
 * Samples and decodes batches of scheduler sequences on the GPU. One per scheduler; it holds the step
 * ids ([2, maxChunk, slots] u32), a scratch logits row and each penalized sequence's window.
 */
export class GpuChunkDecoder {
  readonly totals: GpuChunkTotals = { chunks: 0, steps: 0, tokens: 0, readbacks: 0, submits: 0 };
  private readonly backend: WebGpuBackend;
  private readonly stepIds: GpuTokenIds;
  private readonly halfLength: number;
  private readonly scratch: Tensor; // [vocab] f32: row i > 0 of the logits, sampled as row 0
  private readonly states = new Map<Sequence, GpuSequence>();
  /** measured time per decode step by batch size, ms */
  private readonly stepMs = new Map<number, number>();
  /**
   * the last chunk's submit ran its work before returning (software adapters): no overlap, and the
   * readers get a little time before each launch. Assumed until measured.
   */
  private blocking = true;

  /** Whether submits run the GPU work before returning, as measured on the last chunk. */
  get submitBlocks(): boolean {
    return this.blocking;
  }

  private constructor(
    private readonly ctx: ForwardContext,
    private readonly slots: number,
    private readonly maxChunk: number,
    private readonly overlapMode: NonNullable<GpuDecodeOptions["overlap"]>,
  ) {
    this.backend = ctx.backend as WebGpuBackend;
    this.halfLength = maxChunk * slots;
    this.stepIds = this.backend.createTokenIds(2 * this.halfLength);
    this.scratch = this.backend.alloc(ctx.cfg.vocab);
  }

  /**
   * The decoder of a model on the WebGPU backend holding the whole model (embedding and output head),
   * or undefined (other backends, pipeline shares): then the scheduler samples on the CPU.
   */
  static create(
    ctx: ForwardContext,
    slots: number,
    options: GpuDecodeOptions = {},
  ): GpuChunkDecoder | undefined {
    const b = ctx.backend as Partial<WebGpuBackend>;
    if (
      b.name !== "webgpu" || typeof b.sampleTokens !== "function" || typeof b.embedTokenIds !== "function"
    ) {
      return undefined;
    }
    if (!ctx.weights.tokenEmbedding || !ctx.weights.output) return undefined;
    const maxChunk = Math.max(1, Math.floor(options.maxChunk ?? DEFAULT_MAX_CHUNK));
    return new GpuChunkDecoder(ctx, slots, maxChunk, options.overlap ?? "measured");
  }

  /** Whether GPU sampling implements these parameters (else the scheduler samples on the CPU). */
  supports(params: SamplingParams): boolean {
    try {
      checkSampleOptions(gpuOptions(params));
      return true;
    } catch {
      return false;
    }
  }

  /** Sets up a newly admitted sequence (its penalty window, when it has penalties). */
  attach(s: Sequence): void {
    if (!penalized(s.params) || !this.supports(s.params)) {
      this.states.set(s, { written: 0 });
      return;
    }
    const history = this.backend.createTokenIds(s.prompt.length + s.maxTokens);
    this.backend.writeTokenIds(history, 0, Int32Array.from(s.prompt));
    this.states.set(s, { history, written: s.prompt.length });
  }

  /** Frees a sequence's GPU state; call once no unsubmitted work uses it (after its last step). */
  release(s: Sequence): void {
    const state = this.states.get(s);
    this.states.delete(s);
    if (state?.history) this.backend.destroyTokenIds(state.history);
  }

  /**
   * Samples each emitting sequence's next token from its row of `logits` [emitting.length, vocab] and
   * reads the ids back (one readback): the scheduler's per-step path (prefill steps) on the GPU.
   */
  sampleStep(logits: Tensor, emitting: readonly Sequence[]): Promise<Int32Array> {
    this.syncHistories(emitting);
    const rows = emitting.map((s, i) =>
      this.row(s, s.generated, s.position, { ids: this.stepIds, offset: i })
    );
    recordRowSampling(this.backend, logits, rows, this.ctx.cfg.vocab, this.scratch);
    for (const s of emitting) {
      const state = this.states.get(s);
      if (state?.history) state.written++; // the draw lands in the window as well
    }
    return this.backend.readTokenIds(this.stepIds, emitting.length, 0);
  }

  /**
   * Decodes `batch` (every sequence decoding, unfinished, supported, at most `slots` of them) in
   * chunks until one of them ends, is cancelled, runs out of budget, or `control` interrupts; each
   * token is accepted by its sequence (streamed) as its chunk is read back. On return nothing of the
   * session is in flight.
   */
  async runChunks(batch: readonly Sequence[], control: ChunkControl): Promise<void> {
    const n = batch.length;
    if (n === 0) return;
    if (n > this.slots) throw new RangeError(`a GPU decode batch holds at most ${this.slots} rows, got ${n}`);
    // launch cursors: the next token index to draw and the position it is fed at, per row
    const sampled = batch.map((s) => s.generated);
    const position = batch.map((s) => s.position);
    const mayStopEarly = batch.some((s) => s.hasStopStrings);
    let half = 0;
    let lastIds = 0; // stepIds offset of the ids the last launched step drew
    const launch = (steps: number, input: IdTarget | Int32Array): Promise<Int32Array> => {
      const at = half * this.halfLength;
      for (let t = 0; t < steps; t++) {
        const rows = batch.map((s, i) =>
          this.row(s, sampled[i] + t, position[i] + t, { ids: this.stepIds, offset: at + t * n + i })
        );
        const fed = t === 0 ? input : { ids: this.stepIds, offset: at + (t - 1) * n };
        recordDecodeStep(this.ctx, fed, rows, this.scratch);
      }
      for (let i = 0; i < n; i++) {
        sampled[i] += steps;
        position[i] += steps;
      }
      lastIds = at + (steps - 1) * n;
      half ^= 1;
      this.totals.chunks++;
      this.totals.steps += steps;
      return this.backend.readTokenIds(this.stepIds, steps * n, at);
    };
    const chunkSize = (first: boolean) => {
      const stepMs = this.stepMs.get(n);
      return chooseChunkSize({
        stepMs,
        remaining: Math.min(...batch.map((s, i) => s.maxTokens - sampled[i])),
        maxChunk: this.maxChunk,
        mayStopEarly,
        first: first && stepMs === undefined,
        waiting: control.waiting(),
      });
    };
    const changed = () => batch.some((s) => s.finished || s.cancelled) || control.interrupted();
    /** Launches a chunk, timing its recording and submit. */
    const timed = (steps: number, input: IdTarget | Int32Array, first: boolean): Chunk => {
      const launchedAt = control.now();
      const read = launch(steps, input);
      return { read, steps, launchedAt, submitMs: control.now() - launchedAt, first };
    };
    const launchNext = (): Chunk | undefined => {
      const steps = changed() ? 0 : chunkSize(false);
      return steps > 0 ? timed(steps, { ids: this.stepIds, offset: lastIds }, false) : undefined;
    };

    this.syncHistories(batch);
    const firstSteps = chunkSize(true);
    if (firstSteps === 0) return;
    // the short first chunk is not overlapped: its tokens stream out after its own steps
    let inFlight: Chunk | undefined = timed(firstSteps, Int32Array.from(batch, (s) => s.lastToken), true);
    let lastRead = 0;
    let counted = { ...this.backend.stats };
    const countGpuWork = () => {
      const stats = this.backend.stats;
      this.totals.readbacks += stats.readbacks - counted.readbacks;
      this.totals.submits += stats.submits - counted.submits;
      counted = { ...stats };
    };
    try {
      while (inFlight) {
        const current: Chunk = inFlight;
        // record and submit the next chunk before waiting on this one (unless the batch must change or
        // submits run the work synchronously): the GPU works while the host waits on the readback
        inFlight = !current.first && this.overlaps() ? launchNext() : undefined;
        const ids = await current.read;
        countGpuWork(); // before the tokens: the figures are current when a stream ends
        const now = control.now();
        // back to back, a chunk's GPU time runs from the previous readback; alone, from its launch
        const chunkMs = now - Math.max(lastRead, current.launchedAt);
        lastRead = now;
        this.stepMs.set(n, chunkMs / current.steps);
        // a submit that took most of the chunk's time ran the work itself (a software adapter)
        this.blocking = current.submitMs > SUBMIT_BLOCKS_SHARE * (now - current.launchedAt);
        for (let t = 0; t < current.steps; t++) {
          batch.forEach((s, i) => {
            if (s.finished || s.cancelled) return; // finished in an earlier step: overshoot, dropped
            s.acceptToken(ids[t * n + i], now);
            this.totals.tokens++;
          });
        }
        for (const s of batch) {
          const state = this.states.get(s);
          if (state?.history) state.written = s.tokens.length; // drawn into the window on the GPU
        }
        // the streamed tokens reach their sockets, cancels and new requests are seen
        await drainStreams(batch, control.now, this.submitBlocks ? BLOCKING_DRAIN_MS : 0);
        inFlight ??= launchNext();
      }
    } finally {
      await inFlight?.read.catch(() => {}); // a discarded chunk's readback ends before anyone reuses its ids
      countGpuWork();
    }
  }

  /** Whether to record the next chunk before awaiting the current one's readback. */
  private overlaps(): boolean {
    return this.overlapMode === "measured" ? !this.blocking : this.overlapMode === "always";
  }

  /** Releases every sequence's state and the decoder's own buffers (the backend frees the scratch). */
  dispose(): void {
    for (const s of [...this.states.keys()]) this.release(s);
    this.backend.destroyTokenIds(this.stepIds);
  }

  /** The sampling row of generated token `j` of `s`, fed at `pos`, drawn into `target`. */
  private row(s: Sequence, j: number, pos: number, target: IdTarget): DecodeRow {
    const history = this.states.get(s)?.history;
    const base = s.prompt.length;
    const lastN = s.params.penaltyLastN ?? DEFAULT_PENALTY_LAST_N;
    const sampling = samplingAt(
      gpuOptions(s.params),
      s.params.seed ?? 0,
      lastN,
      j,
      history && { ids: history, base },
    );
    const targets = history ? [{ ids: history, offset: base + j }, target] : [target];
    return { slot: s.slot, pos, sampling, targets };
  }

  /** Writes into the penalty windows the tokens the CPU sampled (while a batch-mate needed it). */
  private syncHistories(batch: readonly Sequence[]): void {
    for (const s of batch) {
      const state = this.states.get(s);
      if (!state?.history) continue;
      const known = s.tokens.length;
      if (state.written < known) {
        this.backend.writeTokenIds(
          state.history,
          state.written,
          Int32Array.from(s.tokens.slice(state.written)),
        );
      }
      state.written = known;
    }
  }
}
