/**
 * Messages between the main thread ({@link GossipWorker}) and the gossip Worker
 * (`gossip_worker.ts`). Everything crosses by structured clone.
 *
 * @module
 */

import type { GossipConfig, GossipProfile } from "../config.ts";
import type { GossipStats, MemberInfo } from "../gossip_node.ts";
import type { MemberEvent } from "../member_table.ts";
import type { NetTransportStats } from "../net_transport.ts";

/** How to start the node inside the worker. */
export interface GossipWorkerOptions {
  name: string;
  profile: GossipProfile;
  hostname: string;
  /** UDP and TCP port; 0 picks one. */
  port: number;
  advertiseHost?: string;
  label?: string;
  /** Raw cluster keys, primary first; none = insecure ring. */
  keys?: Uint8Array[];
  meta?: Uint8Array;
  incarnation?: number;
  /** Field overrides on top of the profile. */
  overrides?: Partial<GossipConfig>;
}

/** Main → worker. */
export type WorkerRequest =
  | { id: number; op: "start"; options: GossipWorkerOptions }
  | { id: number; op: "join"; seeds: string[] }
  | { id: number; op: "members" }
  | { id: number; op: "info" }
  | { id: number; op: "setLoad"; load: Uint8Array }
  | { id: number; op: "broadcastUserState"; payload: Uint8Array }
  | { id: number; op: "updateMeta"; meta: Uint8Array }
  | { id: number; op: "installKey"; key: Uint8Array }
  | { id: number; op: "useKey"; key: Uint8Array }
  | { id: number; op: "removeKey"; key: Uint8Array }
  | { id: number; op: "leave"; timeoutMs: number }
  | { id: number; op: "shutdown" };

/** Counters and identity of the node in the worker. */
export interface WorkerInfo {
  address: string;
  name: string;
  healthScore: number;
  incarnation: number;
  queueDepth: number;
  encrypted: boolean;
  gossip: GossipStats;
  transport: NetTransportStats;
}

/** Worker → main: an answer to a request, or an unsolicited member event. */
export type WorkerMessage =
  | { id: number; ok: true; value?: unknown }
  | { id: number; ok: false; error: string; errorName: string }
  | { event: MemberEvent }
  | { log: { level: string; message: string } };

export type { MemberInfo };
