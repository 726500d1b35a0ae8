/**
 * A route: the ordered stages one sequence passes through (one replica of a plan, with each node's
 * pipeline address), and the checks that make a route usable.
 *
 * @example
 * ```ts
 * const replica = plan.replicas[routeRequest(plan)!.replica];
 * const route = routeFromReplica(plan.epoch, replica, (id) => members.get(id)?.pipelineAddr);
 * ```
 *
 * @module
 */

import type { Replica } from "../planner/planner_types.ts";
import type { LayerRange } from "../../src/model/model_weights.ts";
import { PipelineConfigError } from "./pipeline_errors.ts";

/** One stage of a route: a node, where to reach its pipeline port, and its layers. */
export interface RouteStage extends LayerRange {
  readonly nodeId: string;
  /** "host:port" of the node's StageServer */
  readonly address: string;
}

/** The stages of one replica, in layer order, under one plan epoch. */
export interface PipelineRoute {
  readonly epoch: number;
  readonly stages: readonly RouteStage[];
}

/** Splits "host:port" or "[v6]:port". Throws PipelineConfigError when malformed. */
export function parseAddress(address: string): { hostname: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:\[\]]+):(\d+)$/.exec(address);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) {
    throw new PipelineConfigError(`pipeline address "${address}" is not host:port`);
  }
  return { hostname: m[1], port };
}

/**
 * Why `route` cannot serve a model of `layers` layers, or undefined when it can: stages contiguous
 * from layer 0 to `layers`, the first holding the embedding, the last the head, addresses well-formed.
 */
export function routeProblem(route: PipelineRoute, layers: number): string | undefined {
  const stages = route.stages;
  if (stages.length === 0) return "the route has no stages";
  if (!Number.isInteger(route.epoch) || route.epoch < 0 || route.epoch > 0xffff_ffff) {
    return `plan epoch ${route.epoch} is not a u32`;
  }
  let next = 0;
  for (const [i, s] of stages.entries()) {
    if (s.start !== next || s.end < s.start) {
      return `stage ${i} (${s.nodeId}) holds ${s.start}..${s.end}, expected to start at ${next}`;
    }
    if (s.embedding !== (i === 0)) return `stage ${i} (${s.nodeId}) embedding flag is ${s.embedding}`;
    if (s.head !== (i === stages.length - 1)) return `stage ${i} (${s.nodeId}) head flag is ${s.head}`;
    try {
      parseAddress(s.address);
    } catch (e) {
      return (e as Error).message;
    }
    next = s.end;
  }
  if (next !== layers) return `the route ends at layer ${next}, the model has ${layers}`;
  return undefined;
}

/**
 * The route of one planner replica, with each node's pipeline address from `addressOf` (gossip's
 * `pipelineAddr`); undefined when a stage's node has no known address.
 */
export function routeFromReplica(
  epoch: number,
  replica: Replica,
  addressOf: (nodeId: string) => string | undefined,
): PipelineRoute | undefined {
  const stages: RouteStage[] = [];
  for (const s of replica.stages) {
    const address = addressOf(s.nodeId);
    if (!address) return undefined;
    stages.push({
      nodeId: s.nodeId,
      address,
      start: s.start,
      end: s.end,
      embedding: s.embedding,
      head: s.head,
    });
  }
  return { epoch, stages };
}
