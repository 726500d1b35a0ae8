/**
 * The cluster part of a node's configuration, resolved: node name, where the gossip port binds and
 * what address it advertises, the seeds, the key source and the state directory, plus the timing of
 * the glue around the gossip engine (load sampling and broadcasting, join backoff, leave), chosen by
 * profile. Pure: the host name, environment and network interfaces come in as arguments.
 *
 * @example
 * ```ts
 * const settings = resolveClusterSettings(config, { hostname: "kitchen", env: Deno.env.toObject() });
 * settings.stateDir; // "/home/ada/.local/state/edgering/kitchen"
 * ```
 *
 * @module
 */
import type { ServeConfig } from "../config/mod.ts";
import { ClusterConfigError } from "./cluster_errors.ts";
import { decodeKey } from "./key_fingerprint.ts";

/** Gossip timing profile, as in `cluster/gossip/config.ts`. */
export type ClusterProfile = "lan" | "local";

/** Timing of the glue around the gossip engine; all times in ms. */
export interface ClusterTiming {
  /** How often the scheduler is sampled into the live load that rides in acks. */
  loadSampleMs: number;
  /** At most one load broadcast per this long: each costs ≈ N·4·ceil(log10(N+1)) transmissions of
   * ≈ 40 bytes across the ring (N nodes), so broadcasting on every sample would cost more than the
   * membership protocol itself. */
  loadBroadcastMinMs: number;
  /** A broadcast at least this often even when the load did not change, so a node that joined since
   * learns it within this long (acks alone take N probe intervals). */
  loadBroadcastRefreshMs: number;
  /** First retry delay after a failed join; doubles per failure (±20% jitter). */
  joinRetryStartMs: number;
  /** Longest delay between join attempts; also the delay after a refusal (wrong key), which retrying
   * fast cannot fix. */
  joinRetryMaxMs: number;
  /** How long a graceful leave waits for the news to be gossiped before the node stops. */
  leaveTimeoutMs: number;
}

/** Glue timing per profile: `local` reacts fast for one host and tests, `lan` spends less. */
export function clusterTiming(profile: ClusterProfile): ClusterTiming {
  return profile === "local"
    ? {
      loadSampleMs: 250,
      loadBroadcastMinMs: 1_000,
      loadBroadcastRefreshMs: 5_000,
      joinRetryStartMs: 100,
      joinRetryMaxMs: 2_000,
      leaveTimeoutMs: 1_000,
    }
    : {
      loadSampleMs: 1_000,
      loadBroadcastMinMs: 2_000,
      loadBroadcastRefreshMs: 30_000,
      joinRetryStartMs: 500,
      joinRetryMaxMs: 30_000,
      leaveTimeoutMs: 3_000,
    };
}

/** Everything the cluster glue needs, resolved from a {@link ServeConfig}. */
export interface ClusterSettings {
  name: string;
  profile: ClusterProfile;
  /** Interface the gossip port binds. */
  bindHost: string;
  /** Gossip port, UDP and TCP; 0 = any free one. */
  port: number;
  /** Host other nodes use for our gossip port and API. */
  advertiseHost: string;
  /** "host:port" seeds; empty = start a new ring. */
  seeds: string[];
  /** Raw key from --cluster-key / EDGERING_CLUSTER_KEY / the config file. */
  clusterKey?: Uint8Array;
  insecure: boolean;
  stateDir: string;
  timing: ClusterTiming;
}

/** What the resolution reads from the host (injected so the function stays pure). */
export interface HostFacts {
  /** This host's name, if it can be read. */
  hostname?: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Non-loopback IPv4 addresses of this host, in interface order (for a wildcard bind). */
  addresses?: readonly string[];
}

/** Longest node name, in UTF-8 bytes (the gossip wire limit). */
const NODE_NAME_MAX_BYTES = 128;
/** Name used when the host name cannot be read. */
const FALLBACK_NODE_NAME = "edgering";
const WILDCARDS = new Set(["0.0.0.0", "::", "[::]"]);

/**
 * Default node name: the host name up to its first dot (so `kitchen.local` and `kitchen` agree), or
 * "edgering" when there is none.
 */
export function defaultNodeName(hostname: string | undefined): string {
  const short = (hostname ?? "").trim().split(".")[0];
  return short === "" ? FALLBACK_NODE_NAME : short;
}

/**
 * Default state directory of node `name`: `$XDG_STATE_HOME/edgering/NAME`, else
 * `$HOME/.local/state/edgering/NAME`, else `.local/state/edgering/NAME`. Characters that are not safe
 * in a file name become `_`.
 *
 * @example
 * ```ts
 * defaultStateDir({ HOME: "/home/ada" }, "node-a"); // "/home/ada/.local/state/edgering/node-a"
 * ```
 */
export function defaultStateDir(env: Readonly<Record<string, string | undefined>>, name: string): string {
  let folder = name.replace(/[^A-Za-z0-9._-]/g, "_");
  if (folder === "." || folder === "..") folder = folder.replaceAll(".", "_");
  const xdg = env.XDG_STATE_HOME;
  if (xdg && xdg.startsWith("/")) return `${xdg}/edgering/${folder}`;
  const home = env.HOME ?? env.USERPROFILE;
  return home ? `${home}/.local/state/edgering/${folder}` : `.local/state/edgering/${folder}`;
}

/**
 * Resolves the cluster settings of `config`. Throws {@link ClusterConfigError} naming the flag when
 * the combination cannot work (e.g. `--insecure` with `--cluster-key`, or a wildcard bind with no
 * address to advertise).
 */
export function resolveClusterSettings(config: ServeConfig, host: HostFacts): ClusterSettings {
  const name = config.nodeName ?? defaultNodeName(host.hostname);
  if (new TextEncoder().encode(name).length > NODE_NAME_MAX_BYTES) {
    throw new ClusterConfigError(
      `--name "${name.slice(0, 40)}…" is longer than ${NODE_NAME_MAX_BYTES} bytes`,
    );
  }
  if (config.insecure && config.clusterKey !== undefined) {
    throw new ClusterConfigError(
      "--insecure and --cluster-key contradict each other: drop one (an insecure ring has no key)",
    );
  }
  const bindHost = config.gossipHost ?? config.host;
  let advertiseHost = config.advertise;
  if (advertiseHost === undefined) {
    if (!WILDCARDS.has(bindHost)) advertiseHost = bindHost;
    else {
      advertiseHost = host.addresses?.[0];
      if (advertiseHost === undefined) {
        throw new ClusterConfigError(
          `gossip binds ${bindHost} and this host has no non-loopback IPv4 address to advertise: set --advertise`,
        );
      }
    }
  }
  return {
    name,
    profile: config.profile,
    bindHost,
    port: config.gossipPort,
    advertiseHost,
    seeds: [...config.join],
    clusterKey: config.clusterKey === undefined ? undefined : decodeKey(config.clusterKey),
    insecure: config.insecure,
    stateDir: config.stateDir ?? defaultStateDir(host.env, name),
    timing: clusterTiming(config.profile),
  };
}

/** "host:port", bracketing IPv6 hosts. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}
