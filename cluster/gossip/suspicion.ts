/**
 * Lifeguard dynamic suspicion timer for one suspect member. It starts at `max` (or `min` when no
 * confirmations are expected, k < 1) and every *independent* confirmation — a distinct peer that
 * also failed to reach the suspect — re-arms it at `remainingSuspicionMs`, converging to `min`
 * after k confirmations. The peer that raised the suspicion is not counted, since our own suspicion
 * may be gossiped back to us.
 *
 * @example
 * ```ts
 * const s = new Suspicion("a", 2, 2000, 12000, clock, (n) => console.log("dead after", n));
 * s.confirm("b"); // true: timer shortened
 * s.confirm("b"); // false: duplicate
 * ```
 *
 * @module
 */

import type { Clock, TimerHandle } from "./clock.ts";
import { remainingSuspicionMs } from "./timing.ts";

export class Suspicion {
  #n = 0;
  readonly #confirmations = new Set<string>();
  readonly #start: number;
  #timer: TimerHandle;
  #fired = false;

  /**
   * @param from peer that raised the suspicion (excluded from confirmations)
   * @param k confirmations wanted to reach `minMs`
   * @param onTimeout called once with the number of confirmations seen
   */
  constructor(
    from: string,
    readonly k: number,
    readonly minMs: number,
    readonly maxMs: number,
    readonly clock: Clock,
    readonly onTimeout: (confirmations: number) => void,
  ) {
    this.#confirmations.add(from);
    this.#start = clock.now();
    this.#timer = clock.setTimer(k < 1 ? minMs : maxMs, () => this.#fire());
  }

  /** Independent confirmations so far. */
  get confirmations(): number {
    return this.#n;
  }

  /** Milliseconds until the timer fires (≤ 0 when overdue). */
  remainingMs(): number {
    return remainingSuspicionMs(this.#n, this.k, this.clock.now() - this.#start, this.minMs, this.maxMs);
  }

  /**
   * Registers that `from` also suspects the member. Returns true when this was new information
   * (worth re-gossiping); false for a duplicate, or once k confirmations were already counted.
   */
  confirm(from: string): boolean {
    if (this.#fired || this.#n >= this.k || this.#confirmations.has(from)) return false;
    this.#confirmations.add(from);
    this.#n++;
    this.#timer.cancel();
    const remaining = this.remainingMs();
    this.#timer = this.clock.setTimer(Math.max(0, remaining), () => this.#fire());
    return true;
  }

  /** Stops the timer (the suspect refuted, or was declared dead by someone else). */
  cancel(): void {
    this.#fired = true;
    this.#timer.cancel();
  }

  #fire(): void {
    if (this.#fired) return;
    this.#fired = true;
    this.onTimeout(this.#n);
  }
}
