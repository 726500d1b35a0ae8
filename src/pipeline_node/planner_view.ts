/**
 * From one gossip view (the status document's member rows) to what the layer planner reads, and the
 * pure decisions a serving node takes from a plan: its own stage, whether it serves alone, the plan
 * epoch every node agrees on.
 *
 * Every node computes its plan on its own, so the inputs must be equal on every node: only figures
 * each member advertises about itself (score, memory budget, backend, the RTTs it measured to its
 * peers, in 0.1 ms steps) and its load rounded to 1/{@link LOAD_STEPS} enter the plan. The RTTs a node
 * measured itself (a row's `rttMs`) stay out: only it sees them. The planner takes the larger of a
 * pair's two advertised directions. RTTs under {@link RTT_FLOOR_MS} count as that floor: below it a
 * round trip measures the hosts' scheduling noise more than the link, and layers must not move for it.
 *
 * @example
 * ```ts
 * const view = plannerView(status.members, "stories260K");
 * const plan = planCluster({ epoch: 0, members: view.members, model: cost });
 * layoutEpoch(plan); // same number on every node for the same layout
 * ```
 *
 * @module
 */
import {
  layoutKey,
  type Plan,
  type PlannerInput,
  type PlannerMember,
  type PlanStage,
} from "../../cluster/planner/mod.ts";
import type { MemberPlan, MemberRow } from "../cluster_node/cluster_status.ts";

/** Loads are rounded down to 1/LOAD_STEPS before planning (0..1): nodes see each other's loads a
 * little apart in time, and the same rounded figures keep their plans equal. */
export const LOAD_STEPS = 10;

/** Least RTT the planner is given, ms: the planner's own assumption for an unmeasured pair (a LAN hop
 * with slack). On one host or a quiet LAN every pair then costs the same and ties go by node id, as
 * before any RTT was measured; a link measurably slower than that moves layers. */
export const RTT_FLOOR_MS = 1;

const PLANNER_BACKENDS = new Set(["reference", "wasm", "webgpu"]);

/** The members able to hold a share of a model, with where to reach them. */
export interface PipelineView {
  /** members that serve the model, announced a pipeline address, a score and a memory budget; by id */
  readonly members: PlannerMember[];
  /** node id → its pipeline "host:port" */
  readonly addresses: ReadonlyMap<string, string>;
  /** node id → requests queued and running there (for routing between replicas) */
  readonly depths: ReadonlyMap<string, number>;
  /** every member gossip reports alive or suspect, whatever it serves */
  readonly alive: ReadonlySet<string>;
  /** advertised RTTs between planner members, ms: `rttMs[a][b]` as `a` measured it */
  readonly rttMs: NonNullable<PlannerInput["rttMs"]>;
  /** the plans planner members advertise they follow, by member id */
  readonly plans: ReadonlyMap<string, MemberPlan>;
}

/** The planner's view of `rows` for `modelId`. Node ids are gossip names (unique in a ring). */
export function plannerView(rows: readonly MemberRow[], modelId: string): PipelineView {
  const members: PlannerMember[] = [];
  const addresses = new Map<string, string>();
  const depths = new Map<string, number>();
  const alive = new Set<string>();
  const plans = new Map<string, MemberPlan>();
  const measured = new Map<string, Record<string, number>>();
  for (const r of rows) {
    if (r.status !== "alive" && r.status !== "suspect") continue;
    alive.add(r.name);
    if (!r.models.includes(modelId) || !r.pipelineAddr || !PLANNER_BACKENDS.has(r.backend)) continue;
    if (!(r.score! > 0) || !(r.memoryBudgetBytes! > 0)) continue;
    const utilisation = r.load?.utilisation ?? 0;
    const load = Math.min(1, Math.max(0, Math.floor(utilisation * LOAD_STEPS) / LOAD_STEPS));
    const depth = r.load ? r.load.queueDepth + r.load.activeSequences : 0;
    members.push({
      id: r.name,
      backend: r.backend as PlannerMember["backend"],
      memoryBytes: r.memoryBudgetBytes!,
      bytesPerSec: r.score!,
      load,
      queueDepth: depth,
    });
    addresses.set(r.name, r.pipelineAddr);
    depths.set(r.name, depth);
    if (r.plan) plans.set(r.name, r.plan);
    if (r.peerRttsMs) measured.set(r.name, r.peerRttsMs);
  }
  members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const rttMs: Record<string, Record<string, number>> = {};
  for (const [from, peers] of measured) {
    const row: Record<string, number> = {};
    for (const [to, ms] of Object.entries(peers)) {
      if (addresses.has(to) && to !== from) row[to] = Math.max(RTT_FLOOR_MS, ms);
    }
    if (Object.keys(row).length > 0) rttMs[from] = row;
  }
  return { members, addresses, depths, alive, rttMs, plans };
}

/**
 * The epoch of a plan: FNV-1a of its layout (who runs which layers), in 1..2^32−1. Equal layouts get
 * equal epochs on every node without any agreement protocol; stages refuse frames of another layout.
 */
export function layoutEpoch(plan: Plan): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(layoutKey(plan))) {
    h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  }
  return h || 1;
}

/** The stage `nodeId` runs in `plan`, if any (replicas are disjoint: at most one). */
export function stageOf(plan: Plan, nodeId: string): PlanStage | undefined {
  for (const r of plan.replicas) {
    const s = r.stages.find((st) => st.nodeId === nodeId);
    if (s) return s;
  }
  return undefined;
}

/** Whether `nodeId` holds a whole replica on its own in `plan`. */
export function servesAlone(plan: Plan, nodeId: string): boolean {
  return plan.replicas.some((r) => r.stages.length === 1 && r.stages[0].nodeId === nodeId);
}

/**
 * Whether any entry will route through pipeline stages: some replica is split, or some member cannot
 * hold the model alone (it then sends its requests to the replicas, single-node ones included).
 * When not, every node serves locally and no stage server is needed (nor its second copy of weights).
 */
export function pipelineInUse(plan: Plan, members: readonly PlannerMember[], modelBytes: number): boolean {
  return plan.replicas.some((r) => r.stages.length > 1) || members.some((m) => m.memoryBytes < modelBytes);
}

/** `plan` without the replicas that use a node of `avoid` (a failed sequence's replay must avoid them). */
export function avoiding(plan: Plan, avoid: ReadonlySet<string>): Plan {
  if (avoid.size === 0) return plan;
  return { ...plan, replicas: plan.replicas.filter((r) => r.stages.every((s) => !avoid.has(s.nodeId))) };
}
