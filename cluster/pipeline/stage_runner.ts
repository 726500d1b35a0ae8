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
 * width) before its rows are queued; a violation ends that sequence with an ERROR to its entry, never
 * the stage. Socket I/O stays outside: the runner talks through {@link StageIo}.
 *
 * @module
 */

import type { Backend, KvCache } from "../../src/backend/backend.ts";
import { eventLoopTurn } from "../../src/engine/event_loop_turn.ts";
import { createRng, type SamplingParams, validateSamplingParams } from "../../src/engine/sampler.ts";
import { createWorkspace, type ForwardContext } from "../../src/model/forward.ts";
import type { ModelConfig } from "../../src/model/model_config.ts";
import type { ModelWeights } from "../../src/model/model_weights.ts";
import {
  FORWARD_MAX_ROWS,
  type ForwardFrame,
  type Frame,
  FrameType,
  type OpenFrame,
  type TokenFrame,
  WireErrorCode,
} from "./frames.ts";
import { PipelineConfigError } from "./pipeline_errors.ts";
import {
  forwardFrames,
  microBatchItems,
  runBatch,
  sampleBatch,
  type SamplerState,
  type StageSequence,
  takeBatch,
  type WorkItem,
} from "./stage_step.ts";

/** Most rows in one step by default: a prefill chunk plus decode rows, run as matrix products. */
export const DEFAULT_STAGE_MAX_BATCH = 64;
/** Concurrent sequences (KV slots) of a stage by default. */
export const DEFAULT_STAGE_SLOTS = 16;
/** Cancelled sequence ids remembered, so a late OPEN or row for one is dropped instead of revived. */
export const TOMBSTONE_LIMIT = 4096;
/** A sequence without rows for this long is freed: its entry vanished without a CANCEL, ms. */
export const SEQUENCE_IDLE_TIMEOUT_MS = 300_000;

/** How the runner reaches its peers; the stage server implements it over connections. */
export interface StageIo {
  /** Sends to the entry that opened a sequence (its HELLO id); false when it is not connected. */
  toEntry(replyTo: string, frame: Frame): boolean;
  /** Sends to the stage at `address`, connecting on first use. */
  toNext(address: string, frame: Frame): void;
  /**
   * Resolves when the frames sent so far have been sealed and written. The loop waits for it after
   * each step: sealing runs on another thread and the write on this one, so on a node with one core a
   * step started at once would hold a finished group's frames back for a whole step.
   */
  flushed?(): Promise<void>;
  log(message: string): void;
}

/** The model share a stage runs. */
export interface StageModel {
  readonly backend: Backend;
  readonly cfg: ModelConfig;
  /** the stage's layer range, loaded (weights.range is the range) */
  readonly weights: ModelWeights;
}

export interface StageRunnerOptions {
  /** concurrent sequences; default DEFAULT_STAGE_SLOTS */
  readonly slots?: number;
  /** positions per sequence; default and maximum: the model's context */
  readonly ctx?: number;
  /** most rows per step; default DEFAULT_STAGE_MAX_BATCH */
  readonly maxBatch?: number;
  /** plan epochs accepted at start */
  readonly epochs: Iterable<number>;
  /** clock, ms (default performance.now) */
  readonly now?: () => number;
}

/** Gauges and counters of a stage. */
export interface StageStats {
  readonly sequences: number;
  readonly slots: number;
  readonly freeSlots: number;
  readonly queuedRows: number;
  readonly steps: number;
  readonly rows: number;
  readonly tokensSampled: number;
  readonly forwardFrames: number;
  /** input for a sequence this stage does not hold (dropped) */
  readonly unknownSequence: number;
  /** frames refused for a plan epoch this stage does not serve */
  readonly epochMismatches: number;
  /** sequences ended by bad input, a full stage, a lost next hop or a step failure */
  readonly refused: number;
  /** sequences freed after SEQUENCE_IDLE_TIMEOUT_MS without rows */
  readonly idleFreed: number;
}

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
  };

  constructor(readonly model: StageModel, private readonly io: StageIo, options: StageRunnerOptions) {
    const { backend, cfg, weights } = model;
    this.ctx = Math.min(options.ctx ?? cfg.ctx, cfg.ctx);
    this.maxBatch = Math.min(options.maxBatch ?? DEFAULT_STAGE_MAX_BATCH, FORWARD_MAX_ROWS);
    this.slots = options.slots ?? DEFAULT_STAGE_SLOTS;
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
    const me = f.route[f.hop];
    const r = this.range;
    if (me.start !== r.start || me.end !== r.end || me.embedding !== r.embedding || me.head !== r.head) {
      return reply(
        WireErrorCode.BadFrame,
        `route hop ${f.hop} names layers ${me.start}..${me.end}, this stage holds ${r.start}..${r.end}`,
      );
    }
    if (me.head !== (f.hop === f.route.length - 1)) {
      return reply(WireErrorCode.BadFrame, `the stage with the head must end the route`);
    }
    let sampler: SamplerState | undefined;
    if (me.head) {
      const params: SamplingParams = { ...f.sampling };
      try {
        validateSamplingParams(params);
      } catch (error) {
        return reply(WireErrorCode.BadFrame, (error as Error).message);
      }
      const rng = createRng(f.sampling.seed);
      // a replayed sequence continues its random stream where the dead route left it
      for (let i = 0; i < f.drawsDone; i++) rng.nextFloat();
      sampler = { params, rng, history: Array.from(f.history) };
    }
    const old = this.#sequences.get(f.seqId);
    if (old) this.#free(old);
    const slot = this.#freeSlots.pop();
    if (slot === undefined) {
      return reply(WireErrorCode.Overloaded, `all ${this.slots} KV slots of this stage are in use`);
    }
    const next = me.head ? undefined : f.route[f.hop + 1].address;
    this.#sequences.set(f.seqId, {
      seqId: f.seqId,
      epoch: f.planEpoch,
      slot,
      replyTo: f.replyTo,
      next,
      wireDtype: f.wireDtype,
      routeStages: f.route.length,
      feedUntil: me.head ? f.feedUntil ?? 0 : 0,
      first: me.head && f.route.length > 1 ? f.route[0].address : undefined,
      sampler,
      queuedTo: 0,
      lastActive: this.#now(),
      ended: false,
    });
    if (next) this.io.toNext(next, { ...f, hop: f.hop + 1 });
  }

  /** Prompt chunks and decode tokens (first stage). */
  tokens(f: TokenFrame): void {
    const s = this.#sequenceFor(f.seqId, f.planEpoch);
    if (!s) return;
    if (!this.range.embedding) {
      return this.#refuse(s, WireErrorCode.BadFrame, "TOKEN input at a stage without the embedding");
    }
    for (const t of f.tokens) {
      if (t >= this.model.cfg.vocab) {
        return this.#refuse(
          s,
          WireErrorCode.BadFrame,
          `token id ${t} outside the vocabulary of ${this.model.cfg.vocab}`,
        );
      }
    }
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
      if (this.range.embedding) {
        this.#refuse(s, WireErrorCode.BadFrame, "FORWARD input at the first stage");
        continue;
      }
      if (f.dim !== this.model.cfg.dim) {
        this.#refuse(
          s,
          WireErrorCode.BadFrame,
          `hidden width ${f.dim}, the model's is ${this.model.cfg.dim}`,
        );
        continue;
      }
      const start = f.positions[from];
      let consecutive = true;
      for (let i = 1; i < seg.rows; i++) if (f.positions[from + i] !== start + i) consecutive = false;
      if (!consecutive) {
        this.#refuse(s, WireErrorCode.BadFrame, `segment positions are not consecutive from ${start}`);
        continue;
      }
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
    if (start !== s.queuedTo) {
      this.#refuse(s, WireErrorCode.BadFrame, `rows start at position ${start}, expected ${s.queuedTo}`);
      return false;
    }
    if (start + n > this.ctx) {
      this.#refuse(
        s,
        WireErrorCode.BadFrame,
        `position ${start + n - 1} is past the stage context of ${this.ctx}`,
      );
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
      while (this.#queue.length > 0 && !this.#closed) {
        const cap = microBatchItems(this.#sequences.values());
        await this.#step(takeBatch(this.#queue, this.maxBatch, this.model.cfg.dim, cap));
        await this.io.flushed?.();
        // let the sockets deliver the rows that arrived during the step, so the next step batches them
        await eventLoopTurn();
      }
    } finally {
      this.#running = false;
    }
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
        const position = w.start + w.rows;
        const token: TokenFrame = {
          type: FrameType.Token,
          seqId: s.seqId,
          planEpoch: s.epoch,
          chunk: w.chunk,
          position,
          tokens: Int32Array.of(outcome.token),
          sample: true,
          reset: false,
        };
        if (!this.io.toEntry(s.replyTo, token)) {
          this.cancel(s.seqId); // the entry is gone: nobody will read this sequence
          continue;
        }
        if (position >= s.feedUntil) continue;
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
