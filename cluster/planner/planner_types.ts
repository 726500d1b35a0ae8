/**
 * Inputs, options and outputs of the layer planner (see plan_cluster.ts for the cost model and the
 * algorithm). Units are in every name or comment: bytes, bytes/s, FLOP/s, ms.
 *
 * @module
 */

/** Compute backend a node runs its stage on (informational: speed comes from the measured score). */
export type BackendKind = "webgpu" | "wasm" | "reference";

/** One live cluster member as gossip reports it. */
export interface PlannerMember {
  /** unique node id (the gossip name); ties between equal choices go to the smaller id */
  readonly id: string;
  /** human-readable name for status output */
  readonly name?: string;
  readonly backend: BackendKind;
  /** bytes of weights this node may hold (`--weights-memory`) */
  readonly memoryBytes: number;
  /**
   * Throughput score, bytes/s: weight bytes the node streams through its matmuls per second while
   * decoding one token at a time, measured by a decode probe (weight bytes of the probe / seconds per
   * token). Decode is memory-bound, so this predicts a stage's ms per token from its weight bytes.
   */
  readonly bytesPerSec: number;
  /** optional compute rate, FLOP/s; when given, stage time is the roofline max(bytes/bytesPerSec, flops/flopsPerSec) */
  readonly flopsPerSec?: number;
  /** fraction of the node's compute busy with other work, 0..1; effective speed = score × (1 − load) */
  readonly load: number;
  /** sequences queued or running on the node when gossip last reported; routing falls back to it */
  readonly queueDepth?: number;
  /** network bandwidth of the node, bytes/s; a hop runs at the slower end's; default from options */
  readonly linkBytesPerSec?: number;
}

/** What running the model costs, per layer and for the embedding and output head. */
export interface ModelCost {
  readonly layers: number;
  /** [layers] weight bytes of each transformer block (read once per decode token) */
  readonly layerBytes: readonly number[];
  /** [layers] FLOPs per token of each block */
  readonly layerFlops: readonly number[];
  /** token_embd bytes: held by the first stage, and by the last when the head is tied to it */
  readonly embeddingBytes: number;
  /** output.weight bytes; 0 when tied (the head reuses the embedding) */
  readonly headBytes: number;
  /** output_norm bytes (last stage) */
  readonly outputNormBytes: number;
  /** FLOPs per token of the output head (2 · vocab · dim) */
  readonly headFlops: number;
  readonly tiedEmbeddings: boolean;
  /** model width: hidden-state values each token carries across a hop */
  readonly dim: number;
}

/** Everything the planner reads: one gossip view. */
export interface PlannerInput {
  /** epoch stamped on the plan */
  readonly epoch: number;
  readonly members: readonly PlannerMember[];
  readonly model: ModelCost;
  /**
   * Measured round-trip times, ms: `rttMs[a][b]`. Either direction may be given; when both are, the
   * larger counts. Missing pairs use `defaultRttMs`.
   */
  readonly rttMs?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** Tuning of the planner; every field has a default in {@link defaultPlannerOptions}. */
export interface PlannerOptions {
  /** bytes per hidden-state value on the wire: 2 (f16, default) or 4 (f32, `--wire-dtype f32`) */
  readonly wireBytesPerValue: number;
  /** RTT assumed for a pair gossip has not measured yet, ms */
  readonly defaultRttMs: number;
  /** link bandwidth for members that do not report one, bytes/s (1 Gbit/s) */
  readonly defaultLinkBytesPerSec: number;
  /** fixed cost of one hop per token beyond RTT and transfer (framing, syscalls, wake-ups), ms */
  readonly hopOverheadMs: number;
  /** members at or above this load are left out as too busy: near 1 their speed is noise */
  readonly maxLoad: number;
  /**
   * A replica may be at most this many times slower for a single stream than the best replica made of
   * a subset of its nodes: it stops throughput gains from making interactive latency much worse
   * (a GPU alone at 10 ms/token is not traded for a GPU+CPU split at 25 ms/token). Infinity disables it.
   */
  readonly maxLatencyStretch: number;
  /** most replicas in a plan */
  readonly maxReplicas: number;
  /**
   * Clusters up to this size are searched exhaustively (every ordered subset, 1,956 for 6 nodes); larger
   * ones are cut into groups of this size by effective speed and each group is searched on its own.
   */
  readonly exactSearchNodes: number;
}

/** Defaults: f16 on the wire, a LAN, a 25% latency allowance, exhaustive search up to 6 nodes. */
export function defaultPlannerOptions(): PlannerOptions {
  return {
    wireBytesPerValue: 2,
    defaultRttMs: 1,
    defaultLinkBytesPerSec: 125e6,
    hopOverheadMs: 0.05,
    maxLoad: 0.95,
    maxLatencyStretch: 1.25,
    maxReplicas: 64,
    exactSearchNodes: 6,
  };
}

/** One node's share of a replica: a contiguous layer range, compatible with model_weights' LayerRange. */
export interface PlanStage {
  readonly nodeId: string;
  /** first layer */
  readonly start: number;
  /** one past the last layer */
  readonly end: number;
  /** holds token_embd (first stage) */
  readonly embedding: boolean;
  /** holds output_norm and the head (last stage) */
  readonly head: boolean;
  /** weight bytes this stage holds */
  readonly weightBytes: number;
  /** predicted compute per token at the node's current load, ms */
  readonly computeMs: number;
  /** predicted wire time per token to the next stage (from the last stage: the token back to the first), ms */
  readonly hopMs: number;
  /** the node's queue depth when the plan was made; routing uses it when no live depth is known */
  readonly queueDepth: number;
}

/** One pipeline holding the whole model. */
export interface Replica {
  readonly stages: readonly PlanStage[];
  /** slowest stage's computeMs: with the pipeline full, one token leaves every bottleneckMs */
  readonly bottleneckMs: number;
  /** Σ hopMs over the replica's hops (0 for one stage) */
  readonly hopsMs: number;
  /** the planner's objective: bottleneckMs + hopsMs */
  readonly costMs: number;
  /** one stream's ms per token: Σ computeMs + hopsMs */
  readonly latencyMs: number;
  /** the rate the planner credits the replica with: 1000 / costMs */
  readonly tokensPerSec: number;
}

/** Why a member is, or is not, in the plan. */
export type NodeReason =
  | "stage" // included
  | "invalid-report" // gossip reported a non-finite or negative number
  | "too-busy" // load ≥ maxLoad
  | "no-memory" // cannot hold even one layer
  | "no-pipeline" // no replica that holds the model can be formed with it from the nodes left
  | "slower" // every plan using it is slower (hops outweigh its speed, or it stretches latency)
  | "replica-limit"; // it would form a replica, but the plan already has maxReplicas

export interface NodeDecision {
  readonly nodeId: string;
  readonly included: boolean;
  readonly reason: NodeReason;
  /** one line for `edgering status` */
  readonly detail: string;
}

/** The planner's output: which node runs which layers. */
export interface Plan {
  readonly epoch: number;
  /** best first (lowest costMs); empty when no set of members can hold the model */
  readonly replicas: readonly Replica[];
  /** one per member, in id order */
  readonly decisions: readonly NodeDecision[];
  /** Σ replicas' tokensPerSec: what the planner maximises */
  readonly tokensPerSec: number;
  /** replicas dropped by recostPlan because a node left, got too busy or shrank its memory */
  readonly brokenReplicas: number;
}

/** Input the planner cannot work with (duplicate ids, an impossible model cost, bad options). */
export class PlannerError extends Error {
  override name = "PlannerError";
}
