/**
 * Joining the gossip ring from `edgering serve`: the host facts the cluster settings are resolved
 * from, and the start of the ring membership, whose startup failures (a gossip port in use, an
 * unusable state directory, settings that contradict each other) become one-line usage errors.
 */
import denoConfig from "../../deno.json" with { type: "json" };
import type { NodeState } from "../api/node_state.ts";
import {
  ClusterConfigError,
  ClusterNode,
  type ClusterSettings,
  ClusterStartError,
  type HostFacts,
  joinHostPort,
  type PipelineStatus,
  StateDirError,
} from "../cluster_node/mod.ts";
import type { ServeConfig } from "../config/mod.ts";
import { UsageError } from "./cli_error.ts";

/** Version advertised to the ring (the package version in deno.json). */
const NODE_VERSION: string = denoConfig.version;
/** Bind addresses that listen on every interface, so they cannot be advertised to peers as is. */
const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", "[::]"]);

/**
 * What the cluster settings read from this host; each is read only when it is needed, and a denied
 * permission reads as unknown.
 *
 * @example
 * ```ts
 * const settings = resolveClusterSettings(config, hostFacts(config));
 * ```
 */
export function hostFacts(config: ServeConfig): HostFacts {
  let hostname: string | undefined;
  if (config.nodeName === undefined) {
    try {
      hostname = Deno.hostname();
    } catch { /* no --allow-sys: the name falls back to "edgering" */ }
  }
  let addresses: string[] | undefined;
  if (config.advertise === undefined && WILDCARD_HOSTS.has(config.gossipHost ?? config.host)) {
    try {
      addresses = Deno.networkInterfaces()
        .filter((i) => i.family === "IPv4" && !i.address.startsWith("127."))
        .map((i) => i.address);
    } catch { /* unknown: --advertise is then required */ }
  }
  return { hostname, env: Deno.env.toObject(), addresses };
}

/**
 * Starts the ring membership; startup failures become one-line usage errors. `apiPort` is the port
 * the API server is bound to (advertised to peers); `pipeline` reports this node's pipeline status,
 * once it has one.
 *
 * @example
 * ```ts
 * const cluster = await startCluster(settings, config, server.addr.port, state, log, () => undefined);
 * await cluster.leave();
 * await cluster.shutdown();
 * ```
 */
export async function startCluster(
  settings: ClusterSettings,
  config: ServeConfig,
  apiPort: number,
  state: NodeState,
  log: (line: string) => void,
  pipeline: () => PipelineStatus | undefined,
): Promise<ClusterNode> {
  const apiHost = WILDCARD_HOSTS.has(config.host) ? settings.advertiseHost : config.host;
  try {
    return await ClusterNode.start({
      settings,
      version: NODE_VERSION,
      apiAddr: joinHostPort(apiHost, apiPort),
      engine: () => state.model?.scheduler.stats(),
      log,
      debug: Deno.env.get("EDGERING_DEBUG") === "1",
      pipeline,
    });
  } catch (error) {
    if (
      error instanceof ClusterStartError || error instanceof StateDirError ||
      error instanceof ClusterConfigError
    ) {
      throw new UsageError(`serve: ${error.message}`);
    }
    throw error;
  }
}
