/**
 * Gossip rows and a small model's cost for the pipeline node's pure tests (planner view, plan adoption).
 */
import { type ModelCost, modelCostFromConfig } from "../../cluster/planner/mod.ts";
import type { MemberRow } from "../../src/cluster_node/mod.ts";
import type { ModelConfig } from "../../src/model/model_config.ts";

/** A 4-layer, dim-64 llama's shape (only what the cost model reads). */
const SMALL_CONFIG = {
  layers: 4,
  dim: 64,
  ffn: 128,
  heads: 4,
  headDim: 16,
  kvHeads: 2,
  kvDim: 32,
  vocab: 512,
  ctx: 256,
  qkvBias: false,
  tiedEmbeddings: true,
};

/** Per-layer cost of {@link SMALL_CONFIG} with 2-byte weights. */
export const SMALL_MODEL_COST: ModelCost = modelCostFromConfig(SMALL_CONFIG as unknown as ModelConfig, 2);

/**
 * An alive, non-self member serving model "m" on the reference backend at pipeline port 4000 + the
 * length of its name, 1 GB/s score and 1 GB of weight memory; `extra` overrides any field.
 */
export function memberRow(name: string, extra: Partial<MemberRow> = {}): MemberRow {
  return {
    name,
    address: "127.0.0.1:1",
    status: "alive",
    incarnation: 1,
    statusAgeMs: 0,
    self: false,
    backend: "reference",
    models: ["m"],
    layers: [],
    pipelineAddr: `127.0.0.1:${4000 + name.length}`,
    memoryBudgetBytes: 1e9,
    score: 1e9,
    ...extra,
  };
}
