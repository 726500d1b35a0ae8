/**
 * Lifeguard local health awareness (LHA). A score in [0, max) rises when this node misses nacks
 * from indirect probers or has to refute a suspicion of itself (signs that *it* is slow), and
 * falls with every successful probe. Probe intervals and timeouts are multiplied by score + 1, so a
 * struggling node waits longer before accusing others.
 *
 * @example
 * ```ts
 * const a = new Awareness(8);
 * a.applyDelta(2);
 * a.scaleTimeout(1000); // 3000
 * ```
 *
 * @module
 */
export class Awareness {
  #score = 0;

  /** `max` is the upper bound of the multiplier (the score stays below it); 1 disables scaling. */
  constructor(readonly max: number) {}

  /** Current score; 0 is healthy. */
  get score(): number {
    return this.#score;
  }

  /** Adds `delta`, clamped to [0, max − 1]. */
  applyDelta(delta: number): void {
    this.#score = Math.min(Math.max(0, this.#score + delta), Math.max(0, this.max - 1));
  }

  /** `timeoutMs · (score + 1)`. */
  scaleTimeout(timeoutMs: number): number {
    return timeoutMs * (this.#score + 1);
  }
}
