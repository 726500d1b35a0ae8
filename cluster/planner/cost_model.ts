/**
 * The planner's cost model: how long a node takes for a layer range, what it must hold, and what a hop
 * between two nodes costs, all per decode token. Pure arithmetic over prefix sums, so any stage's cost
 * is O(1); plan_cluster.ts documents the model as a whole.
 *
 * @module
 */

import type {
  ModelCost,
  PlannerInput,
  PlannerMember,
  PlannerOptions,
  PlanStage,
  Replica,
} from "./planner_types.ts";

/** Framing bytes each token row adds to a FORWARD frame: position i32 + its share of a segment header. */
export const FORWARD_ROW_OVERHEAD_BYTES = 19;
/** Bytes of the token sent from the last stage back to the first (a TOKEN frame with one id). */
export const TOKEN_HOP_BYTES = 32;

/** A member as the planner sees it: effective speeds already discounted by load. */
export interface NodeModel {
  readonly member: PlannerMember;
  readonly id: string;
  /** effective decode throughput, bytes per ms: bytesPerSec × (1 − load) / 1000 */
  readonly bytesPerMs: number;
  /** effective compute rate, FLOPs per ms; Infinity when the member reports none */
  readonly flopsPerMs: number;
  readonly memoryBytes: number;
  readonly linkBytesPerSec: number;
}

/** The member as a NodeModel, or undefined when a number it reports is unusable. */
export function nodeModel(member: PlannerMember, options: PlannerOptions): NodeModel | undefined {
  const finite = (x: number) => Number.isFinite(x) && x >= 0;
  const link = member.linkBytesPerSec ?? options.defaultLinkBytesPerSec;
  const flops = member.flopsPerSec ?? Infinity;
  if (!finite(member.memoryBytes) || !finite(member.bytesPerSec) || !(member.load >= 0 && member.load <= 1)) {
    return undefined;
  }
  if (!(flops > 0) || !(link > 0) || !(member.bytesPerSec > 0)) return undefined;
  const free = 1 - member.load;
  return {
    member,
    id: member.id,
    bytesPerMs: (member.bytesPerSec * free) / 1000,
    flopsPerMs: (flops * free) / 1000,
    memoryBytes: member.memoryBytes,
    linkBytesPerSec: link,
  };
}

/** Stage and hop costs of one model on one set of nodes. */
export class CostModel {
  /** [layers + 1] Σ layerBytes[0, i) */
  readonly #bytes: Float64Array;
  /** [layers + 1] Σ layerFlops[0, i) */
  readonly #flops: Float64Array;
  readonly #rtt: PlannerInput["rttMs"];

  constructor(
    readonly model: ModelCost,
    readonly nodes: readonly NodeModel[],
    rttMs: PlannerInput["rttMs"],
    readonly options: PlannerOptions,
  ) {
    this.#rtt = rttMs;
    this.#bytes = new Float64Array(model.layers + 1);
    this.#flops = new Float64Array(model.layers + 1);
    for (let i = 0; i < model.layers; i++) {
      this.#bytes[i + 1] = this.#bytes[i] + model.layerBytes[i];
      this.#flops[i + 1] = this.#flops[i] + model.layerFlops[i];
    }
  }

  get layers(): number {
    return this.model.layers;
  }

  /** Weight bytes a stage over layers [start, end) holds. */
  stageMemory(start: number, end: number, first: boolean, last: boolean): number {
    const m = this.model;
    let bytes = this.#bytes[end] - this.#bytes[start];
    if (first) bytes += m.embeddingBytes;
    if (last) {
      bytes += m.outputNormBytes;
      // a tied head is the embedding table: the last stage holds it too, unless it is also the first
      bytes += m.tiedEmbeddings ? (first ? 0 : m.embeddingBytes) : m.headBytes;
    }
    return bytes;
  }

  /**
   * Compute ms per token of node `n` over layers [start, end), or Infinity when the stage does not fit
   * its memory. The last stage also streams the output norm and head; the embedding lookup reads one
   * row, which is negligible.
   */
  stageMs(n: number, start: number, end: number, first: boolean, last: boolean): number {
    const node = this.nodes[n];
    if (this.stageMemory(start, end, first, last) > node.memoryBytes) return Infinity;
    const m = this.model;
    let bytes = this.#bytes[end] - this.#bytes[start];
    let flops = this.#flops[end] - this.#flops[start];
    if (last) {
      bytes += m.outputNormBytes + (m.tiedEmbeddings ? m.embeddingBytes : m.headBytes);
      flops += m.headFlops;
    }
    return Math.max(bytes / node.bytesPerMs, flops / node.flopsPerMs);
  }

  /** Measured RTT between nodes a and b, ms (the larger direction when both are known). */
  rttMs(a: number, b: number): number {
    if (a === b) return 0;
    const ida = this.nodes[a].id, idb = this.nodes[b].id;
    const usable = (x: number | undefined) => x !== undefined && Number.isFinite(x) && x >= 0;
    const ab = this.#rtt?.[ida]?.[idb], ba = this.#rtt?.[idb]?.[ida];
    if (usable(ab) && usable(ba)) return Math.max(ab!, ba!);
    if (usable(ab)) return ab!;
    if (usable(ba)) return ba!;
    return this.options.defaultRttMs;
  }

  #transferMs(a: number, b: number, bytes: number): number {
    const link = Math.min(this.nodes[a].linkBytesPerSec, this.nodes[b].linkBytesPerSec);
    return this.rttMs(a, b) / 2 + (bytes / link) * 1000 + this.options.hopOverheadMs;
  }

  /** Wire ms per token of a hidden state from stage node a to stage node b: one-way latency + transfer. */
  hopMs(a: number, b: number): number {
    const bytes = this.model.dim * this.options.wireBytesPerValue + FORWARD_ROW_OVERHEAD_BYTES;
    return this.#transferMs(a, b, bytes);
  }

  /** Wire ms per token of the sampled token from the last stage back to the first. */
  returnHopMs(last: number, first: number): number {
    return this.#transferMs(last, first, TOKEN_HOP_BYTES);
  }
}

/**
 * The replica that runs stage s on node order[s] over layers [cuts[s], cuts[s + 1]), with its costs;
 * undefined when a stage does not fit its node's memory.
 */
export function buildReplica(
  cost: CostModel,
  order: readonly number[],
  cuts: readonly number[],
): Replica | undefined {
  const k = order.length;
  const stages: PlanStage[] = [];
  let bottleneckMs = 0, computeSum = 0, hopsMs = 0;
  for (let s = 0; s < k; s++) {
    const first = s === 0, last = s === k - 1;
    const computeMs = cost.stageMs(order[s], cuts[s], cuts[s + 1], first, last);
    if (computeMs === Infinity) return undefined;
    const hopMs = !last
      ? cost.hopMs(order[s], order[s + 1])
      : k > 1
      ? cost.returnHopMs(order[s], order[0])
      : 0;
    const member = cost.nodes[order[s]].member;
    stages.push({
      nodeId: member.id,
      start: cuts[s],
      end: cuts[s + 1],
      embedding: first,
      head: last,
      weightBytes: cost.stageMemory(cuts[s], cuts[s + 1], first, last),
      computeMs,
      hopMs,
      queueDepth: Number.isFinite(member.queueDepth) && member.queueDepth! > 0 ? member.queueDepth! : 0,
    });
    bottleneckMs = Math.max(bottleneckMs, computeMs);
    computeSum += computeMs;
    hopsMs += hopMs;
  }
  const costMs = bottleneckMs + hopsMs;
  return {
    stages,
    bottleneckMs,
    hopsMs,
    costMs,
    latencyMs: computeSum + hopsMs,
    tokensPerSec: 1000 / costMs,
  };
}
