/**
 * The flag table of `edgering serve`: `--config` and `--print-config`, plus one flag per config field,
 * derived from `CONFIG_FIELDS` so a new setting gets its flag (and its help, naming its environment
 * variable) without touching the CLI.
 */
import { CONFIG_FIELDS, CONFIG_KEYS } from "../config/mod.ts";
import type { FlagTable } from "./flags.ts";

/**
 * The flags `edgering serve` accepts: lists take the flag repeatedly, booleans take no value.
 *
 * @example
 * ```ts
 * const flags = serveFlags();
 * flags.port.type; // "string"
 * ```
 */
export function serveFlags(): FlagTable {
  const table: Record<string, FlagTable[string]> = {
    config: { type: "string", help: "TOML config file (or EDGERING_CONFIG)" },
    "print-config": { type: "boolean", help: "print the effective config as TOML and exit" },
  };
  for (const key of CONFIG_KEYS) {
    const field = CONFIG_FIELDS[key];
    table[field.flag] = {
      type: field.kind === "bool" ? "boolean" : "string",
      multiple: field.kind === "list" ? true : undefined,
      help: `${field.help} [${field.env}]`,
    };
  }
  return table;
}
