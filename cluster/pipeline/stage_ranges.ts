/**
 * The layer ranges one stage server runs: the current plan's, plus older plans' ranges still finishing
 * their sequences. A new plan that moves this node's range must not cut off the sequences running on
 * the old plan while that plan is whole, so the old range's runner stays beside the new one, frames go
 * to the runner that serves their plan epoch, and the old runner is dropped (closed, its weights and
 * KV cache released) once its last sequence has ended.
 *
 * @example
 * ```ts
 * const ranges = new StageRanges(runner, console.log);
 * ranges.replace(nextRunner);              // next plan: runner drains, nextRunner is current
 * ranges.forEpoch(frame.planEpoch).tokens(frame);
 * for (const r of ranges.all()) r.cancel(seqId);
 * ```
 *
 * @module
 */

import type { StageRunner } from "./stage_runner.ts";

/** How often a replaced range is checked for its last sequence ending, ms. */
export const DRAIN_POLL_MS = 200;

/** The current runner and the draining ones. See the module doc. */
export class StageRanges {
  #current: StageRunner;
  readonly #draining = new Set<StageRunner>();
  #timer?: ReturnType<typeof setInterval>;

  constructor(current: StageRunner, private readonly log: (line: string) => void) {
    this.#current = current;
  }

  /** The range of the newest plan. */
  get current(): StageRunner {
    return this.#current;
  }

  /** The current runner first, then the draining ones. */
  all(): StageRunner[] {
    return [this.#current, ...this.#draining];
  }

  /** The runner serving plan `epoch`: the current one unless an older range has it; else the current one,
   * which refuses the frame with EpochMismatch. */
  forEpoch(epoch: number): StageRunner {
    if (this.#current.epochs.has(epoch)) return this.#current;
    for (const r of this.#draining) if (r.epochs.has(epoch)) return r;
    return this.#current;
  }

  /** Makes `next` current; the old current keeps its epochs and sequences until they end. */
  replace(next: StageRunner): void {
    const old = this.#current;
    this.#current = next;
    this.#draining.add(old);
    this.#timer ??= setInterval(() => this.#dropDrained(), DRAIN_POLL_MS);
    this.#dropDrained();
  }

  /** Sequences still running on older plans' ranges. */
  drainingSequences(): number {
    return [...this.#draining].reduce((n, r) => n + r.stats().sequences, 0);
  }

  /** Sequences on every range. */
  sequences(): number {
    return this.#current.stats().sequences + this.drainingSequences();
  }

  /** Closes every runner. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.all(this.all().map((r) => r.close()));
    this.#draining.clear();
  }

  #dropDrained(): void {
    for (const r of this.#draining) {
      if (r.stats().sequences > 0) continue;
      this.#draining.delete(r);
      r.close();
      this.log(`layers ${r.range.start}..${r.range.end} of an older plan drained`);
    }
    if (this.#draining.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
