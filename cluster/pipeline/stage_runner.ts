/**
 * The compute half of a pipeline stage: one layer range of one model on a backend, a KV slot per
 * sequence, and a loop that runs whatever rows have arrived as one batch.
 *
 * Sequences start with OPEN (a KV slot is taken, the OPEN passed on to the next stage first, so it
 * always precedes the sequence's rows there) and end with CANCEL, with the entry's connection closing,
 * with their epoch being retired, or after SEQUENCE_IDLE_TIMEOUT_MS without rows. Input rows — token
 * ids at the first stage, hidden states elsewhere — queue as work items; a step takes items in arrival
 * order up to `maxBatch` rows (splitting a long prefill chunk), runs embed → layers → (head) once for
 * all of them, then either sends the hidden states on as FORWARD frames (one per next hop and wire
 * dtype) or, on the last stage, samples each finished sequence's next token with its own parameters
 * and seeded RNG and returns it to the entry as TOKEN — and, when the OPEN asked for it (`feedUntil`,
 * protocol version 3), also to the first stage as the sequence's next decode input, so a decode step
 * does not wait for the round trip through the entry. Decode rows of many sequences and prefill
 * chunks therefore share every step, at every stage. A step of a k-stage route takes at most
 * ⌈sequences / k⌉ items (stage_step.ts `microBatchItems`), so the sequences travel as k groups that
 * occupy different stages at the same time and the pipeline stays full.
 *
 * Every frame is checked against the sequence it names (plan epoch, next position, context, vocabulary,
 * width; stage_input.ts) before its rows are queued; a violation ends that sequence with an ERROR to
 * its entry, never the stage. Socket I/O stays outside: the runner talks through {@link StageIo}.
 *
 * @module
 */

import type { KvCache } from "../../src/backend/backend.ts";
import { eventLoopTurn } from "../../src/engine/event_loop_turn.ts";
import { createWorkspace, type ForwardContext } from "../../src/model/forward.ts";
import type { ModelWeights } from "../../src/model/model_weights.ts";
import {
  FORWARD_MAX_ROWS,
  type ForwardFrame,
  FrameType,
  type OpenFrame,
  type TokenFrame,
  WireErrorCode,
} from "./frames.ts";
import { PipelineConfigError } from "./pipeline_errors.ts";
import { admitOpen, forwardInputProblem, rowsProblem, tokenInputProblem } from "./stage_input.ts";
import {
  DEFAULT_STAGE_MAX_BATCH,
  DEFAULT_STAGE_SLOTS,
  SEQUENCE_IDLE_TIMEOUT_MS,
  STAGE_SPIN_WAIT_MS,
  type StageIo,
  type StageModel,
  type StageRunnerOptions,
  type StageStats,
} from "./stage_io.ts";
import {
  forwardFrames,
  microBatchItems,
  runBatch,
  sampleBatch,
  sampledToken,
  type StageSequence,
  takeBatch,
  type WorkItem,
} from "./stage_step.ts";

/** Cancelled sequence ids remembered, so a late OPEN or row for one is dropped instead of revived. */
export const TOMBSTONE_LIMIT = 4096;

/** Runs one layer range for many sequences. See the module doc. */
export class StageRunner {
  readonly ctx: number;
  readonly maxBatch: number;
  readonly slots: number;
  readonly #forward: ForwardContext;
  readonly #sequences = new Map<number, StageSequence>();
  readonly #freeSlots: number[];
  readonly #epochs: Set<number>;
  readonly #tombstones = new Set<number>();
  readonly #tombstoneOrder: number[] = [];
  readonly #queue: WorkItem[] = [];
  readonly #now: () => number;
  readonly #spinWaitMs: number;
  /** work items of the last step (see #awaitRows) */
  #lastBatchItems = 0;
  #running = false;
  #closed = false;
  #idle: Promise<void> = Promise.resolve();
  #counters = {
    steps: 0,
    rows: 0,
    tokensSampled: 0,
    forwardFrames: 0,
    unknownSequence: 0,
    epochMismatches: 0,
    refused: 0,
    idleFreed: 0,
    spinWaits: 0,
  };

  constructor(readonly model: StageModel, private readonly io: StageIo, options: StageRunnerOptions) {
    const { backend, cfg, weights } = model;
    this.ctx = Math.min(options.ctx ?? cfg.ctx, cfg.ctx);
    this.maxBatch = Math.min(options.maxBatch ?? DEFAULT_STAGE_MAX_BATCH, FORWARD_MAX_ROWS);
    this.slots = options.slots ?? DEFAULT_STAGE_SLOTS;
    this.#spinWaitMs = options.spinWaitMs ?? STAGE_SPIN_WAIT_MS;
    for (
      const [name, v] of [["slots", this.slots], ["ctx", this.ctx], ["maxBatch", this.maxBatch]] as const
    ) {
      if (!Number.isInteger(v) || v < 1) {
        throw new PipelineConfigError(
          `stage ${name} must be a positive integer, got ${v}`,
        );
      }
    }
    const cache: KvCache = backend.createKvCache({
      layers: Math.max(1, weights.layers.length),
      slots: this.slots,
      ctx: this.ctx,
      kvDim: cfg.kvDim,
    });
    this.#forward = {
      backend,
      cfg,
      weights,
      cache,
      ws: createWorkspace(backend, cfg, this.maxBatch, weights.range.head ? this.maxBatch : 1),
    };
    this.#freeSlots = Array.from({ length: this.slots }, (_, i) => this.slots - 1 - i);
    this.#epochs = new Set(options.epochs);
    this.#now = options.now ?? (() => performance.now());
  }

  get range(): ModelWeights["range"] {
    return this.model.weights.range;
  }

  /** Plan epochs whose frames this stage serves. */
  get epochs(): ReadonlySet<number> {
    return this.#epochs;
  }

  acceptEpoch(epoch: number): void {
    this.#epochs.add(epoch);
  }

  /** Stops serving `epoch`: its sequences end with EpochMismatch, so their entries replay them. */
  retireEpoch(epoch: number): void {
    this.#epochs.delete(epoch);
    for (const s of [...this.#sequences.values()]) {
      if (s.epoch === epoch) this.#refuse(s, WireErrorCode.EpochMismatch, `plan epoch ${epoch} was retired`);
    }
  }

  /** Does this stage hold the sequence? (tests and status) */
  holds(seqId: number): boolean {
    return this.#sequences.has(seqId);
  }

  stats(): StageStats {
    return {
      sequences: this.#sequences.size,
      slots: this.slots,
      freeSlots: this.#freeSlots.length,
      queuedRows: this.#queue.reduce((n, w) => n + w.rows, 0),
      ...this.#counters,
    };
  }

  /** Starts (or restarts) a sequence and passes the OPEN to the next stage. */
  open(f: OpenFrame): void {
    const reply = (code: WireErrorCode, message: string) => {
      this.#counters.refused++;
      this.io.toEntry(f.replyTo, { type: FrameType.Error, code, seqId: f.seqId, message });
    };
    if (this.#closed || this.#tombstones.has(f.seqId)) return;
    if (!this.#epochs.has(f.planEpoch)) {
      this.#counters.epochMismatches++;
      return reply(WireErrorCode.EpochMismatch, `plan epoch ${f.planEpoch} is not served here`);
    }
    const opened = admitOpen(f, this.range);
    if ("code" in opened) return reply(opened.code, opened.message);
    const old = this.#sequences.get(f.seqId);
    if (old) this.#free(old);
    const slot = this.#freeSlots.pop();
    if (slot === undefined) {
      return reply(WireErrorCode.Overloaded, `all ${this.slots} KV slots of this stage are in use`);
    }
    this.#sequences.set(f.seqId, {
      ...opened,
      seqId: f.seqId,
      epoch: f.planEpoch,
      slot,
      replyTo: f.replyTo,
      wireDtype: f.wireDtype,
      routeStages: f.route.length,
      queuedTo: 0,
      lastActive: this.#now(),
      ended: false,
    });
    if (opened.next) this.io.toNext(opened.next, { ...f, hop: f.hop + 1 });
  }

  /** Prompt chunks and decode tokens (first stage). */
  tokens(f: TokenFrame): void {
    const s = this.#sequenceFor(f.seqId, f.planEpoch);
    if (!s) return;
    const problem = tokenInputProblem(f.tokens, this.range, this.model.cfg.vocab);
    if (problem) return this.#refuse(s, problem.code, problem.message);
    if (!this.#placeRows(s, f.position, f.tokens.length)) return;
    this.#enqueue({
      seq: s,
      chunk: f.chunk,
      start: f.position,
      rows: f.tokens.length,
      tokens: f.tokens,
      sample: f.sample,
    });
  }

  /** Hidden states from the previous stage. */
  forward(f: ForwardFrame): void {
    let row = 0;
    for (const seg of f.segments) {
      const from = row;
      row += seg.rows;
      const s = this.#sequenceFor(seg.seqId, f.planEpoch);
      if (!s) continue;
      const problem = forwardInputProblem(f, from, seg.rows, this.range, this.model.cfg.dim);
      if (problem) {
        this.#refuse(s, problem.code, problem.message);
        continue;
      }
      const start = f.positions[from];
      if (!this.#placeRows(s, start, seg.rows)) continue;
      this.#enqueue({
        seq: s,
        chunk: seg.chunk,
        start,
        rows: seg.rows,
        hidden: f.hidden.subarray(from * f.dim, row * f.dim),
        sample: seg.sample,
      });
    }
  }

  /** Ends a sequence here (CANCEL): frees its KV slot and drops its queued rows. */
  cancel(seqId: number): void {
    this.#tombstone(seqId);
    const s = this.#sequences.get(seqId);
    if (s) this.#free(s);
  }

  /** The entry `replyTo` is gone: its sequences can never be read back, so free them. */
  dropEntry(replyTo: string): void {
    for (const s of [...this.#sequences.values()]) if (s.replyTo === replyTo) this.cancel(s.seqId);
  }

  /** The next stage at `address` is unreachable: its sequences end with NextHopUnreachable. */
  nextHopLost(address: string): void {
    for (const s of [...this.#sequences.values()]) {
      if (s.next === address) this.#refuse(s, WireErrorCode.NextHopUnreachable, address);
    }
  }

  /** Frees sequences idle for longer than `idleMs`. */
  sweepIdle(idleMs = SEQUENCE_IDLE_TIMEOUT_MS): void {
    const now = this.#now();
    for (const s of [...this.#sequences.values()]) {
      if (now - s.lastActive > idleMs) {
        this.#counters.idleFreed++;
        this.cancel(s.seqId);
      }
    }
  }

  /** Stops the loop after the current step; queued rows are dropped. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.length = 0;
    await this.#idle;
  }

  #sequenceFor(seqId: number, epoch: number): StageSequence | undefined {
    const s = this.#sequences.get(seqId);
    if (!s) {
      if (!this.#tombstones.has(seqId)) this.#counters.unknownSequence++;
      return undefined;
    }
    if (epoch !== s.epoch) {
      this.#counters.epochMismatches++;
      this.#refuse(
        s,
        WireErrorCode.EpochMismatch,
        `frame for epoch ${epoch}, the sequence runs under ${s.epoch}`,
      );
      return undefined;
    }
    return s;
  }

  /** Checks that rows [start, start + n) continue the sequence and fit its context. */
  #placeRows(s: StageSequence, start: number, n: number): boolean {
    const problem = rowsProblem(start, n, s.queuedTo, this.ctx);
    if (problem) {
      this.#refuse(s, problem.code, problem.message);
      return false;
    }
    s.queuedTo = start + n;
    s.lastActive = this.#now();
    return true;
  }

  #enqueue(item: WorkItem): void {
    this.#queue.push(item);
    if (this.#running || this.#closed) return;
    this.#running = true;
    // a microtask: every frame of the record being delivered is queued before the step starts
    this.#idle = new Promise<void>((resolve) => queueMicrotask(() => this.#loop().finally(resolve)));
  }

  async #loop(): Promise<void> {
    try {
      while (!this.#closed && (this.#queue.length > 0 || await this.#awaitRows())) {
        const cap = microBatchItems(this.#sequences.values());
        const batch = takeBatch(this.#queue, this.maxBatch, this.model.cfg.dim, cap);
        this.#lastBatchItems = batch.length;
        await this.#step(batch);
        await this.io.flushed?.();
        // let the sockets deliver the rows that arrived during the step, so the next step batches them
        await eventLoopTurn();
      }
    } finally {
      this.#running = false;
    }
  }

  /**
   * The queue ran dry while more sequences of multi-stage routes are here than the step just ran: the
   * others are another micro-batch travelling the ring, due within about a step, so poll the sockets
   * for up to spinWaitMs instead of sleeping (see STAGE_SPIN_WAIT_MS). A lone group (one stream) is a
   * whole round trip away: sleep, leaving the core to the stages that have work. True when rows came.
   * Real time bounds the spin (it bounds CPU burnt), not the injected clock.
   */
  async #awaitRows(): Promise<boolean> {
    if (this.#spinWaitMs <= 0) return false;
    let piped = 0;
    for (const s of this.#sequences.values()) if (s.routeStages > 1) piped++;
    if (piped <= this.#lastBatchItems) return false;
    const until = performance.now() + this.#spinWaitMs;
    while (this.#queue.length === 0 && !this.#closed && performance.now() < until) await eventLoopTurn();
    if (this.#queue.length > 0) this.#counters.spinWaits++;
    return this.#queue.length > 0;
  }

  async #step(batch: WorkItem[]): Promise<void> {
    if (batch.length === 0) return;
    try {
      const n = runBatch(this.#forward, batch);
      this.#counters.steps++;
      this.#counters.rows += n;
      if (!this.range.head) {
        for (const { address, frame } of await forwardFrames(this.#forward, batch, n)) {
          this.#counters.forwardFrames++;
          this.io.toNext(address, frame);
        }
        return;
      }
      for (const outcome of await sampleBatch(this.#forward, batch)) {
        const { item: w } = outcome;
        const s = w.seq;
        if ("error" in outcome) {
          this.#refuse(s, WireErrorCode.Internal, outcome.error);
          continue;
        }
        this.#counters.tokensSampled++;
        const token = sampledToken(w, outcome.token);
        if (!this.io.toEntry(s.replyTo, token)) {
          this.cancel(s.seqId); // the entry is gone: nobody will read this sequence
          continue;
        }
        if (token.position >= s.feedUntil) continue;
        // the next decode input goes straight to the first stage (OPEN feedUntil): here, or over the wire
        const next: TokenFrame = { ...token, chunk: 0 };
        if (s.first === undefined) this.tokens(next);
        else this.io.toNext(s.first, next);
      }
    } catch (error) {
      const message = `stage step failed: ${(error as Error)?.message ?? error}`;
      this.io.log(message);
      for (const w of batch) this.#refuse(w.seq, WireErrorCode.Internal, message);
    }
  }

  /** Ends a sequence with an ERROR to its entry. */
  #refuse(s: StageSequence, code: WireErrorCode, message: string): void {
    if (s.ended) return;
    this.#counters.refused++;
    this.io.toEntry(s.replyTo, { type: FrameType.Error, code, seqId: s.seqId, message });
    this.cancel(s.seqId);
  }

  #free(s: StageSequence): void {
    if (s.ended) return;
    s.ended = true; // queued items of s are skipped by #takeBatch
    this.#sequences.delete(s.seqId);
    this.#freeSlots.push(s.slot);
  }

  #tombstone(seqId: number): void {
    if (this.#tombstones.has(seqId)) return;
    this.#tombstones.add(seqId);
    this.#tombstoneOrder.push(seqId);
    if (this.#tombstoneOrder.length > TOMBSTONE_LIMIT) this.#tombstones.delete(this.#tombstoneOrder.shift()!);
  }
}
