/**
 * Live load from scheduler samples, and when it is worth broadcasting.
 *
 * The scheduler exposes gauges (queued, active) and counters (steps, decode tokens); the meter keeps
 * the samples of the last window and derives:
 * - tokens/s: decode tokens generated over the window;
 * - utilisation: the fraction of the window during which the engine was busy — an interval between
 *   two samples counts as busy when the engine took a step in it or had sequences running at its
 *   end (the step loop runs whenever a sequence is active).
 *
 * Pure: times come in as arguments.
 *
 * @example
 * ```ts
 * const meter = new LoadMeter(5_000);
 * const load = meter.sample(performance.now(), scheduler.stats(), 0);
 * if (loadBroadcastDue(last, load, now, timing)) worker.broadcastUserState(encodeLoad(load));
 * ```
 *
 * @module
 */
import type { LiveLoad } from "../../cluster/gossip/mod.ts";
import type { ClusterTiming } from "./cluster_settings.ts";

/** The scheduler figures the meter reads (a subset of `SchedulerStats`). */
export interface EngineSample {
  readonly queued: number;
  readonly active: number;
  readonly steps: number;
  readonly decodeTokens: number;
}

/** Window over which tokens/s and utilisation are averaged, ms. */
export const LOAD_WINDOW_MS = 5_000;

interface Sample extends EngineSample {
  at: number;
}

export class LoadMeter {
  #samples: Sample[] = [];

  constructor(readonly windowMs: number = LOAD_WINDOW_MS) {}

  /** Adds a sample taken at `nowMs` (monotonic ms) and returns the load over the window. An idle
   * node (no model yet) passes zeros. */
  sample(nowMs: number, engine: EngineSample, healthScore: number): LiveLoad {
    this.#samples.push({ ...engine, at: nowMs });
    // keep one sample at or before the window start, so the window is fully covered
    while (this.#samples.length > 2 && this.#samples[1].at <= nowMs - this.windowMs) this.#samples.shift();
    const first = this.#samples[0];
    const spanMs = nowMs - first.at;
    let busyMs = 0;
    for (let i = 1; i < this.#samples.length; i++) {
      const a = this.#samples[i - 1], b = this.#samples[i];
      if (b.steps > a.steps || b.active > 0) busyMs += b.at - a.at;
    }
    return {
      queueDepth: engine.queued,
      activeSequences: engine.active,
      tokensPerSecond: spanMs > 0 ? round2(((engine.decodeTokens - first.decodeTokens) * 1000) / spanMs) : 0,
      utilisation: spanMs > 0 ? round2(Math.min(1, busyMs / spanMs)) : engine.active > 0 ? 1 : 0,
      healthScore,
    };
  }
}

/** The last load broadcast: what and when (monotonic ms). */
export interface LastBroadcast {
  load: LiveLoad;
  at: number;
}

/** A change of tokens/s smaller than this fraction (or 1 token/s) is noise, not news. */
const TOKENS_PER_SECOND_CHANGE = 0.2;
/** A change of utilisation smaller than this is noise. */
const UTILISATION_CHANGE = 0.1;

/**
 * True when `next` should be broadcast now: never sooner than `loadBroadcastMinMs` after the last
 * broadcast; then when something the planner or router would act on changed (queue depth, active
 * sequences, health, tokens/s by 20%, utilisation by 0.1), or when `loadBroadcastRefreshMs` passed.
 *
 * @example
 * ```ts
 * loadBroadcastDue(undefined, load, 0, timing); // true: nothing was sent yet
 * ```
 */
export function loadBroadcastDue(
  last: LastBroadcast | undefined,
  next: LiveLoad,
  nowMs: number,
  timing: Pick<ClusterTiming, "loadBroadcastMinMs" | "loadBroadcastRefreshMs">,
): boolean {
  if (!last) return true;
  const since = nowMs - last.at;
  if (since < timing.loadBroadcastMinMs) return false;
  if (since >= timing.loadBroadcastRefreshMs) return true;
  const a = last.load;
  if (a.queueDepth !== next.queueDepth || a.activeSequences !== next.activeSequences) return true;
  if ((a.healthScore ?? 0) !== (next.healthScore ?? 0)) return true;
  const tpsDelta = Math.abs(a.tokensPerSecond - next.tokensPerSecond);
  if (tpsDelta > Math.max(1, TOKENS_PER_SECOND_CHANGE * a.tokensPerSecond)) return true;
  return Math.abs(a.utilisation - next.utilisation) > UTILISATION_CHANGE;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
