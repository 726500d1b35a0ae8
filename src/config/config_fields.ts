/**
 * Where each {@link ServeConfig} field comes from: its flag, environment variable and TOML key, how its
 * text is parsed, and its bounds. The record is typed over every key, so adding a field to ServeConfig
 * without a row here fails type checking.
 */
import { z } from "zod";
import { BACKEND_CHOICES } from "../backend/create_backend.ts";
import {
  MAX_BATCH_LIMIT,
  MAX_BODY_LIMIT,
  MAX_SLOTS,
  type ServeConfig,
  type ServeConfigKey,
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
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const nonEmpty = z.string().min(1).max(4096);

function field(
  kind: FieldKind,
  name: string,
  schema: z.ZodType,
  help: string,
  names: { flag?: string; env?: string } = {},
): ConfigField {
  const snake = name.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);
  return {
    kind,
    flag: names.flag ?? snake.replaceAll("_", "-"),
    env: names.env ?? `EDGERING_${snake.toUpperCase()}`,
    toml: snake,
    help,
    schema,
  };
}

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
};

/** Field names in display order. */
export const CONFIG_KEYS = Object.keys(CONFIG_FIELDS) as ServeConfigKey[];

/** Type guard over ServeConfig keys. */
export function isConfigKey(key: string): key is ServeConfigKey {
  return Object.hasOwn(CONFIG_FIELDS, key);
}

/** Value type of a field, for callers that build partial configs. */
export type ConfigValue<K extends ServeConfigKey> = ServeConfig[K];
