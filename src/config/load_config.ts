/**
 * Building the effective {@link ServeConfig} from its four layers, highest first:
 *
 *   1. command-line flags          (`--slots 16`, `--api-key K` repeated)
 *   2. environment variables       (`EDGERING_SLOTS=16`, `EDGERING_API_KEY=k1,k2`)
 *   3. the TOML file of `--config` (or `EDGERING_CONFIG`), keys in snake_case (`slots = 16`)
 *   4. {@link defaultConfig}
 *
 * Each layer is parsed into a partial config on its own, so an error names the layer and the field
 * (`environment EDGERING_SLOTS: ...`); the merge itself is a pure function that also records where every
 * value came from, which `--print-config` shows.
 */
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import { CONFIG_FIELDS, CONFIG_KEYS, type ConfigField, isConfigKey } from "./config_fields.ts";
import { defaultConfig, type ServeConfig, type ServeConfigKey } from "./serve_config.ts";

/** A config value that cannot be used; the message names the source, the field and the value. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Where a value of the effective config came from. */
export type ConfigSource = "flag" | "env" | "file" | "default";

/** The effective config and the source of each field. */
export interface ResolvedConfig {
  readonly config: ServeConfig;
  readonly sources: Readonly<Record<ServeConfigKey, ConfigSource>>;
  /** path of the config file read, if any */
  readonly file?: string;
}

/** A partial config, as one layer provides it. */
export type ConfigLayer = Partial<ServeConfig>;

/** Parsed command-line values by flag name, as node:util parseArgs returns them. */
export type FlagValues = Readonly<
  Record<string, string | boolean | ReadonlyArray<string | boolean> | undefined>
>;

/** Environment variable holding the config file path when `--config` is not given. */
export const CONFIG_PATH_ENV = "EDGERING_CONFIG";
/** Largest config file read, in bytes: a config is a few hundred bytes; anything huge is a mistake. */
export const MAX_CONFIG_FILE_BYTES = 1 << 20;

const TRUE_WORDS = new Set(["1", "true", "yes", "on"]);
const FALSE_WORDS = new Set(["0", "false", "no", "off"]);

function validate(spec: ConfigField, value: unknown, where: string): unknown {
  const result = spec.schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (spec.secret) throw new ConfigError(`${where}: ${issue?.message ?? "invalid value"} (value not shown)`);
  const shown = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  throw new ConfigError(`${where}: ${issue?.message ?? "invalid value"} (got ${shown.slice(0, 80)})`);
}

function parseText(spec: ConfigField, text: string, where: string): unknown {
  switch (spec.kind) {
    case "string":
      return text;
    case "int": {
      if (!/^-?\d{1,16}$/.test(text.trim())) {
        throw new ConfigError(`${where}: expected an integer, got "${text.slice(0, 80)}"`);
      }
      return Number(text.trim());
    }
    case "bool": {
      const word = text.trim().toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      throw new ConfigError(`${where}: expected true or false, got "${text.slice(0, 80)}"`);
    }
    case "list":
      return text.split(",").map((item) => item.trim()).filter((item) => item !== "");
  }
}

/**
 * The flags layer: every config field whose flag was given. Flag values are what parseArgs returns
 * (strings, booleans, string arrays for repeated flags).
 *
 * @example
 * ```ts
 * configFromFlags({ port: "9000", "api-key": ["a", "b"] }); // { port: 9000, apiKeys: ["a", "b"] }
 * ```
 */
export function configFromFlags(values: FlagValues): ConfigLayer {
  const layer: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const spec = CONFIG_FIELDS[key];
    const raw = values[spec.flag];
    if (raw === undefined) continue;
    const where = `--${spec.flag}`;
    let value: unknown;
    if (spec.kind === "bool") {
      value = raw === true || (typeof raw === "string" && parseText(spec, raw, where) === true);
    } else if (spec.kind === "list") {
      value = (Array.isArray(raw) ? raw : [String(raw)]).filter((item) => item !== "");
    } else if (typeof raw === "string") value = parseText(spec, raw, where);
    else throw new ConfigError(`${where}: expected a value`);
    layer[key] = validate(spec, value, where);
  }
  return layer as ConfigLayer;
}

/**
 * The environment layer: every `EDGERING_*` variable naming a config field. Empty variables are ignored,
 * so `EDGERING_MODEL= edgering serve` behaves like an unset variable.
 *
 * @example
 * ```ts
 * configFromEnv({ EDGERING_SLOTS: "4", EDGERING_OFFLINE: "1" }); // { slots: 4, offline: true }
 * ```
 */
export function configFromEnv(env: Readonly<Record<string, string | undefined>>): ConfigLayer {
  const layer: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const spec = CONFIG_FIELDS[key];
    const raw = env[spec.env];
    if (raw === undefined || raw === "") continue;
    const where = `environment ${spec.env}`;
    layer[key] = validate(spec, parseText(spec, raw, where), where);
  }
  return layer as ConfigLayer;
}

/**
 * The file layer: a TOML document whose top-level keys are the snake_case field names. Unknown keys are
 * errors (a misspelt key would otherwise be ignored silently).
 *
 * @example
 * ```ts
 * configFromToml('port = 9000\napi_keys = ["k"]', "edgering.toml"); // { port: 9000, apiKeys: ["k"] }
 * ```
 */
export function configFromToml(text: string, path: string): ConfigLayer {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    const line = (error as { line?: number }).line;
    throw new ConfigError(`config file ${path}${line ? ` line ${line}` : ""}: ${message}`);
  }
  const byToml = new Map(CONFIG_KEYS.map((key) => [CONFIG_FIELDS[key].toml, key] as const));
  const layer: Record<string, unknown> = {};
  for (const [tomlKey, value] of Object.entries(doc)) {
    const key = byToml.get(tomlKey);
    if (!key || !isConfigKey(key)) {
      throw new ConfigError(
        `config file ${path}: unknown key "${tomlKey.slice(0, 80)}" (known: ${
          [...byToml.keys()].join(", ")
        })`,
      );
    }
    layer[key] = validate(CONFIG_FIELDS[key], value, `config file ${path}: ${tomlKey}`);
  }
  return layer as ConfigLayer;
}

/**
 * Merges layers over the defaults, highest priority first, and records each field's source. Pure.
 * Also checks rules that involve two fields (maxBatch ≥ slots).
 */
export function mergeConfig(
  base: ServeConfig,
  layers: ReadonlyArray<{ readonly source: Exclude<ConfigSource, "default">; readonly values: ConfigLayer }>,
  file?: string,
): ResolvedConfig {
  const config: Record<string, unknown> = { ...base };
  const sources = Object.fromEntries(CONFIG_KEYS.map((key) => [key, "default"])) as Record<
    ServeConfigKey,
    ConfigSource
  >;
  // lowest priority first, so higher layers overwrite
  for (const layer of [...layers].reverse()) {
    for (const [key, value] of Object.entries(layer.values)) {
      if (value === undefined || !isConfigKey(key)) continue;
      config[key] = value;
      sources[key] = layer.source;
    }
  }
  const result = config as unknown as ServeConfig;
  if (result.maxBatch < result.slots) {
    throw new ConfigError(
      `max_batch ${result.maxBatch} (from ${sources.maxBatch}) must be at least slots ${result.slots} ` +
        `(from ${sources.slots}): every running sequence decodes one token per step`,
    );
  }
  return { config: result, sources, file };
}

/** What {@link loadServeConfig} reads from: flags, environment and a file reader (injected for tests). */
export interface ConfigInputs {
  readonly flags: FlagValues;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** path given by `--config`, if any */
  readonly configPath?: string;
  readonly readTextFile?: (path: string) => Promise<string>;
}

async function readConfigFile(path: string): Promise<string> {
  const info = await Deno.stat(path);
  if (!info.isFile) throw new ConfigError(`config file ${path} is not a regular file`);
  if (info.size > MAX_CONFIG_FILE_BYTES) {
    throw new ConfigError(`config file ${path} is ${info.size} bytes; the limit is ${MAX_CONFIG_FILE_BYTES}`);
  }
  return await Deno.readTextFile(path);
}

/**
 * Reads all four layers and returns the effective config.
 *
 * @example
 * ```ts
 * const { config, sources } = await loadServeConfig({ flags: { port: "0" }, env: Deno.env.toObject() });
 * sources.port; // "flag"
 * ```
 */
export async function loadServeConfig(inputs: ConfigInputs): Promise<ResolvedConfig> {
  const path = inputs.configPath ?? (inputs.env[CONFIG_PATH_ENV] || undefined);
  let fileLayer: ConfigLayer = {};
  if (path !== undefined) {
    let text: string;
    try {
      text = await (inputs.readTextFile ?? readConfigFile)(path);
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      const reason = error instanceof Deno.errors.NotFound
        ? "not found"
        : (error as Error).message ?? String(error);
      throw new ConfigError(`cannot read config file ${path}: ${reason}`);
    }
    fileLayer = configFromToml(text, path);
  }
  const layers = [
    { source: "flag" as const, values: configFromFlags(inputs.flags) },
    { source: "env" as const, values: configFromEnv(inputs.env) },
    { source: "file" as const, values: fileLayer },
  ];
  return mergeConfig(defaultConfig(inputs.env), layers, path);
}

/**
 * The effective config as a TOML document that can be saved and passed back with `--config`: one
 * comment per field with its help and source, unset fields commented out, API keys redacted.
 */
export function formatConfig(resolved: ResolvedConfig): string {
  const lines = [
    "# effective edgering serve config (precedence: flag > env > file > default)",
    ...(resolved.file ? [`# config file: ${resolved.file}`] : []),
  ];
  for (const key of CONFIG_KEYS) {
    const spec = CONFIG_FIELDS[key];
    let value: unknown = resolved.config[key];
    lines.push("", `# ${spec.help} [${resolved.sources[key]}; --${spec.flag}, ${spec.env}]`);
    if (value === undefined) {
      lines.push(`# ${spec.toml} = (unset)`);
      continue;
    }
    if (spec.secret) {
      lines.push(`# ${spec.toml}: set, redacted`);
      continue;
    }
    if (key === "apiKeys") {
      const count = (value as string[]).length;
      if (count > 0) {
        lines.push(`# ${spec.toml}: ${count} key(s), redacted`);
        continue;
      }
      value = [];
    }
    lines.push(stringifyToml({ [spec.toml]: value }).trim());
  }
  return lines.join("\n") + "\n";
}
