/**
 * Load balancing across replicas: an entry node sends each new request to the replica expected to
 * finish it first. A replica's expected time per token for a new stream is its single-stream latency
 * plus one bottleneck slot (its costMs) for every sequence already queued at its busiest stage — a
 * conservative model that ignores batching gains, used only to compare replicas with one another.
 *
 * @example
 * ```ts
 * const route = routeRequest(plan, new Map([["gpu", 6], ["cpu", 0]]));
 * if (!route) return serviceUnavailable(); // no replica holds the model
 * plan.replicas[route.replica];
 * ```
 *
 * @module
 */

import type { Plan } from "./planner_types.ts";
import { definitelyLess } from "./split_search.ts";

export interface Route {
  /** index into plan.replicas */
  readonly replica: number;
  /** expected ms per token for the new request on that replica */
  readonly expectedMs: number;
}

/**
 * The replica with the lowest expected time to finish a new request, or undefined when the plan has
 * none. `liveQueueDepths` maps node id → sequences queued or running there now; nodes missing from it
 * (or reporting a negative or non-finite depth) count with the depth they had when the plan was made.
 * Ties go to the lower replica index (the cheaper replica).
 */
export function routeRequest(
  plan: Plan,
  liveQueueDepths: ReadonlyMap<string, number> | Readonly<Record<string, number>> = new Map(),
): Route | undefined {
  const live = (id: string): number | undefined =>
    liveQueueDepths instanceof Map
      ? liveQueueDepths.get(id)
      : (liveQueueDepths as Record<string, number>)[id];
  let best: Route | undefined;
  plan.replicas.forEach((r, i) => {
    let depth = 0;
    for (const s of r.stages) {
      const d = live(s.nodeId);
      depth = Math.max(depth, d !== undefined && Number.isFinite(d) && d >= 0 ? d : s.queueDepth);
    }
    const expectedMs = r.latencyMs + depth * r.costMs;
    if (!best || definitelyLess(expectedMs, best.expectedMs)) best = { replica: i, expectedMs };
  });
  return best;
}
