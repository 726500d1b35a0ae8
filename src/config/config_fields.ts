/**
 * Where each {@link ServeConfig} field comes from: its flag, environment variable and TOML key, how its
 * text is parsed, and its bounds. The record is typed over every key, so adding a field to ServeConfig
 * without a row here fails type checking.
 */
import { z } from "zod";
import { BACKEND_CHOICES } from "../backend/create_backend.ts";
import {
  GOSSIP_PROFILES,
  MAX_BATCH_LIMIT,
  MAX_BODY_LIMIT,
  MAX_SLOTS,
  type ServeConfig,
  type ServeConfigKey,
  WIRE_DTYPES,
} from "./serve_config.ts";

/** How a field's text (flag or environment) becomes a value. */
export type FieldKind = "string" | "int" | "bool" | "list";

/** One field's sources, parser and validation. */
export interface ConfigField {
  readonly kind: FieldKind;
  /** long flag name without dashes */
  readonly flag: string;
  /** environment variable */
  readonly env: string;
  /** key in the TOML file */
  readonly toml: string;
  /** one-line help for `--help` and `--print-config` */
  readonly help: string;
  /** validates the parsed value; its message names what is wrong */
  readonly schema: z.ZodType;
  /** never printed (`--print-config` redacts it) */
  readonly secret?: boolean;
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const nonEmpty = z.string().min(1).max(4096);

function field(
  kind: FieldKind,
  name: string,
  schema: z.ZodType,
  help: string,
  names: { flag?: string; env?: string; secret?: boolean } = {},
): ConfigField {
  const snake = name.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);
  return {
    kind,
    flag: names.flag ?? snake.replaceAll("_", "-"),
    env: names.env ?? `EDGERING_${snake.toUpperCase()}`,
    toml: snake,
    help,
    schema,
    ...(names.secret ? { secret: true } : {}),
  };
}

/** "HOST:PORT" or "[V6]:PORT" with a port in 1..65535. */
const hostPort = z.string().max(300).regex(
  /^(\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]+):([1-9]\d{0,4})$/,
  "must be HOST:PORT",
).refine((s) => Number(s.slice(s.lastIndexOf(":") + 1)) <= 65535, "port must be at most 65535");

/** Base64 of 16, 24 or 32 bytes: AES-128/192/256 keys. */
const clusterKey = z.string().refine((s) => {
  try {
    return /^[A-Za-z0-9+/]+={0,2}$/.test(s.trim()) && [16, 24, 32].includes(atob(s.trim()).length);
  } catch {
    return false;
  }
}, "must be base64 of 16, 24 or 32 bytes");

/** Every field of ServeConfig, in the order `--print-config` shows them. */
export const CONFIG_FIELDS: { readonly [K in ServeConfigKey]-?: ConfigField } = {
  host: field("string", "host", nonEmpty, "interface to bind (0.0.0.0: all; then set api keys)"),
  port: field("int", "port", int(0, 65535), "TCP port; 0 picks a free one"),
  model: field("string", "model", nonEmpty, "model: FILE.gguf, http(s) URL or hf:OWNER/REPO/FILE.gguf"),
  modelSha256: field(
    "string",
    "modelSha256",
    z.string().regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex digits"),
    "expected sha256 of a downloaded model",
  ),
  modelName: field(
    "string",
    "modelName",
    z.string().min(1).max(256),
    "model id in the API (default: file name)",
  ),
  cacheDir: field("string", "cacheDir", nonEmpty, "directory of downloaded models"),
  offline: field("bool", "offline", z.boolean(), "never download models"),
  backend: field(
    "string",
    "backend",
    z.enum(BACKEND_CHOICES),
    `compute backend: ${BACKEND_CHOICES.join("|")}`,
  ),
  threads: field("int", "threads", int(1, 1024), "CPU threads of the wasm backend (default: all cores)"),
  ctx: field("int", "ctx", int(16, 1 << 20), "context per sequence, tokens (capped at the model's)"),
  slots: field("int", "slots", int(1, MAX_SLOTS), "concurrent sequences (KV-cache slots)"),
  maxBatch: field("int", "maxBatch", int(1, MAX_BATCH_LIMIT), "most tokens per engine step (>= slots)"),
  prefillChunk: field(
    "int",
    "prefillChunk",
    int(1, MAX_BATCH_LIMIT),
    "most prompt tokens prefilled per step",
  ),
  queueSize: field("int", "queueSize", int(0, 1 << 16), "requests waiting for a slot before 429"),
  defaultMaxTokens: field(
    "int",
    "defaultMaxTokens",
    int(1, 1 << 20),
    "completion tokens when max_tokens is unset",
  ),
  maxBodyBytes: field(
    "int",
    "maxBodyBytes",
    int(1024, MAX_BODY_LIMIT),
    "largest request body, bytes (413 beyond)",
  ),
  apiKeys: field(
    "list",
    "apiKeys",
    z.array(z.string().min(1).max(1024).regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")),
    "accepted bearer tokens (repeat the flag; comma-separated in the environment)",
    { flag: "api-key", env: "EDGERING_API_KEY" },
  ),
  graceSeconds: field("int", "graceSeconds", int(0, 3600), "seconds streams may finish after SIGINT/SIGTERM"),
  retryAfterSeconds: field("int", "retryAfterSeconds", int(1, 3600), "Retry-After of a 429, seconds"),
  noCluster: field("bool", "noCluster", z.boolean(), "run a lone node: no gossip ring, no state directory"),
  nodeName: field(
    "string",
    "nodeName",
    z.string().min(1).max(128).regex(/^[^\s]+$/, "must not contain spaces"),
    "node name in the ring (default: host name)",
    { flag: "name", env: "EDGERING_NAME" },
  ),
  gossipPort: field("int", "gossipPort", int(0, 65535), "gossip port, UDP and TCP; 0 picks a free one"),
  gossipHost: field("string", "gossipHost", nonEmpty, "interface the gossip port binds (default: --host)"),
  advertise: field(
    "string",
    "advertise",
    nonEmpty,
    "address other nodes reach this one at (default: gossip host)",
  ),
  join: field(
    "list",
    "join",
    z.array(hostPort),
    "seed HOST:PORT to join (repeat the flag; comma-separated in the environment)",
  ),
  profile: field("string", "profile", z.enum(GOSSIP_PROFILES), `gossip timing: ${GOSSIP_PROFILES.join("|")}`),
  clusterKey: field(
    "string",
    "clusterKey",
    clusterKey,
    "ring key, base64 of 16/24/32 bytes (default: generated, kept in the state dir)",
    { secret: true },
  ),
  insecure: field("bool", "insecure", z.boolean(), "run an unencrypted, unauthenticated ring"),
  stateDir: field(
    "string",
    "stateDir",
    nonEmpty,
    "key ring, incarnation and id (default: $XDG_STATE_HOME/edgering/NAME)",
  ),
  weightsMemory: field(
    "int",
    "weightsMemory",
    int(0, Number.MAX_SAFE_INTEGER),
    "memory offered for weights, bytes (default: 80% of available)",
  ),
  pipelinePort: field(
    "int",
    "pipelinePort",
    int(0, 65535),
    "layer-pipeline TCP port; 0 picks a free one (advertised through gossip)",
  ),
  wireDtype: field(
    "string",
    "wireDtype",
    z.enum(WIRE_DTYPES),
    `hidden states between pipeline stages: ${WIRE_DTYPES.join("|")} (f32: exact, twice the bytes)`,
  ),
};

/** Field names in display order. */
export const CONFIG_KEYS = Object.keys(CONFIG_FIELDS) as ServeConfigKey[];

/** Type guard over ServeConfig keys. */
export function isConfigKey(key: string): key is ServeConfigKey {
  return Object.hasOwn(CONFIG_FIELDS, key);
}

/** Value type of a field, for callers that build partial configs. */
export type ConfigValue<K extends ServeConfigKey> = ServeConfig[K];
