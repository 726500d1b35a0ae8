/**
 * The one typed configuration of `edgering serve`, with every default in one place.
 *
 * Each field says its meaning, unit and trade-off. Values come from four layers, highest first:
 * command-line flags > environment (`EDGERING_*`) > TOML config file (`--config`) > {@link defaultConfig}.
 * `load_config.ts` merges them; `config_fields.ts` names each field's flag, variable and file key.
 *
 * @example
 * ```ts
 * const cfg = { ...defaultConfig(), port: 9000 };
 * cfg.slots; // 8
 * ```
 *
 * @module
 */
import type { BackendChoice } from "../backend/create_backend.ts";

/** Gossip timing profiles (`cluster/gossip/config.ts`): `lan` = hashicorp/memberlist's LAN defaults;
 * `local` = faster timings for nodes on one host and tests. */
export const GOSSIP_PROFILES = ["lan", "local"] as const;
/** One of {@link GOSSIP_PROFILES}. */
export type GossipProfileChoice = typeof GOSSIP_PROFILES[number];
/** Hidden-state encodings between pipeline stages: f16 halves the bytes per hop; f32 keeps full precision
 * (a greedy stream through the pipeline then equals a single node's bit for bit). */
export const WIRE_DTYPES = ["f16", "f32"] as const;
/** One of {@link WIRE_DTYPES}. */
export type WireDtypeChoice = typeof WIRE_DTYPES[number];

/** Everything `edgering serve` can be told. */
export interface ServeConfig {
  /** Interface to bind. 127.0.0.1 keeps the node private to this host; 0.0.0.0 exposes it to the network
   * (then set `apiKeys`). */
  host: string;
  /** TCP port to bind; 0 picks a free port (the startup line tells which). */
  port: number;
  /** Model to serve: a GGUF file path, an http(s) URL or `hf:OWNER/REPO/FILE.gguf`. Unset: the most
   * recently used model of the local cache, else the default instruct model is downloaded. */
  model?: string;
  /** Expected sha256 (64 hex digits) of a downloaded model. Unset: checked only when the server publishes
   * one (Hugging Face does). */
  modelSha256?: string;
  /** Model id shown by `GET /v1/models` and expected in requests' `model` field (another id is a 404, so
   * clients notice a typo). Unset: the file name without `.gguf`. */
  modelName?: string;
  /** Directory holding downloaded models (`<cacheDir>/models/...`). Default: `$XDG_CACHE_HOME/edgering`,
   * else `~/.cache/edgering`. */
  cacheDir: string;
  /** Never touch the network for models: use `model` or the cache, else fail with a hint. */
  offline: boolean;
  /** Compute backend: auto picks the fastest this host can run. */
  backend: BackendChoice;
  /** CPU threads for the wasm backend. Unset: all cores. */
  threads?: number;
  /** Context per sequence, in tokens (prompt + completion), capped at the model's trained context. KV memory
   * grows linearly with it (slots × ctx × layers × kvDim × 8 bytes in f32). */
  ctx: number;
  /** Concurrent sequences (KV-cache slots). More slots = more streams decoded per weight read (higher
   * aggregate tokens/s), but more KV memory and a slower step for each stream. */
  slots: number;
  /** Most tokens in one engine step (decode tokens of all running sequences plus prefill chunks). Bounds
   * scratch memory; must be at least `slots` so every running sequence advances each step. */
  maxBatch: number;
  /** Most prompt tokens prefilled per engine step. Larger = shorter time-to-first-token for newcomers,
   * longer stalls between tokens of running streams. */
  prefillChunk: number;
  /** Requests that may wait for a free slot; beyond it requests get 429 with Retry-After. Longer queues
   * absorb bursts but make waiting clients wait longer. */
  queueSize: number;
  /** Completion tokens when a request sets no `max_tokens`, in tokens (always capped by the context). */
  defaultMaxTokens: number;
  /** Largest accepted request body, in bytes; larger bodies get 413 before being read whole. */
  maxBodyBytes: number;
  /** Accepted bearer tokens; empty = no authentication. */
  apiKeys: string[];
  /** On SIGINT/SIGTERM: seconds running streams may take to finish before they are cancelled. */
  graceSeconds: number;
  /** Seconds a 429 answer tells the client to wait (Retry-After). */
  retryAfterSeconds: number;

  // ---- cluster (gossip ring) ----
  /** Run a lone node: no gossip ring, no ports beyond the API, nothing written to `stateDir`. For a
   * single machine that never joins others, and for tests. */
  noCluster: boolean;
  /** Node name, unique in the ring (≤ 128 bytes). Unset: this host's name. Several nodes on one host
   * each need their own name (it also names their default state directory) and ports. */
  nodeName?: string;
  /** Gossip port, UDP and TCP (the same number for both); 0 picks a free one. */
  gossipPort: number;
  /** Interface the gossip port binds. Unset: `host`. */
  gossipHost?: string;
  /** Address other nodes use to reach this one (gossip, and the API address it advertises). Unset:
   * the gossip host, or — when that is a wildcard like 0.0.0.0 — this host's first non-loopback
   * IPv4 address. */
  advertise?: string;
  /** Seeds to join, "HOST:PORT" each; any one answering is enough. Unreachable seeds are retried with
   * exponential backoff, so nodes may start in any order. Empty: start a new ring. */
  join: string[];
  /** Gossip timing profile: `lan` detects a crash in ≈ 5–10 s and rides out ≈ 5 s stalls; `local`
   * detects in ≈ 2–4 s but may declare a process stopped for more than ≈ 2 s dead. */
  profile: GossipProfileChoice;
  /** Cluster key, base64 of 16, 24 or 32 bytes (AES-128/192/256-GCM); encrypts every gossip packet and
   * stream. Unset: the key ring kept in `stateDir` — generated there (and its join command printed)
   * when this node starts a new ring. Better passed by environment than on the command line. */
  clusterKey?: string;
  /** Run an unencrypted, unauthenticated ring (a warning is printed): anyone who can reach the gossip
   * port can join it and read its traffic. */
  insecure: boolean;
  /** Where the node keeps its key ring, incarnation and id. Unset: `$XDG_STATE_HOME/edgering/<name>`,
   * else `~/.local/state/edgering/<name>`. */
  stateDir?: string;
  /** Memory this node offers for model weights, in bytes, advertised to the planner. Unset: 80% of the
   * memory available at start (the weights of the loaded model if that cannot be read). */
  weightsMemory?: number;
  /** TCP port of the layer-pipeline stage server; 0 picks a free one. Peers learn it from gossip (the
   * `pipelineAddr` capability), so only firewalls need a fixed one. */
  pipelinePort: number;
  /** Hidden states between pipeline stages: `f16` (half the bytes per hop) or `f32` (exact). */
  wireDtype: WireDtypeChoice;
}

/** Names of the fields of {@link ServeConfig}. */
export type ServeConfigKey = keyof ServeConfig;

/** Most concurrent sequences a node accepts (each holds a KV slot and an output row). */
export const MAX_SLOTS = 256;
/** Largest engine step, in tokens: bounds scratch memory of the workspace. */
export const MAX_BATCH_LIMIT = 4096;
/** Largest accepted body limit, in bytes (64 MiB): a body is held in memory while it is parsed. */
export const MAX_BODY_LIMIT = 64 << 20;

/** Default cache directory: `$XDG_CACHE_HOME/edgering`, else `$HOME/.cache/edgering`, else `.cache/edgering`. */
export function defaultCacheDir(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && xdg.startsWith("/")) return `${xdg}/edgering`;
  const home = env.HOME ?? env.USERPROFILE;
  return home ? `${home}/.cache/edgering` : ".cache/edgering";
}

/**
 * The defaults of every field. `env` only decides the cache directory.
 *
 * @example
 * ```ts
 * defaultConfig({ HOME: "/home/ada" }).cacheDir; // "/home/ada/.cache/edgering"
 * ```
 */
export function defaultConfig(env: Readonly<Record<string, string | undefined>> = {}): ServeConfig {
  return {
    host: "127.0.0.1",
    port: 8080,
    cacheDir: defaultCacheDir(env),
    offline: false,
    backend: "auto",
    ctx: 2048,
    slots: 8,
    maxBatch: 64,
    prefillChunk: 32,
    queueSize: 64,
    defaultMaxTokens: 256,
    maxBodyBytes: 1 << 20,
    apiKeys: [],
    graceSeconds: 30,
    retryAfterSeconds: 1,
    noCluster: false,
    gossipPort: 7946,
    join: [],
    profile: "lan",
    insecure: false,
    pipelinePort: 0,
    wireDtype: "f16",
  };
}
