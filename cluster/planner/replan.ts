/**
 * Hysteresis: when a new gossip view warrants a new plan epoch. Load reports are noisy; re-planning on
 * every wiggle would move layers (reloading weights, dropping KV caches) for nothing. The current plan
 * is re-costed under the new view and replaced only when it broke (a stage's node left, got too busy or
 * lost memory) or when the fresh plan predicts more than `threshold` (10%) more tokens/s.
 *
 * @example
 * ```ts
 * const { plan, decision } = nextPlan(current, view); // decision.replan: a new epoch starts
 * ```
 *
 * @module
 */

import { buildReplica, CostModel, type NodeModel, nodeModel } from "./cost_model.ts";
import { byId, planCluster, resolvePlannerOptions } from "./plan_cluster.ts";
import type {
  NodeDecision,
  Plan,
  PlannerInput,
  PlannerOptions,
  PlanStage,
  Replica,
} from "./planner_types.ts";

/** Predicted gain (fraction of tokens/s) a new plan must bring before it replaces a working one. */
export const DEFAULT_REPLAN_THRESHOLD = 0.1;

export interface ReplanDecision {
  readonly replan: boolean;
  /** no-plan: nothing to keep; broken: the current plan lost a replica; gain: the candidate is enough better */
  readonly reason: "no-plan" | "broken" | "gain" | "steady";
  /** candidate tokens/s ÷ current tokens/s − 1 */
  readonly gain: number;
}

/**
 * A canonical text of the plan's layout (who runs which layers, replicas in any order), equal on every
 * node for equal layouts: `a:0-11>b:11-22|c:0-22`.
 */
export function layoutKey(plan: Plan): string {
  return plan.replicas.map((r) => r.stages.map((s) => `${s.nodeId}:${s.start}-${s.end}`).join(">")).sort()
    .join("|");
}

/**
 * The same layout with costs predicted from a new view. Replicas that can no longer run (a stage's
 * node is gone, unusable, at maxLoad or short of memory; the model changed) are dropped and counted
 * in `brokenReplicas`.
 */
export function recostPlan(plan: Plan, input: PlannerInput, options: Partial<PlannerOptions> = {}): Plan {
  const opts = resolvePlannerOptions(options);
  const nodes: NodeModel[] = [];
  for (const m of byId(input.members)) {
    const n = nodeModel(m, opts);
    if (n && m.load < opts.maxLoad) nodes.push(n);
  }
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const cost = new CostModel(input.model, nodes, input.rttMs, opts);
  const replicas: Replica[] = [];
  for (const r of plan.replicas) {
    const order = r.stages.map((s) => index.get(s.nodeId) ?? -1);
    const cuts = [...r.stages.map((s) => s.start), r.stages[r.stages.length - 1].end];
    const wholeModel = cuts[0] === 0 && cuts[cuts.length - 1] === input.model.layers;
    const rebuilt = order.includes(-1) || !wholeModel ? undefined : buildReplica(cost, order, cuts);
    if (rebuilt) replicas.push(rebuilt);
  }
  return {
    ...plan,
    replicas,
    tokensPerSec: replicas.reduce((s, r) => s + r.tokensPerSec, 0),
    brokenReplicas: plan.brokenReplicas + plan.replicas.length - replicas.length,
  };
}

/**
 * Whether `candidate` should replace `current`. `current` must be re-costed under the same view as
 * the candidate ({@link recostPlan}), or the comparison mixes old and new loads.
 */
export function shouldReplan(
  current: Plan | undefined,
  candidate: Plan,
  threshold: number = DEFAULT_REPLAN_THRESHOLD,
): ReplanDecision {
  if (!current) return { replan: true, reason: "no-plan", gain: Infinity };
  const gain = current.tokensPerSec > 0
    ? candidate.tokensPerSec / current.tokensPerSec - 1
    : candidate.tokensPerSec > 0
    ? Infinity
    : 0;
  if (current.brokenReplicas > 0) return { replan: true, reason: "broken", gain };
  if (layoutKey(current) === layoutKey(candidate)) return { replan: false, reason: "steady", gain: 0 };
  return gain > threshold
    ? { replan: true, reason: "gain", gain }
    : { replan: false, reason: "steady", gain };
}

/**
 * The plan to follow after a new view: the fresh plan (stamped with `input.epoch`) when
 * {@link shouldReplan} says so, else the current layout re-costed, keeping its epoch.
 */
export function nextPlan(
  current: Plan | undefined,
  input: PlannerInput,
  options: Partial<PlannerOptions> = {},
  threshold: number = DEFAULT_REPLAN_THRESHOLD,
): { plan: Plan; decision: ReplanDecision } {
  const recosted = current && recostPlan(current, input, options);
  const candidate = planCluster(input, options);
  const decision = shouldReplan(recosted, candidate, threshold);
  return { plan: decision.replan || !recosted ? candidate : recosted, decision };
}

/** One stage of a layout another node advertises: who runs layers [start, end). */
export interface LayoutStage {
  readonly nodeId: string;
  readonly start: number;
  readonly end: number;
}

/**
 * Replicas with `layout`'s stages and every cost zero (the first stage holds the embedding, the last
 * the head): the shape a plan is costed from, and all an epoch (a hash of the layout) needs.
 */
export function layoutReplicas(layout: readonly (readonly LayoutStage[])[]): Replica[] {
  return layout.map((r) => ({
    stages: r.map((s, i): PlanStage => ({
      nodeId: s.nodeId,
      start: s.start,
      end: s.end,
      embedding: i === 0,
      head: i === r.length - 1,
      weightBytes: 0,
      computeMs: 0,
      hopMs: 0,
      queueDepth: 0,
    })),
    bottleneckMs: 0,
    hopsMs: 0,
    costMs: 0,
    latencyMs: 0,
    tokensPerSec: 0,
  }));
}

/**
 * A plan with a given layout (replicas of stages) and epoch, costed under `input` as
 * {@link recostPlan} would: how a node that has no plan yet — it just joined — takes over the plan
 * the ring already runs, so that the hysteresis of {@link nextPlan} applies to it as it does to the
 * nodes that made it. A replica that cannot run under `input` counts in `brokenReplicas` (a joiner
 * then re-plans as the others do). Members outside the layout are left out with reason "slower"
 * (hysteresis keeps the running layout until a re-plan gains enough), or with the reason the planner
 * itself gives them when that is stronger (too busy, no memory, an invalid report).
 *
 * @example
 * ```ts
 * const layout = [[{ nodeId: "a", start: 0, end: 3 }, { nodeId: "b", start: 3, end: 5 }]];
 * const current = planFromLayout(epoch, layout, input);
 * const { plan } = nextPlan(current, input); // the running layout unless a re-plan is due
 * ```
 */
export function planFromLayout(
  epoch: number,
  layout: readonly (readonly LayoutStage[])[],
  input: PlannerInput,
  options: Partial<PlannerOptions> = {},
): Plan {
  const skeleton = layoutReplicas(layout.filter((r) => r.length > 0));
  // a layout from the network must be well formed: contiguous ranges, each node in one stage at most
  const seen = new Set<string>();
  const usable = skeleton.filter((r) => {
    const ok = r.stages.every((s, i) => (i === 0 || s.start === r.stages[i - 1].end) && !seen.has(s.nodeId));
    r.stages.forEach((s) => seen.add(s.nodeId));
    return ok && new Set(r.stages.map((s) => s.nodeId)).size === r.stages.length;
  });
  const plan = recostPlan(
    {
      epoch,
      replicas: usable,
      decisions: [],
      tokensPerSec: 0,
      brokenReplicas: skeleton.length - usable.length,
    },
    input,
    options,
  );
  const fresh = new Map(planCluster(input, options).decisions.map((d) => [d.nodeId, d]));
  const decisions = byId(input.members).map((m): NodeDecision => {
    for (const [ri, r] of plan.replicas.entries()) {
      const si = r.stages.findIndex((s) => s.nodeId === m.id);
      if (si < 0) continue;
      const s = r.stages[si];
      return {
        nodeId: m.id,
        included: true,
        reason: "stage",
        detail: `replica ${ri} stage ${si}: layers ${s.start}..${s.end - 1} of the running plan, ` +
          `${s.computeMs.toFixed(2)} ms/token compute, ${s.hopMs.toFixed(2)} ms/token to the next stage`,
      };
    }
    const own = fresh.get(m.id);
    return own && !own.included && own.reason !== "slower" && own.reason !== "replica-limit" ? own : {
      nodeId: m.id,
      included: false,
      reason: "slower",
      detail: "not in the running plan: a re-plan that adds it does not gain enough yet (hysteresis)",
    };
  });
  return { ...plan, decisions };
}
