/**
 * A real {@link ClusterNode} (gossip in its Worker, UDP/TCP on loopback, a temporary state directory)
 * behind the real API handler on a real HTTP port, in this process — for the route and CLI tests that
 * need a live ring but no model.
 *
 * @module
 */
import { createApiHandler } from "../../../src/api/app.ts";
import { NodeState } from "../../../src/api/node_state.ts";
import { createServeMetrics } from "../../../src/api/serve_metrics.ts";
import { ClusterNode, clusterTiming } from "../../../src/cluster_node/mod.ts";

/** Knobs of {@link startClusterServer}. */
export interface ClusterServerOptions {
  name: string;
  seeds?: string[];
  /** base64 cluster key; none = a generated one (or none at all with `insecure`) */
  key?: string;
  insecure?: boolean;
  apiKeys?: string[];
}

/** A running node and its API. */
export interface ClusterServer {
  readonly node: ClusterNode;
  /** "127.0.0.1:PORT" of the API */
  readonly addr: string;
  readonly handler: ReturnType<typeof createApiHandler>;
  readonly logs: string[];
  readonly stateDir: string;
  /** Stops the node without leaving (as a crash would look to the others), then the server. */
  crash(): Promise<void>;
  /** Leaves the ring, stops everything and removes the state directory. */
  close(): Promise<void>;
}

export async function startClusterServer(options: ClusterServerOptions): Promise<ClusterServer> {
  const stateDir = await Deno.makeTempDir({ prefix: "edgering-cluster-test-" });
  const logs: string[] = [];
  const state = new NodeState();
  // the API exists before the node does (as in serve): it reads the node through this holder
  const holder: { node?: ClusterNode } = {};
  const handler = createApiHandler({
    state,
    metrics: createServeMetrics(() => undefined),
    options: {
      apiKeys: options.apiKeys ?? [],
      maxBodyBytes: 1 << 20,
      defaultMaxTokens: 16,
      retryAfterSeconds: 1,
    },
    cluster: () => holder.node,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  const addr = `127.0.0.1:${server.addr.port}`;
  const node = holder.node = await ClusterNode.start({
    settings: {
      name: options.name,
      profile: "local",
      bindHost: "127.0.0.1",
      port: 0,
      advertiseHost: "127.0.0.1",
      seeds: options.seeds ?? [],
      clusterKey: options.key ? Uint8Array.from(atob(options.key), (c) => c.charCodeAt(0)) : undefined,
      insecure: options.insecure ?? false,
      stateDir,
      timing: clusterTiming("local"),
    },
    version: "0.1.0",
    apiAddr: addr,
    engine: () => undefined,
    log: (line) => logs.push(line),
  });
  let stopped = false;
  const stop = async (leave: boolean) => {
    if (stopped) return;
    stopped = true;
    if (leave) await node.leave();
    await node.shutdown();
    await server.shutdown();
  };
  return {
    node,
    addr,
    handler,
    logs,
    stateDir,
    crash: () => stop(false),
    async close() {
      await stop(true);
      await Deno.remove(stateDir, { recursive: true });
    },
  };
}
