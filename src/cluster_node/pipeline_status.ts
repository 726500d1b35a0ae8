/**
 * The layer plan as `GET /cluster/status` and `edgering status` show it: which node runs which layers,
 * each stage's predicted compute and wire time per token, and why each member was placed or left out.
 *
 * Pure: a planner `Plan` in, a JSON-ready record or text lines out.
 *
 * @example
 * ```ts
 * const status = pipelineStatus(plan, { mode: "pipeline", reason: "no-plan", stage: { start: 0, end: 2 } });
 * console.log(formatPipeline(status).join("\n"));
 * ```
 *
 * @module
 */
import type { Plan } from "../../cluster/planner/mod.ts";

/** How this node serves requests now. */
export type PipelineMode =
  | "local" // the model runs on this node alone, through its own scheduler
  | "pipeline" // requests go through the plan's stages (this node may or may not hold one)
  | "none"; // no plan covers the model: requests fail with 503

/** One stage of a replica, for the status document. */
export interface PipelineStageRow {
  node: string;
  /** first layer */
  start: number;
  /** one past the last layer */
  end: number;
  embedding: boolean;
  head: boolean;
  weightBytes: number;
  /** predicted compute per token, ms */
  computeMs: number;
  /** predicted wire time per token to the next stage (from the last: the token back), ms */
  hopMs: number;
}

/** The plan part of the status document. */
export interface PipelineStatus {
  mode: PipelineMode;
  /** plan epoch (a hash of the layout: equal on every node that computed the same plan) */
  epoch: number;
  /** why the current plan was adopted: no-plan (first), broken, gain, steady, or adopted (the plan most
   * members follow, taken over on joining) */
  reason: string;
  /** model id the plan is for, and its total weight bytes on one node */
  model: string;
  modelBytes: number;
  /** predicted tokens/s of the whole plan */
  tokensPerSec: number;
  replicas: Array<{ costMs: number; latencyMs: number; stages: PipelineStageRow[] }>;
  decisions: Array<{ node: string; included: boolean; reason: string; detail: string }>;
  /** this node's stage server: its layers and address, when it runs one */
  stage?: { start: number; end: number; address: string };
}

/** Rounds ms to 0.001 for the document. */
function ms(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The status record of `plan`. */
export function pipelineStatus(
  plan: Plan,
  extra: Pick<PipelineStatus, "mode" | "reason" | "model" | "modelBytes" | "stage">,
): PipelineStatus {
  return {
    mode: extra.mode,
    epoch: plan.epoch,
    reason: extra.reason,
    model: extra.model,
    modelBytes: extra.modelBytes,
    tokensPerSec: Math.round(plan.tokensPerSec * 10) / 10,
    replicas: plan.replicas.map((r) => ({
      costMs: ms(r.costMs),
      latencyMs: ms(r.latencyMs),
      stages: r.stages.map((s) => ({
        node: s.nodeId,
        start: s.start,
        end: s.end,
        embedding: s.embedding,
        head: s.head,
        weightBytes: s.weightBytes,
        computeMs: ms(s.computeMs),
        hopMs: ms(s.hopMs),
      })),
    })),
    decisions: plan.decisions.map((d) => ({
      node: d.nodeId,
      included: d.included,
      reason: d.reason,
      detail: d.detail,
    })),
    ...(extra.stage ? { stage: extra.stage } : {}),
  };
}

/** Lines for `edgering status`: one per replica stage, then one per placement decision. */
export function formatPipeline(p: PipelineStatus): string[] {
  const lines = [
    `plan:       ${p.mode} · epoch ${p.epoch} (${p.reason}) · ${p.model} · ${p.replicas.length} replica${
      p.replicas.length === 1 ? "" : "s"
    } · ${p.tokensPerSec} tok/s predicted`,
  ];
  p.replicas.forEach((r, i) => {
    lines.push(`  replica ${i}: ${r.costMs} ms/token bottleneck+hops, ${r.latencyMs} ms/token one stream`);
    for (const s of r.stages) {
      const parts = [s.embedding ? "embd" : "", s.head ? "head" : ""].filter((x) => x).join("+");
      lines.push(
        `    ${s.node}  layers ${s.start}-${s.end}${
          parts ? ` +${parts}` : ""
        }  compute ${s.computeMs} ms/token` +
          `  hop ${s.hopMs} ms`,
      );
    }
  });
  for (const d of p.decisions) {
    lines.push(`  ${d.included ? "+" : "-"} ${d.node}: ${d.reason}${d.detail ? ` (${d.detail})` : ""}`);
  }
  if (p.stage) lines.push(`  this node: stage ${p.stage.start}-${p.stage.end} on ${p.stage.address}`);
  return lines;
}
