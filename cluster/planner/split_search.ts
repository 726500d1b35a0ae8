/**
 * The exhaustive part of the planner, over one group of at most ~6 nodes (indices into CostModel.nodes,
 * sorted by id so every node enumerates in the same order):
 *
 * 1. {@link enumerateCandidates}: a depth-first walk over every ordered subset of nodes (the stage
 *    order). Along the walk, a dynamic program over contiguous splits keeps, for each prefix of
 *    layers, the smallest possible bottleneck of the stages so far — `row[d][j]` = min over i of
 *    max(row[d−1][i], ms(node_d, layers i..j)) — so each walk step costs O(layers²) and the rows
 *    of a shared prefix are computed once. Closing the walk at a node (it becomes the last stage,
 *    holding the head) gives that order's best split; hops depend only on the order.
 * 2. {@link bestPerSubset}: for each node subset, its best order by cost (bottleneck + hops), among
 *    those that pass the latency guard.
 * 3. {@link bestPartition}: the set of disjoint replicas with the largest total rate, by a DP over
 *    subsets (3^n steps).
 *
 * @module
 */

import type { CostModel } from "./cost_model.ts";

/** Relative tolerance under which two costs count as equal, so ties fall to the id order, not to rounding. */
const REL_TOL = 1e-9;

/** a is smaller than b by more than rounding noise. */
export function definitelyLess(a: number, b: number): boolean {
  if (b === Infinity) return a < Infinity;
  return a < b - REL_TOL * Math.abs(b);
}

/** One replica shape: nodes in stage order and where the layers are cut. */
export interface Candidate {
  /** bit i set: node i is a stage */
  readonly mask: number;
  /** node indices in stage order */
  readonly order: readonly number[];
  /** [stages + 1] layer cuts: stage s runs layers [cuts[s], cuts[s + 1]) */
  readonly cuts: readonly number[];
  readonly bottleneckMs: number;
  readonly hopsMs: number;
  /** bottleneckMs + hopsMs: what the search minimises */
  readonly costMs: number;
  /** Σ stage ms + hopsMs: one stream's time per token */
  readonly latencyMs: number;
}

/**
 * Every ordered subset of the nodes that can hold the model, each with its best split (smallest
 * bottleneck; among equal bottlenecks, smallest Σ stage ms).
 */
export function enumerateCandidates(cost: CostModel): Candidate[] {
  const n = cost.nodes.length, L = cost.layers;
  const depthMax = Math.min(n, L); // every stage holds at least one layer
  // per depth: best bottleneck and Σ ms covering layers [0, j), and where the last range started
  const rowMax = Array.from({ length: depthMax }, () => new Float64Array(L + 1));
  const rowSum = Array.from({ length: depthMax }, () => new Float64Array(L + 1));
  const rowFrom = Array.from({ length: depthMax }, () => new Int32Array(L + 1));
  const order: number[] = [];
  const out: Candidate[] = [];

  /** Best (max, sum) over the start i of a stage of node `v` ending at `end`, at depth d. */
  const bestStart = (d: number, v: number, end: number, last: boolean) => {
    let bestMax = Infinity, bestSum = Infinity, bestI = -1;
    const lo = d === 0 ? 0 : d, hi = d === 0 ? 0 : end - 1;
    // walk starts downward: the range only grows, so the first memory overflow ends the loop
    for (let i = hi; i >= lo; i--) {
      const ms = cost.stageMs(v, i, end, d === 0, last);
      if (ms === Infinity) break;
      const prevMax = d === 0 ? 0 : rowMax[d - 1][i];
      if (prevMax === Infinity) continue;
      const m = Math.max(prevMax, ms), s = (d === 0 ? 0 : rowSum[d - 1][i]) + ms;
      if (definitelyLess(m, bestMax) || (!definitelyLess(bestMax, m) && definitelyLess(s, bestSum))) {
        bestMax = m, bestSum = s, bestI = i;
      }
    }
    return { bestMax, bestSum, bestI };
  };

  const record = (d: number, mask: number, hops: number, close: { bestMax: number; bestI: number }) => {
    const cuts = new Array<number>(d + 2);
    cuts[d + 1] = L;
    cuts[d] = close.bestI;
    for (let k = d - 1; k >= 0; k--) cuts[k] = k === 0 ? 0 : rowFrom[k][cuts[k + 1]];
    let sum = 0;
    for (let k = 0; k <= d; k++) sum += cost.stageMs(order[k], cuts[k], cuts[k + 1], k === 0, k === d);
    const hopsMs = d === 0 ? 0 : hops + cost.returnHopMs(order[d], order[0]);
    out.push({
      mask,
      order: order.slice(),
      cuts,
      bottleneckMs: close.bestMax,
      hopsMs,
      costMs: close.bestMax + hopsMs,
      latencyMs: sum + hopsMs,
    });
  };

  const visit = (d: number, v: number, mask: number, hops: number) => {
    order.push(v);
    const close = bestStart(d, v, L, true);
    if (close.bestI >= 0) record(d, mask, hops, close);
    if (d + 1 < depthMax) {
      let any = false;
      for (let j = 0; j <= L; j++) rowMax[d][j] = Infinity;
      for (let j = d + 1; j < L; j++) {
        const b = bestStart(d, v, j, false);
        rowMax[d][j] = b.bestMax, rowSum[d][j] = b.bestSum, rowFrom[d][j] = b.bestI;
        any ||= b.bestI >= 0;
      }
      if (any) {
        for (let w = 0; w < n; w++) {
          if ((mask & (1 << w)) === 0) visit(d + 1, w, mask | (1 << w), hops + cost.hopMs(v, w));
        }
      }
    }
    order.pop();
  };

  for (let v = 0; v < n; v++) visit(0, v, 1 << v, 0);
  return out;
}

/**
 * For each subset mask (index), the replica the planner would build from exactly those nodes: the
 * lowest-cost candidate whose latency is within `maxLatencyStretch` of the best latency any proper
 * subset of them achieves on its own. Candidates come in walk order, so equal costs go to the
 * earlier order in id order.
 */
export function bestPerSubset(
  candidates: readonly Candidate[],
  n: number,
  maxLatencyStretch: number,
): (Candidate | undefined)[] {
  const size = 1 << n;
  const minLatency = new Float64Array(size).fill(Infinity);
  for (const c of candidates) minLatency[c.mask] = Math.min(minLatency[c.mask], c.latencyMs);
  // best latency of any proper subset: fold supersets upward one bit at a time (a sum-over-subsets min)
  const subsetMin = minLatency.slice();
  for (let bit = 0; bit < n; bit++) {
    for (let m = 0; m < size; m++) {
      if (m & (1 << bit)) subsetMin[m] = Math.min(subsetMin[m], subsetMin[m ^ (1 << bit)]);
    }
  }
  const best: (Candidate | undefined)[] = new Array(size).fill(undefined);
  for (const c of candidates) {
    let properMin = Infinity;
    for (let bit = 0; bit < n; bit++) {
      if (c.mask & (1 << bit)) properMin = Math.min(properMin, subsetMin[c.mask ^ (1 << bit)]);
    }
    if (properMin < Infinity && c.latencyMs > maxLatencyStretch * properMin) continue;
    const cur = best[c.mask];
    if (!cur || definitelyLess(c.costMs, cur.costMs)) best[c.mask] = c;
  }
  return best;
}

/**
 * Disjoint subsets whose replicas give the largest Σ 1000 / costMs, at most `maxReplicas` of them.
 * `best[mask]` as from {@link bestPerSubset}. Returns the chosen masks.
 */
export function bestPartition(
  best: readonly (Candidate | undefined)[],
  n: number,
  maxReplicas: number,
): number[] {
  const size = 1 << n, R = Math.max(0, Math.min(maxReplicas, n));
  const rate = (m: number) => (best[m] ? 1000 / best[m]!.costMs : 0);
  // value[r][mask]: best total rate from nodes in mask with at most r replicas; pick[r][mask]: the
  // replica containing mask's lowest node, or 0 when that node is left out
  const value = Array.from({ length: R + 1 }, () => new Float64Array(size));
  const pick = Array.from({ length: R + 1 }, () => new Int32Array(size));
  for (let r = 1; r <= R; r++) {
    for (let mask = 1; mask < size; mask++) {
      const low = mask & -mask, rest = mask ^ low;
      let bestValue = -1, bestPick = 0;
      // every subset of `rest`, joined with the lowest node, as that node's replica
      for (let sub = rest;; sub = (sub - 1) & rest) {
        const m = sub | low;
        if (best[m]) {
          const v = rate(m) + value[r - 1][mask ^ m];
          if (v > bestValue * (1 + REL_TOL)) bestValue = v, bestPick = m;
        }
        if (sub === 0) break;
      }
      // leave the lowest node out only when that is strictly better: on a tie the smaller id is used
      if (value[r][rest] > bestValue * (1 + REL_TOL)) bestValue = value[r][rest], bestPick = 0;
      value[r][mask] = bestValue, pick[r][mask] = bestPick;
    }
  }
  const chosen: number[] = [];
  for (let r = R, mask = size - 1; r > 0 && mask !== 0;) {
    const m = pick[r][mask];
    if (m === 0) {
      mask ^= mask & -mask;
    } else {
      chosen.push(m);
      mask ^= m;
      r--;
    }
  }
  return chosen;
}
