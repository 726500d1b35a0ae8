/**
 * The layer planner: from one gossip view of the cluster, which nodes run which layers of the model.
 * A pure, deterministic function — every node computes the same plan from the same view.
 *
 * ## Cost model (per decode token)
 * - A node's effective speed is its measured throughput score × (1 − load). The score is in weight
 *   bytes streamed per second at decode (decode is memory-bound); a member may add FLOP/s, and then a
 *   stage takes the roofline max(bytes / bytes-per-s, FLOPs / FLOP-per-s).
 * - A stage over layers [i, j) takes Σ layer bytes / speed ms; the last stage also streams the output
 *   norm and head. It must hold those bytes, plus the embedding on the first stage and the head on the
 *   last (a tied head is the embedding table, so a split tied model holds that table twice).
 * - A hop costs RTT/2 + (dim × wire bytes per value + framing) / link bandwidth + a fixed overhead;
 *   from the last stage the sampled token travels back to the first, which costs another hop.
 *
 * ## Objectives
 * - A replica's cost is bottleneck + hops: the slowest stage's ms per token (with the pipeline full of
 *   sequences, one token leaves every bottleneck ms) plus every hop's ms (the part pipelining cannot
 *   hide). Splits within a replica minimise it; its rate is credited as 1000 / cost tokens/s.
 * - One stream's time per token is the latency Σ stage ms + hops, reported beside the cost. Throughput
 *   may not be bought with much latency: a replica must stay within `maxLatencyStretch` (×1.25) of the
 *   single-stream latency the best subset of its nodes achieves on its own, so a model that fits the
 *   fastest node runs there alone unless a split is faster by both measures' lights.
 * - The plan maximises the total rate Σ 1000 / cost over disjoint replicas. Hops make a split strictly
 *   worse than the same nodes as separate replicas, so nodes that each hold the model become
 *   single-node replicas (data parallelism), and pipelines are only as long as memory or speed demand.
 *   Requests pick a replica by expected time to finish (route_request.ts).
 *
 * ## Algorithm
 * Members that report unusable numbers, are busier than `maxLoad` or cannot hold one layer are left
 * out with that reason. The rest, sorted by id, are searched exhaustively (split_search.ts): every
 * ordered subset with a DP over contiguous layer splits, the best order per subset, then the best
 * partition into replicas. The order of stages is therefore chosen, not assumed; it matters through
 * per-pair RTTs and through which stages hold the embedding and the head. Above `exactSearchNodes`
 * (6: 1,956 ordered subsets) members are cut into groups of that size by effective speed and each
 * group is planned alone. Ties fall to the smaller node id, because everything iterates in id order
 * and a choice only replaces an earlier one when it is better by more than rounding noise.
 *
 * @example
 * ```ts
 * const plan = planCluster({ epoch: 1, members, model: modelCostFromConfig(cfg, 2), rttMs });
 * plan.replicas[0].stages; // [{ nodeId: "gpu", start: 0, end: 18, embedding: true, head: false, … }, …]
 * ```
 *
 * @module
 */

import { buildReplica, CostModel, type NodeModel, nodeModel } from "./cost_model.ts";
import { totalModelBytes, validateModelCost } from "./model_cost.ts";
import {
  defaultPlannerOptions,
  type NodeDecision,
  type Plan,
  PlannerError,
  type PlannerInput,
  type PlannerOptions,
  type Replica,
} from "./planner_types.ts";
import { bestPartition, bestPerSubset, definitelyLess, enumerateCandidates } from "./split_search.ts";

/** Largest exhaustive group: 12 nodes already mean ~1.3 billion ordered subsets. */
const EXACT_SEARCH_NODES_LIMIT = 8;

/** Options with defaults filled in and checked. */
export function resolvePlannerOptions(options: Partial<PlannerOptions> = {}): PlannerOptions {
  const o = { ...defaultPlannerOptions(), ...options };
  const check = (ok: boolean, field: string, value: number) => {
    if (!ok) throw new PlannerError(`planner option ${field} = ${value} is out of range`);
  };
  check(
    o.wireBytesPerValue > 0 && Number.isFinite(o.wireBytesPerValue),
    "wireBytesPerValue",
    o.wireBytesPerValue,
  );
  check(o.defaultRttMs >= 0 && Number.isFinite(o.defaultRttMs), "defaultRttMs", o.defaultRttMs);
  check(o.defaultLinkBytesPerSec > 0, "defaultLinkBytesPerSec", o.defaultLinkBytesPerSec);
  check(o.hopOverheadMs >= 0 && Number.isFinite(o.hopOverheadMs), "hopOverheadMs", o.hopOverheadMs);
  check(o.maxLoad > 0 && o.maxLoad <= 1, "maxLoad", o.maxLoad);
  check(o.maxLatencyStretch >= 1, "maxLatencyStretch", o.maxLatencyStretch);
  check(o.maxReplicas >= 0, "maxReplicas", o.maxReplicas);
  check(
    Number.isInteger(o.exactSearchNodes) && o.exactSearchNodes >= 1 &&
      o.exactSearchNodes <= EXACT_SEARCH_NODES_LIMIT,
    "exactSearchNodes",
    o.exactSearchNodes,
  );
  return o;
}

/** Members by id in code-unit order, which is the same on every node whatever its locale. */
export function byId<T extends { readonly id: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Compares replicas: lower cost first, then the first stage's node id. */
function replicaOrder(a: Replica, b: Replica): number {
  if (definitelyLess(a.costMs, b.costMs)) return -1;
  if (definitelyLess(b.costMs, a.costMs)) return 1;
  return a.stages[0].nodeId < b.stages[0].nodeId ? -1 : a.stages[0].nodeId > b.stages[0].nodeId ? 1 : 0;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Plans one group exhaustively: its replicas, and for each node whether any replica could hold it. */
function planGroup(input: PlannerInput, nodes: readonly NodeModel[], options: PlannerOptions) {
  const cost = new CostModel(input.model, nodes, input.rttMs, options);
  const candidates = enumerateCandidates(cost);
  const best = bestPerSubset(candidates, nodes.length, options.maxLatencyStretch);
  const masks = bestPartition(best, nodes.length, options.maxReplicas);
  const replicas = masks.map((m) => buildReplica(cost, best[m]!.order, best[m]!.cuts)!);
  let feasible = 0; // bit i: node i appears in some candidate
  for (const c of candidates) feasible |= c.mask;
  return { replicas, feasible: nodes.map((_, i) => (feasible & (1 << i)) !== 0) };
}

/**
 * The plan for one view of the cluster. Throws PlannerError only for caller mistakes (duplicate member
 * ids, an invalid model cost or options); a member with unusable gossip numbers is left out with
 * reason `invalid-report`.
 */
export function planCluster(input: PlannerInput, options: Partial<PlannerOptions> = {}): Plan {
  const opts = resolvePlannerOptions(options);
  validateModelCost(input.model);
  const members = byId(input.members);
  for (let i = 1; i < members.length; i++) {
    if (members[i].id === members[i - 1].id) throw new PlannerError(`duplicate member id "${members[i].id}"`);
  }
  const minLayerBytes = Math.min(...input.model.layerBytes);
  const decisions = new Map<string, NodeDecision>();
  const leaveOut = (id: string, reason: NodeDecision["reason"], detail: string) =>
    decisions.set(id, { nodeId: id, included: false, reason, detail });
  const eligible: NodeModel[] = [];
  for (const m of members) {
    const node = nodeModel(m, opts);
    if (!node) {
      leaveOut(m.id, "invalid-report", "reported a memory, throughput or load that is not a usable number");
    } else if (m.load >= opts.maxLoad) {
      leaveOut(m.id, "too-busy", `load ${m.load.toFixed(2)} ≥ ${opts.maxLoad}`);
    } else if (m.memoryBytes < minLayerBytes) {
      leaveOut(m.id, "no-memory", `holds ${mb(m.memoryBytes)}, one layer needs ${mb(minLayerBytes)}`);
    } else eligible.push(node);
  }

  // groups of at most exactSearchNodes, fastest first; each group in id order for the search
  const ranked = eligible.length <= opts.exactSearchNodes
    ? eligible
    : [...eligible].sort((a, b) =>
      definitelyLess(b.bytesPerMs, a.bytesPerMs) ? -1 : definitelyLess(a.bytesPerMs, b.bytesPerMs) ? 1 : 0
    );
  let replicas: Replica[] = [];
  const noPipeline = new Set<string>();
  for (let g = 0; g < ranked.length; g += opts.exactSearchNodes) {
    const group = byId(ranked.slice(g, g + opts.exactSearchNodes));
    const result = planGroup(input, group, opts);
    replicas.push(...result.replicas);
    group.forEach((n, i) => result.feasible[i] || noPipeline.add(n.id));
  }
  replicas.sort(replicaOrder);
  const dropped = replicas.slice(opts.maxReplicas);
  replicas = replicas.slice(0, opts.maxReplicas);

  replicas.forEach((r, ri) =>
    r.stages.forEach((s, si) => {
      const extras = `${s.embedding ? " + embedding" : ""}${s.head ? " + head" : ""}`;
      decisions.set(s.nodeId, {
        nodeId: s.nodeId,
        included: true,
        reason: "stage",
        detail:
          `replica ${ri} stage ${si}: layers ${s.start}..${s.end - 1}${extras} (${mb(s.weightBytes)}), ` +
          `${s.computeMs.toFixed(2)} ms/token compute, ${s.hopMs.toFixed(2)} ms/token to the next stage`,
      });
    })
  );
  for (const r of dropped) {
    for (const s of r.stages) {
      leaveOut(s.nodeId, "replica-limit", `the plan already has ${opts.maxReplicas} replicas`);
    }
  }
  const total = mb(totalModelBytes(input.model));
  for (const n of eligible) {
    if (decisions.has(n.id)) continue;
    if (noPipeline.has(n.id)) {
      leaveOut(
        n.id,
        "no-pipeline",
        `holds ${mb(n.memoryBytes)}: no replica with the nodes left holds the ${total} model`,
      );
    } else {
      leaveOut(
        n.id,
        "slower",
        `every plan using it is slower: its layers would cost more in hops than its speed saves, ` +
          `or stretch one stream's latency past ×${opts.maxLatencyStretch}`,
      );
    }
  }
  return {
    epoch: input.epoch,
    replicas,
    decisions: members.map((m) => decisions.get(m.id)!),
    tokensPerSec: replicas.reduce((s, r) => s + r.tokensPerSec, 0),
    brokenReplicas: 0,
  };
}
