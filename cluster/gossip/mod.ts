/**
 * Gossip membership ring: SWIM with Lifeguard extensions (see `gossip_node.ts` for how it works).
 *
 * @example
 * ```ts
 * import { GossipNode, Keyring, localConfig, NetTransport, parseClusterKey } from "./mod.ts";
 * const keyring = await Keyring.create([parseClusterKey(key)]);
 * const transport = NetTransport.listen({ hostname: "127.0.0.1", port: 7946, label: "edge", keyring });
 * const node = new GossipNode({ config: localConfig("node-a"), transport });
 * node.start();
 * await node.join(["127.0.0.1:7947"]);
 * ```
 *
 * @module
 */

export { Awareness } from "./awareness.ts";
export { BROADCAST_QUEUE_MAX, BroadcastQueue, type BroadcastQueueOptions } from "./broadcast_queue.ts";
export { type Clock, systemClock, type TimerHandle } from "./clock.ts";
export {
  COMPOUND_HEADER_OVERHEAD,
  COMPOUND_MAX_PARTS,
  COMPOUND_PART_OVERHEAD,
  decodeCompound,
  decodeMessage,
  decodePacket,
  encodeCompound,
  encodeMessage,
} from "./codec.ts";
export {
  defaultConfig,
  type GossipConfig,
  type GossipProfile,
  lanConfig,
  localConfig,
  MAX_DATAGRAM_BYTES,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  resolveConfig,
  validateConfig,
  withoutLifeguard,
} from "./config.ts";
export {
  type EnvelopeOptions,
  envelopeOverhead,
  open as openEnvelope,
  seal as sealEnvelope,
} from "./envelope.ts";
export * from "./errors.ts";
export { GossipNode, type GossipNodeOptions, type GossipStats, type MemberInfo } from "./gossip_node.ts";
export { CLUSTER_KEY_SIZES, generateClusterKey, Keyring, parseClusterKey } from "./keyring.ts";
export { type MemberEvent, type MemberState, MemberTable, type MemberTableOptions } from "./member_table.ts";
export * from "./messages.ts";
export {
  MAX_CONCURRENT_STREAMS,
  NetTransport,
  type NetTransportOptions,
  type NetTransportStats,
  splitHostPort,
  STREAM_MAX_BYTES,
} from "./net_transport.ts";
export {
  BACKEND_CODES,
  type BackendKind,
  decodeCapabilities,
  decodeLoad,
  encodeCapabilities,
  encodeLoad,
  type LayerRange,
  type LiveLoad,
  NODE_META_VERSION,
  type NodeCapabilities,
} from "./node_meta.ts";
export { randomInt, type Rng, seededRng, shuffle, systemRng } from "./rng.ts";
export { Suspicion } from "./suspicion.ts";
export * from "./timing.ts";
export type { RequestResult, Transport, TransportHandler } from "./transport.ts";
export { GossipWorker } from "./worker/gossip_worker_client.ts";
export type { GossipWorkerOptions, WorkerInfo } from "./worker/protocol.ts";
