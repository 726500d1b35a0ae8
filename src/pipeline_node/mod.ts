/**
 * A serving node's part in the layer pipeline: its planner view of the gossip ring, the plan it
 * follows, its stage server and the entry engine the API submits to while the model is split.
 *
 * @example
 * ```ts
 * import { PipelineNode } from "./mod.ts";
 * const pipeline = await PipelineNode.start({ cluster, model, served, modelId, weightsMemory, ... });
 * pipeline.run();
 * ```
 *
 * @module
 */
export * from "./follow_keys.ts";
export * from "./plan_adoption.ts";
export * from "./planner_view.ts";
export * from "./pipeline_node.ts";
