/**
 * Starting a serving node's gossip membership: open the state directory, decide the key ring
 * (`keyring_plan.ts`: a new ring gets a generated key, saved with mode 0600), pick an incarnation above
 * any this node used before (`node.json`), and start the gossip node in its Worker.
 *
 * Separate from {@link ClusterNode} (cluster_node.ts) because this runs once, before there is a node to
 * hold any state: it reads and writes the state directory and turns the worker's start failures into
 * one-line {@link ClusterStartError}s, and the node is then built from what it returns.
 *
 * @module
 */
import {
  encodeCapabilities,
  generateClusterKey,
  GossipWorker,
  initialIncarnation,
} from "../../cluster/gossip/mod.ts";
import { ClusterStartError } from "./cluster_errors.ts";
import type { ClusterSettings } from "./cluster_settings.ts";
import { decodeKey } from "./key_fingerprint.ts";
import { planKeyring } from "./keyring_plan.ts";
import { type CapabilityFacts, nodeCapabilities } from "./node_capabilities.ts";
import { StateDir } from "./state_dir.ts";

/** What a started gossip node comes with. */
export interface GossipStart {
  readonly stateDir: StateDir;
  readonly worker: GossipWorker;
  /** the ring's keys, primary first; undefined on an unencrypted (--insecure) ring */
  readonly keys: Uint8Array[] | undefined;
  /** the key was generated now (a new ring): it is shown with the join command */
  readonly generated: boolean;
  /** what the node announces at start (a loading node) */
  readonly facts: CapabilityFacts;
  /** the incarnation the worker started with, already saved in `node.json` */
  readonly incarnation: number;
}

/** Who the node is, for its capabilities: edgering's version and the "host:port" of its API. */
export interface NodeIdentity {
  readonly version: string;
  readonly apiAddr: string;
}

/**
 * Opens the state directory, decides and saves the key ring and the node record, and starts the gossip
 * worker. `log` gets the key ring's notes. Throws {@link ClusterConfigError} (keys),
 * {@link ClusterStartError} (port in use, worker failure) or `StateDirError`.
 *
 * @example
 * ```ts
 * const { worker, stateDir } = await startGossip(settings, { version: "0.1.0", apiAddr }, console.error);
 * console.log(`gossip on ${worker.address}, state in ${stateDir.keyringPath}`);
 * ```
 */
export async function startGossip(
  settings: ClusterSettings,
  identity: NodeIdentity,
  log: (line: string) => void,
): Promise<GossipStart> {
  const stateDir = await StateDir.open(settings.stateDir);
  const plan = planKeyring({
    flagKey: settings.clusterKey,
    stored: await stateDir.readKeyring(),
    insecure: settings.insecure,
    joining: settings.seeds.length > 0,
    generate: () => decodeKey(generateClusterKey()),
  });
  for (const note of plan.notes) log(`ring: ${note}`);
  if (plan.save && plan.keys) await stateDir.writeKeyring(plan.keys);
  const record = await stateDir.readNode();
  const id = record?.id ?? crypto.randomUUID();
  const incarnation = initialIncarnation(Date.now(), record?.incarnation);
  await stateDir.writeNode({ id, incarnation });
  const facts: CapabilityFacts = {
    id,
    name: settings.name,
    version: identity.version,
    apiAddr: identity.apiAddr,
  };
  let worker: GossipWorker;
  try {
    worker = await GossipWorker.start({
      name: settings.name,
      profile: settings.profile,
      hostname: settings.bindHost,
      port: settings.port,
      advertiseHost: settings.advertiseHost,
      keys: plan.keys,
      meta: encodeCapabilities(nodeCapabilities(facts)),
      incarnation,
    });
  } catch (error) {
    throw startError(error);
  }
  return { stateDir, worker, keys: plan.keys, generated: plan.generated, facts, incarnation };
}

/** The worker's start failure as a one-line ClusterStartError. */
function startError(error: unknown): Error {
  const e = error as Error;
  if (e.name === "GossipBindError") {
    return new ClusterStartError(`${e.message} (pick another with --gossip-port; 0 picks a free one)`);
  }
  if (e.name === "GossipConfigError") return new ClusterStartError(e.message);
  return new ClusterStartError(
    `the gossip worker could not start: ${e.message} (run with --no-cluster to serve without a ring)`,
  );
}
