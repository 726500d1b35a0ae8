/**
 * One typed, documented configuration for the gossip ring, with its defaults in one place.
 *
 * `lanConfig()` carries hashicorp/memberlist's `DefaultLANConfig` values (plus Serf's reconnect
 * settings); `localConfig()` overrides a few fields for one host and tests, where round trips are
 * sub-millisecond. Times are milliseconds throughout.
 *
 * @example
 * ```ts
 * const cfg = resolveConfig("local", { name: "node-a", label: "prod" });
 * cfg.probeIntervalMs; // 400
 * ```
 *
 * @module
 */

import { GossipConfigError } from "./errors.ts";

/** Largest datagram the ring ever sends, in bytes, envelope and encryption included: fits a
 * 1500-byte Ethernet MTU after IP/UDP headers with room for tunnels. */
export const MAX_DATAGRAM_BYTES = 1400;

/** Protocol versions this build understands ([min, max]) and speaks (cur). Append-only wire: a
 * new version only adds message types or trailing fields. */
export const PROTOCOL_VERSION_MIN = 1;
/** @see PROTOCOL_VERSION_MIN */
export const PROTOCOL_VERSION_MAX = 1;

/** Names of the built-in profiles. */
export type GossipProfile = "lan" | "local";

/** Every knob of the gossip protocol. */
export interface GossipConfig {
  /** Unique node name in the ring (≤ 128 UTF-8 bytes). */
  name: string;
  /** Cluster label: packets and streams carrying another label are dropped, so two rings on one
   * network cannot merge by accident. Empty = no label. ≤ 255 bytes. */
  label: string;
  /** Timeout of a TCP push-pull or fallback ping (ms). Longer tolerates slow links; shorter frees
   * the slot sooner when a peer is gone. */
  tcpTimeoutMs: number;
  /** Peers asked to ping a target indirectly after a direct probe fails. More peers = fewer false
   * suspicions on a lossy network, more packets. */
  indirectChecks: number;
  /** Retransmit budget multiplier: each broadcast is sent retransmitMult·ceil(log10(N+1)) times.
   * Higher = surer convergence, more bandwidth. */
  retransmitMult: number;
  /** Suspicion timeout multiplier: min timeout = suspicionMult·max(1, log10 N)·probeInterval.
   * Higher = more time to refute, slower detection. */
  suspicionMult: number;
  /** Lifeguard: a suspicion starts at suspicionMaxTimeoutMult·min and shrinks towards min as
   * independent peers confirm it. 1 disables the dynamic suspicion. */
  suspicionMaxTimeoutMult: number;
  /** Full-state TCP sync period (ms), scaled up with log2 N beyond 32 nodes. 0 disables it.
   * Shorter = faster anti-entropy, more bytes. */
  pushPullIntervalMs: number;
  /** Period of the failure detector: one member is probed per interval (ms). */
  probeIntervalMs: number;
  /** Wait for a direct ack before going indirect (ms); set to the network's 99th-percentile RTT. */
  probeTimeoutMs: number;
  /** Skip the TCP fallback ping made alongside the indirect probes. */
  disableTcpPings: boolean;
  /** Lifeguard local health: probe interval and timeouts stretch up to this multiple while this
   * node seems slow. 1 disables the local health awareness. */
  awarenessMaxMultiplier: number;
  /** Lifeguard: ask indirect probers to send a nack when the target stays silent, so a missing
   * nack reveals that this node itself is the slow one. */
  indirectNacks: boolean;
  /** Lifeguard "buddy" rule: a probe of a suspect member carries the suspicion so it can refute at
   * once. */
  buddyProbes: boolean;
  /** Random members that get queued broadcasts every gossip interval. */
  gossipNodes: number;
  /** Period of the dissemination round (ms). Shorter = faster spread, more packets. */
  gossipIntervalMs: number;
  /** Dead members keep receiving gossip for this long (ms), so they learn they were declared dead
   * and can refute, and are then forgotten. */
  gossipToTheDeadMs: number;
  /** A dead member's name may be taken by a new address after this long (ms); 0 = only after it
   * has left gracefully. */
  deadNodeReclaimMs: number;
  /** Serf-style reconnect: every interval (ms) one failed member may be retried with a push-pull
   * (probability failed/alive), so a healed partition merges. 0 disables it. */
  reconnectIntervalMs: number;
  /** Failed members are retried for this long (ms) before being given up. */
  reconnectTimeoutMs: number;
  /** Incarnations are time-based (seconds since the epoch at start). An incarnation further than
   * this many seconds ahead of our clock is rejected as implausible, so one forged message cannot
   * force every node into a refutation race at 2^32. */
  incarnationMaxLeadSec: number;
}

/** hashicorp/memberlist `DefaultLANConfig` (protocol fields) plus Serf's reconnect settings. */
export function lanConfig(name: string): GossipConfig {
  return {
    name,
    label: "",
    tcpTimeoutMs: 10_000,
    indirectChecks: 3,
    retransmitMult: 4,
    suspicionMult: 4,
    suspicionMaxTimeoutMult: 6,
    pushPullIntervalMs: 30_000,
    probeIntervalMs: 1_000,
    probeTimeoutMs: 500,
    disableTcpPings: false,
    awarenessMaxMultiplier: 8,
    indirectNacks: true,
    buddyProbes: true,
    gossipNodes: 3,
    gossipIntervalMs: 200,
    gossipToTheDeadMs: 30_000,
    deadNodeReclaimMs: 0,
    reconnectIntervalMs: 30_000,
    reconnectTimeoutMs: 24 * 3600_000,
    incarnationMaxLeadSec: 24 * 3600,
  };
}

/** Faster timings for one host and tests: loopback RTTs are sub-millisecond, so probes can time
 * out sooner and suspicion can be shorter (≈ 3.5 s crash detection at 50 nodes instead of ≈ 9 s).
 * The price: a process stopped for more than ≈ 2 s (4·0.4 s of suspicion after a 0.4 s probe) can
 * be declared dead, where lan tolerates ≈ 5 s. */
export function localConfig(name: string): GossipConfig {
  return {
    ...lanConfig(name),
    tcpTimeoutMs: 1_000,
    pushPullIntervalMs: 15_000,
    probeIntervalMs: 400,
    probeTimeoutMs: 200,
    gossipIntervalMs: 100,
    gossipToTheDeadMs: 15_000,
    reconnectIntervalMs: 5_000,
  };
}

/** The profile used when none is given. */
export function defaultConfig(name: string): GossipConfig {
  return lanConfig(name);
}

/** The same config with every Lifeguard extension switched off (for comparisons in the bench). */
export function withoutLifeguard(config: GossipConfig): GossipConfig {
  return {
    ...config,
    suspicionMaxTimeoutMult: 1,
    awarenessMaxMultiplier: 1,
    indirectNacks: false,
    buddyProbes: false,
  };
}

/** Builds a config from a profile plus overrides and validates it. Throws {@link GossipConfigError}. */
export function resolveConfig(
  profile: GossipProfile,
  overrides: Partial<GossipConfig> & { name: string },
): GossipConfig {
  const base = profile === "local" ? localConfig(overrides.name) : lanConfig(overrides.name);
  const config = { ...base, ...overrides };
  validateConfig(config);
  return config;
}

const NAME_MAX_BYTES = 128;
const LABEL_MAX_BYTES = 255;

/** Throws {@link GossipConfigError} naming the first field out of range. */
export function validateConfig(c: GossipConfig): void {
  const enc = new TextEncoder();
  const nameBytes = enc.encode(c.name).length;
  if (nameBytes === 0 || nameBytes > NAME_MAX_BYTES) {
    throw new GossipConfigError("name", c.name, `must be 1..${NAME_MAX_BYTES} bytes`);
  }
  if (enc.encode(c.label).length > LABEL_MAX_BYTES) {
    throw new GossipConfigError("label", c.label, `must be at most ${LABEL_MAX_BYTES} bytes`);
  }
  const positive: (keyof GossipConfig)[] = [
    "tcpTimeoutMs",
    "retransmitMult",
    "suspicionMult",
    "suspicionMaxTimeoutMult",
    "probeIntervalMs",
    "probeTimeoutMs",
    "awarenessMaxMultiplier",
    "gossipIntervalMs",
    "incarnationMaxLeadSec",
  ];
  for (const f of positive) {
    const v = c[f];
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw new GossipConfigError(f, v, "must be a positive number");
    }
  }
  const nonNegative: (keyof GossipConfig)[] = [
    "indirectChecks",
    "pushPullIntervalMs",
    "gossipNodes",
    "gossipToTheDeadMs",
    "deadNodeReclaimMs",
    "reconnectIntervalMs",
    "reconnectTimeoutMs",
  ];
  for (const f of nonNegative) {
    const v = c[f];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new GossipConfigError(f, v, "must be a non-negative number");
    }
  }
  if (c.probeTimeoutMs > c.probeIntervalMs) {
    throw new GossipConfigError("probeTimeoutMs", c.probeTimeoutMs, "must not exceed probeIntervalMs");
  }
}
