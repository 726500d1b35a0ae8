/**
 * The cluster status document (`GET /cluster/status`, `edgering status --json`): one row per member
 * with its gossip state, decoded capabilities and freshest live load, and an info block about this
 * node's view of the ring. Built by a pure function from what the gossip worker reports.
 *
 * Each member's load comes from the fresher of two sources: the payload of the last ack it sent us
 * (we probe one member per probe interval) and its last load broadcast (spread by gossip).
 *
 * @example
 * ```ts
 * const status = buildClusterStatus({ members: await worker.members(), info: await worker.info(), ... });
 * status.members.filter((m) => m.status === "suspect");
 * ```
 *
 * @module
 */
import type { PipelineStatus } from "./pipeline_status.ts";
import {
  decodeCapabilities,
  decodeLoad,
  type LayerRange,
  type LiveLoad,
  type MemberInfo,
  MemberStatus,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  type WorkerInfo,
} from "../../cluster/gossip/mod.ts";
import { nameHash, type PlanAdvert } from "../../cluster/gossip/node_meta.ts";

/** Format version of the document; fields are only ever added. */
export const CLUSTER_STATUS_VERSION = 1;

/** Member states, as the document spells them. */
export const MEMBER_STATUSES = ["alive", "suspect", "dead", "left"] as const;
/** One of {@link MEMBER_STATUSES}. */
export type MemberStatusName = typeof MEMBER_STATUSES[number];

/** A member's live load and where it came from. */
export interface MemberLoad extends LiveLoad {
  /** Age of the report, ms. */
  ageMs: number;
  /** "self" for this node, "ack" from a probe, "broadcast" from gossip. */
  via: "self" | "ack" | "broadcast";
}

/** One row of the status. */
export interface MemberRow {
  name: string;
  /** "host:port" of its gossip socket. */
  address: string;
  status: MemberStatusName;
  incarnation: number;
  /** Since when it has had this status, ms (approximate: the gossip worker's clock). */
  statusAgeMs: number;
  /** True for the node answering the query. */
  self: boolean;
  id?: string;
  version?: string;
  apiAddr?: string;
  pipelineAddr?: string;
  /** "reference", "wasm", "webgpu", or "unknown" (loading, or a newer build). */
  backend: string;
  device?: string;
  memoryBudgetBytes?: number;
  /** Throughput score: weight bytes streamed per second at decode. */
  score?: number;
  models: string[];
  layers: LayerRange[];
  load?: MemberLoad;
  /** Last probe round trip, ms. */
  rttMs?: number;
  /** Lifeguard local-health score (0 = healthy), as the member reports it. */
  healthScore?: number;
  /** The layer plan the member follows, as it advertises it. */
  plan?: MemberPlan;
  /** Round trips the member measured to its peers, ms by peer name (0.1 ms steps). */
  peerRttsMs?: Record<string, number>;
  /** Why its metadata or load could not be read, if so. */
  problem?: string;
}

/** A member's advertised plan: its epoch and, when it fit the metadata and every node is known here,
 * its layout. */
export interface MemberPlan {
  epoch: number;
  /** per replica, its stages in order */
  replicas?: Array<Array<{ node: string; start: number; end: number }>>;
}

/** This node's view of the ring. */
export interface ClusterInfo {
  name: string;
  /** Gossip "host:port". */
  address: string;
  apiAddr: string;
  profile: string;
  encrypted: boolean;
  /** Installed cluster keys (0 when unencrypted). */
  keys: number;
  protocol: { min: number; max: number; cur: number };
  incarnation: number;
  healthScore: number;
  /** Seeds given with --join, and whether a join succeeded yet. */
  seeds: string[];
  joined: boolean;
  /** The last join failure, while not joined. */
  joinError?: string;
  members: Record<MemberStatusName, number> & { total: number };
  queues: {
    /** Gossip messages waiting for their retransmit budget. */
    broadcasts: number;
    /** Requests waiting for a KV slot, and sequences running. */
    requestsQueued: number;
    requestsActive: number;
  };
  packets: {
    sent: number;
    received: number;
    bytesSent: number;
    bytesReceived: number;
    /** Dropped: failed AES-GCM authentication (another key). */
    decryptFailures: number;
    /** Dropped: another cluster label. */
    labelMismatches: number;
    /** Dropped: plaintext on an encrypted ring. */
    unencryptedDropped: number;
    /** Dropped: not an envelope at all, or over the size limit. */
    malformed: number;
    /** Dropped by the protocol: undecodable or unknown messages. */
    badMessages: number;
    sendErrors: number;
  };
  probes: { sent: number; failed: number; savedByTcp: number };
  pushPulls: { total: number; failed: number };
}

/** The whole document. */
export interface ClusterStatus {
  version: number;
  /** Name of the node that answered. */
  self: string;
  /** ISO time of the snapshot. */
  at: string;
  info: ClusterInfo;
  members: MemberRow[];
  /** The layer plan this node follows; absent until the model is loaded. */
  pipeline?: PipelineStatus;
}

/** What {@link buildClusterStatus} reads. */
export interface StatusInputs {
  members: readonly MemberInfo[];
  info: WorkerInfo;
  /** This node's current load (it does not probe itself). */
  selfLoad?: LiveLoad;
  apiAddr: string;
  profile: string;
  keyCount: number;
  seeds: readonly string[];
  joined: boolean;
  joinError?: string;
  requests: { queued: number; active: number };
  /** Wall clock, ms since the epoch. */
  nowMs: number;
  pipeline?: PipelineStatus;
}

const STATUS_NAMES: Record<MemberStatus, MemberStatusName> = {
  [MemberStatus.Alive]: "alive",
  [MemberStatus.Suspect]: "suspect",
  [MemberStatus.Dead]: "dead",
  [MemberStatus.Left]: "left",
};

/** Builds the status document. Pure; rows sorted by name. */
export function buildClusterStatus(input: StatusInputs): ClusterStatus {
  const { info } = input;
  const names = namesByHash(input.members.map((m) => m.name));
  const rows = input.members.map((m) => memberRow(m, input, names)).sort((a, b) =>
    a.name.localeCompare(b.name)
  );
  const counts = { alive: 0, suspect: 0, dead: 0, left: 0, total: rows.length };
  for (const r of rows) counts[r.status]++;
  const g = info.gossip, t = info.transport;
  return {
    version: CLUSTER_STATUS_VERSION,
    self: info.name,
    at: new Date(input.nowMs).toISOString(),
    info: {
      name: info.name,
      address: info.address,
      apiAddr: input.apiAddr,
      profile: input.profile,
      encrypted: info.encrypted,
      keys: info.encrypted ? input.keyCount : 0,
      protocol: { min: PROTOCOL_VERSION_MIN, max: PROTOCOL_VERSION_MAX, cur: PROTOCOL_VERSION_MAX },
      incarnation: info.incarnation,
      healthScore: info.healthScore,
      seeds: [...input.seeds],
      joined: input.joined,
      ...(input.joinError && !input.joined ? { joinError: input.joinError } : {}),
      members: counts,
      queues: {
        broadcasts: info.queueDepth,
        requestsQueued: input.requests.queued,
        requestsActive: input.requests.active,
      },
      packets: {
        sent: t.packetsSent,
        received: t.packetsReceived,
        bytesSent: t.bytesSent,
        bytesReceived: t.bytesReceived,
        decryptFailures: t.decryptFailures,
        labelMismatches: t.labelMismatches,
        unencryptedDropped: t.unencryptedDropped,
        malformed: t.malformedEnvelopes + t.oversizePackets,
        badMessages: g.malformedPackets + g.unknownMessages,
        sendErrors: t.sendErrors,
      },
      probes: { sent: g.probes, failed: g.probesFailed, savedByTcp: g.probesSavedByTcp },
      pushPulls: { total: g.pushPulls, failed: g.pushPullsFailed },
    },
    members: rows,
    ...(input.pipeline ? { pipeline: input.pipeline } : {}),
  };
}

/** name hash → name, without hashes two names share (a reader cannot tell those apart). */
function namesByHash(names: readonly string[]): Map<number, string | undefined> {
  const out = new Map<number, string | undefined>();
  for (const name of names) {
    const h = nameHash(name);
    out.set(h, out.has(h) && out.get(h) !== name ? undefined : name);
  }
  return out;
}

/** The advertised plan with node names resolved; the layout is left out if a name is unknown. */
function memberPlan(advert: PlanAdvert, names: Map<number, string | undefined>): MemberPlan {
  const replicas: Array<Array<{ node: string; start: number; end: number }>> = [];
  let previousEnd = Infinity;
  for (const s of advert.stages) {
    const node = names.get(s.node);
    if (node === undefined) return { epoch: advert.epoch };
    // within a replica ends increase; an end not above the last one starts the next replica at 0
    if (s.end <= previousEnd) replicas.push([{ node, start: 0, end: s.end }]);
    else replicas.at(-1)!.push({ node, start: previousEnd, end: s.end });
    previousEnd = s.end;
  }
  return replicas.length > 0 ? { epoch: advert.epoch, replicas } : { epoch: advert.epoch };
}

function memberRow(m: MemberInfo, input: StatusInputs, names: Map<number, string | undefined>): MemberRow {
  const self = m.name === input.info.name;
  const row: MemberRow = {
    name: m.name,
    address: m.addr,
    status: STATUS_NAMES[m.status] ?? "dead",
    incarnation: m.incarnation,
    statusAgeMs: Math.max(0, Math.round(input.nowMs - m.stateChangeAt)),
    self,
    backend: "unknown",
    models: [],
    layers: [],
  };
  const problems: string[] = [];
  if (m.meta.length > 0) {
    try {
      const caps = decodeCapabilities(m.meta);
      Object.assign(row, {
        id: caps.id,
        version: caps.version,
        apiAddr: caps.apiAddr,
        pipelineAddr: caps.pipelineAddr,
        backend: caps.backend,
        device: caps.device,
        memoryBudgetBytes: caps.memoryBudgetBytes,
        score: caps.score,
        models: caps.models,
        layers: caps.layers,
      });
      if (caps.plan) row.plan = memberPlan(caps.plan, names);
      const rtts: Record<string, number> = {};
      for (const r of caps.rtts ?? []) {
        const peer = names.get(r.node);
        if (peer !== undefined && peer !== m.name) rtts[peer] = r.tenthsMs / 10;
      }
      if (Object.keys(rtts).length > 0) row.peerRttsMs = rtts;
    } catch (error) {
      problems.push(`capabilities: ${(error as Error).message}`);
    }
  }
  if (self) {
    if (input.selfLoad) row.load = { ...input.selfLoad, ageMs: 0, via: "self" };
    row.healthScore = input.info.healthScore;
  } else {
    try {
      row.load = freshestLoad(m);
    } catch (error) {
      problems.push(`load: ${(error as Error).message}`);
    }
    row.healthScore = row.load?.healthScore;
    if (m.rttMs !== undefined) row.rttMs = Math.round(m.rttMs * 100) / 100;
  }
  if (problems.length > 0) row.problem = problems.join("; ");
  return row;
}

/** The younger of the ack payload and the broadcast state, decoded. Throws WireDecodeError. */
function freshestLoad(m: MemberInfo): MemberLoad | undefined {
  const ack = m.ackPayload && m.ackPayload.length > 0 && m.ackAgeMs !== undefined
    ? { bytes: m.ackPayload, ageMs: m.ackAgeMs, via: "ack" as const }
    : undefined;
  const cast = m.userState && m.userStateAgeMs !== undefined
    ? { bytes: m.userState, ageMs: m.userStateAgeMs, via: "broadcast" as const }
    : undefined;
  const pick = ack && cast ? (ack.ageMs <= cast.ageMs ? ack : cast) : ack ?? cast;
  if (!pick) return undefined;
  return { ...decodeLoad(pick.bytes), ageMs: Math.round(pick.ageMs), via: pick.via };
}
