/**
 * Which plan a node compares a fresh plan against: the plan the ring runs, so that a node that just
 * joined adopts it (and its epoch) instead of proposing the layout it would plan from scratch.
 *
 * Every node advertises the epoch and layout of the plan it follows in its gossip metadata. Before
 * re-planning, a node takes the epoch most planner members follow — its own plan counts as its vote,
 * a tie goes to the smaller epoch — as its current plan: its own plan when that is it, else the
 * advertised layout costed under its own view (`planFromLayout`). Then the usual hysteresis
 * (`nextPlan`) decides whether a re-plan is due. A joiner therefore keeps the running layout unless a
 * re-plan gains more than the threshold, exactly as the nodes that made it would decide from the
 * same view; and two nodes that somehow follow different epochs converge on one.
 *
 * When the layout is not known (it did not fit the metadata, or names a node this view lacks), the
 * node keeps its own plan: a layout naming a missing node is broken, and the others re-plan too.
 *
 * Pure: views and plans in, a plan out.
 *
 * @example
 * ```ts
 * const current = referencePlan(own, view, "node-d", input, options);
 * const { plan, decision } = nextPlan(current.plan, input, options); // current.adopted: from the ring
 * ```
 *
 * @module
 */
import {
  layoutReplicas,
  type Plan,
  planFromLayout,
  type PlannerInput,
  type PlannerOptions,
} from "../../cluster/planner/mod.ts";
import type { MemberPlan } from "../cluster_node/cluster_status.ts";
import { layoutEpoch, type PipelineView } from "./planner_view.ts";

/**
 * The plan most members follow: its epoch, with a layout when some advertiser's layout is known and
 * hashes to that epoch. `own` is this node's plan (its vote); `plans` the advertised plans by member,
 * where this node's own advert, possibly stale, is ignored. Undefined when nobody has a plan.
 */
export function runningPlan(
  own: Plan | undefined,
  self: string,
  plans: ReadonlyMap<string, MemberPlan>,
): MemberPlan | undefined {
  const votes = new Map<number, number>();
  if (own) votes.set(own.epoch, 1);
  for (const [node, p] of plans) if (node !== self) votes.set(p.epoch, (votes.get(p.epoch) ?? 0) + 1);
  let epoch: number | undefined;
  for (const [e, n] of votes) {
    const best = epoch === undefined ? 0 : votes.get(epoch)!;
    if (n > best || (n === best && e < epoch!)) epoch = e;
  }
  if (epoch === undefined) return undefined;
  for (const [node, p] of plans) {
    if (node === self || p.epoch !== epoch || !p.replicas) continue;
    if (epochOfLayout(p) === epoch) return p;
  }
  return { epoch };
}

/** What {@link referencePlan} chose. */
export interface ReferencePlan {
  /** the plan to hand to `nextPlan` as the current one */
  readonly plan: Plan | undefined;
  /** true when it is the ring's plan, taken over from peers' adverts */
  readonly adopted: boolean;
}

/** The current plan to re-plan from (see the module doc). */
export function referencePlan(
  own: Plan | undefined,
  view: PipelineView,
  self: string,
  input: PlannerInput,
  options: Partial<PlannerOptions> = {},
): ReferencePlan {
  const running = runningPlan(own, self, view.plans);
  if (!running || running.epoch === own?.epoch || !running.replicas) return { plan: own, adopted: false };
  const layout = running.replicas.map((r) => r.map((s) => ({ nodeId: s.node, start: s.start, end: s.end })));
  return { plan: planFromLayout(running.epoch, layout, input, options), adopted: true };
}

/** The epoch of an advertised layout: what its advertiser's epoch must be (planner_view's layoutEpoch). */
export function epochOfLayout(p: MemberPlan): number {
  return layoutEpoch(skeleton(p));
}

/** A plan with `p`'s layout and no costs: enough for layoutEpoch. */
function skeleton(p: MemberPlan): Plan {
  const layout = (p.replicas ?? []).map((r) =>
    r.map((s) => ({ nodeId: s.node, start: s.start, end: s.end }))
  );
  return {
    epoch: p.epoch,
    replicas: layoutReplicas(layout),
    decisions: [],
    tokensPerSec: 0,
    brokenReplicas: 0,
  };
}
