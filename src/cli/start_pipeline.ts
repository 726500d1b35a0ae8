/**
 * The layer pipeline of `edgering serve` in a ring: the node reserves its pipeline port at once (a
 * port in use fails with one line, before the node announces itself) and follows the ring's plan
 * for its share of the layers once `run()`.
 */
import type { ServedModel } from "../api/node_state.ts";
import type { ClusterNode, ClusterSettings } from "../cluster_node/mod.ts";
import type { ServeConfig } from "../config/mod.ts";
import { type PipelineModel, PipelineNode } from "../pipeline_node/mod.ts";
import { UsageError } from "./cli_error.ts";

/**
 * Reserves the pipeline port (a port in use fails here, with one line) and prepares the node's share
 * of the layer pipeline; it follows the plan once `run()`. `weightsMemory` is in bytes.
 *
 * @example
 * ```ts
 * const pipeline = await startPipeline(settings, config, cluster, model, served, 2 ** 30, log);
 * pipeline.run();
 * await pipeline.close();
 * ```
 */
export async function startPipeline(
  settings: ClusterSettings,
  config: ServeConfig,
  cluster: ClusterNode,
  model: PipelineModel,
  served: ServedModel,
  weightsMemory: number,
  log: (line: string) => void,
): Promise<PipelineNode> {
  try {
    return await PipelineNode.start({
      cluster,
      model,
      served,
      modelId: served.id,
      weightsMemory,
      bindHost: settings.bindHost,
      advertiseHost: settings.advertiseHost,
      port: config.pipelinePort,
      wireDtype: config.wireDtype,
      log,
    });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new UsageError(
        `serve: cannot bind the pipeline port ${settings.bindHost}:${config.pipelinePort}: the address is in use ` +
          `(pick another with --pipeline-port)`,
      );
    }
    throw error;
  }
}
