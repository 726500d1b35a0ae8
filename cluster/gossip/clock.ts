/**
 * The time seam of the gossip engine. The protocol code reads time and sets timers only through a
 * {@link Clock}, so the same code runs against wall time ({@link systemClock}) and against the
 * simulator's virtual clock (`sim/virtual_clock.ts`).
 *
 * @module
 */

/** A pending one-shot timer. `cancel` is idempotent. */
export interface TimerHandle {
  cancel(): void;
}

/** Time source and one-shot timers. */
export interface Clock {
  /** Milliseconds since the Unix epoch (virtual in the simulator). May be fractional. */
  now(): number;
  /** Calls `fn` once, `delayMs` (≥ 0) milliseconds from now, unless cancelled first. */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}

/**
 * Wall-clock implementation. `now()` is monotonic (performance.now offset by the time origin), so
 * a wall-clock step does not stretch or shrink suspicion timers.
 *
 * @example
 * ```ts
 * const t = systemClock.setTimer(100, () => console.log("fired"));
 * t.cancel();
 * ```
 */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimer(delayMs, fn) {
    const id = setTimeout(fn, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(id) };
  },
};
