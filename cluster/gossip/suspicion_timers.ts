/**
 * The running Lifeguard suspicion timers, one per suspect member, and how each is sized from the
 * ring: k = suspicionConfirmationsWanted(N) confirmations shrink it from
 * suspicionMaxTimeoutMult·min down to min = suspicionMult·log10(N)·probeInterval. Kept apart from
 * {@link MemberTable} so the table holds only the rules for *when* a member becomes suspect or dead,
 * and this file the bookkeeping of the timers that turn one into the other.
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import type { GossipConfig } from "./config.ts";
import { Suspicion } from "./suspicion.ts";
import { suspicionConfirmationsWanted, suspicionTimeoutMs } from "./timing.ts";

/** Collaborators of {@link SuspicionTimers}. */
export interface SuspicionTimersOptions {
  /** Read when each timer starts. */
  config: Pick<GossipConfig, "suspicionMult" | "suspicionMaxTimeoutMult" | "probeIntervalMs">;
  clock: Clock;
}

/**
 * Member name → its running {@link Suspicion}.
 *
 * @example
 * ```ts
 * const timers = new SuspicionTimers({ config, clock });
 * timers.start("b", "a", 8, () => console.log("b is dead"));
 * timers.get("b")?.confirm("c"); // true: an independent confirmation shortens it
 * timers.cancel("b"); // b refuted
 * ```
 */
export class SuspicionTimers {
  #timers = new Map<string, Suspicion>();

  constructor(readonly options: SuspicionTimersOptions) {}

  /** The running timer of `name`, if any. */
  get(name: string): Suspicion | undefined {
    return this.#timers.get(name);
  }

  /**
   * Starts suspecting `node`, first reported by `from`, in a ring of `numNodes` members.
   * `onExpire` runs once when the timer fires, after the timer was forgotten.
   */
  start(node: string, from: string, numNodes: number, onExpire: () => void): void {
    const cfg = this.options.config;
    const k = suspicionConfirmationsWanted(cfg.suspicionMult, numNodes);
    const min = suspicionTimeoutMs(cfg.suspicionMult, numNodes, cfg.probeIntervalMs);
    const max = cfg.suspicionMaxTimeoutMult * min;
    const suspicion = new Suspicion(from, k, min, max, this.options.clock, () => {
      if (this.#timers.get(node) === suspicion) this.#timers.delete(node);
      onExpire();
    });
    this.#timers.set(node, suspicion);
  }

  /** Stops the timer of `name`, if any (the member refuted, or was declared dead otherwise). */
  cancel(name: string): void {
    const t = this.#timers.get(name);
    if (t) {
      t.cancel();
      this.#timers.delete(name);
    }
  }

  /** Cancels every timer (shutdown). */
  stop(): void {
    for (const t of this.#timers.values()) t.cancel();
    this.#timers.clear();
  }
}
