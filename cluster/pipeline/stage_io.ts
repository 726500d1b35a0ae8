/**
 * The contract between a stage's compute half (StageRunner, stage_runner.ts) and whoever hosts it:
 * how the runner reaches its peers ({@link StageIo}: the stage server implements it over connections,
 * tests with an in-memory twin), the model share it runs, its options with their defaults, and its
 * counters.
 *
 * @module
 */

import type { Backend } from "../../src/backend/backend.ts";
import type { ModelConfig } from "../../src/model/model_config.ts";
import type { ModelWeights } from "../../src/model/model_weights.ts";
import type { Frame } from "./frames.ts";

/** Most rows in one step by default: a prefill chunk plus decode rows, run as matrix products. */
export const DEFAULT_STAGE_MAX_BATCH = 64;
/** Concurrent sequences (KV slots) of a stage by default. */
export const DEFAULT_STAGE_SLOTS = 16;
/** A sequence without rows for this long is freed: its entry vanished without a CANCEL, ms. */
export const SEQUENCE_IDLE_TIMEOUT_MS = 300_000;
/**
 * How long a stage whose queue ran dry keeps polling its sockets, instead of sleeping, while another
 * micro-batch of a multi-stage route is on its way (more such sequences here than the last step ran),
 * ms. That group is about a hop away (the k micro-batches of stage_step.ts take turns on the stages),
 * and a process that sleeps pays a wake-up each time: ~0.1 ms on an idle core, but several ms on a
 * busy one, where the scheduler also gives a task that sleeps every step a smaller share while it
 * computes. Measured on 2 shared cores (8 streams, 2 stages, Q8_0 512×8): the stages slept after
 * nearly every step, idle ~25% and preempted ~30% of the time; polling, idle ~1% and ~1.2–1.7× the
 * tokens/s. Costs at most this much CPU per step when the rows do not come. A lone group (one stream)
 * does not poll: its rows are a round trip away, and stages sharing cores need that time to compute.
 */
export const STAGE_SPIN_WAIT_MS = 2;

/** How the runner reaches its peers; the stage server implements it over connections. */
export interface StageIo {
  /** Sends to the entry that opened a sequence (its HELLO id); false when it is not connected. */
  toEntry(replyTo: string, frame: Frame): boolean;
  /** Sends to the stage at `address`, connecting on first use. */
  toNext(address: string, frame: Frame): void;
  /**
   * Resolves when the frames sent so far have been sealed and written. The loop waits for it after
   * each step: the write completes in the event loop (large records are also sealed on another
   * thread), so a step started at once would hold a finished group's frames back for a whole step.
   * The wait is an event-loop poll, ~40–190 µs in a stage process on the development machine.
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
  /**
   * how long to poll for the next rows before sleeping when the queue runs dry while sequences of a
   * multi-stage route are here, ms; default STAGE_SPIN_WAIT_MS, 0: sleep at once
   */
  readonly spinWaitMs?: number;
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
  /** times the queue ran dry and the next rows came while the stage polled (STAGE_SPIN_WAIT_MS) */
  readonly spinWaits: number;
}
