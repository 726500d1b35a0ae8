/**
 * The layer planner: a pure function from the cluster's gossip view to a plan of pipeline replicas,
 * with hysteresis for re-planning and request routing across replicas. See plan_cluster.ts.
 *
 * @module
 */
export * from "./planner_types.ts";
export * from "./model_cost.ts";
export {
  buildReplica,
  CostModel,
  FORWARD_ROW_OVERHEAD_BYTES,
  type NodeModel,
  nodeModel,
} from "./cost_model.ts";
export { planCluster, resolvePlannerOptions } from "./plan_cluster.ts";
export * from "./replan.ts";
export * from "./route_request.ts";
