/**
 * Flag parsing for every verb, on top of node:util's parseArgs in strict mode (unknown flags are errors).
 */
import { parseArgs } from "node:util";
import { UsageError } from "./cli_error.ts";

/** One flag of a verb: its type, an optional default, and the help line. */
export interface FlagSpec {
  readonly type: "string" | "boolean";
  readonly help: string;
  readonly default?: string | boolean;
  readonly multiple?: boolean;
}

/** A verb's flags by long name. */
export type FlagTable = Readonly<Record<string, FlagSpec>>;

/** Parsed flags and positional arguments. */
export interface ParsedFlags {
  readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  readonly positionals: string[];
}

/** Parses `args` against `table`; throws UsageError naming the bad flag. */
export function parseFlags(verb: string, args: readonly string[], table: FlagTable): ParsedFlags {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {
    help: { type: "boolean" },
  };
  for (const [name, spec] of Object.entries(table)) {
    options[name] = spec.multiple ? { type: spec.type, multiple: true } : { type: spec.type };
  }
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options,
      strict: true,
      allowPositionals: true,
    });
    const withDefaults: ParsedFlags["values"] = { ...values };
    for (const [name, spec] of Object.entries(table)) {
      if (withDefaults[name] === undefined && spec.default !== undefined) withDefaults[name] = spec.default;
    }
    return { values: withDefaults, positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new UsageError(`${verb}: ${message} (see 'edgering ${verb} --help')`);
  }
}

/** Help text for a verb: usage line, then one line per flag. */
export function formatHelp(usage: string, summary: string, table: FlagTable): string {
  const lines = [`usage: ${usage}`, "", summary, "", "flags:"];
  for (const [name, spec] of Object.entries(table)) {
    const value = spec.type === "string" ? ` ${name.toUpperCase().replaceAll("-", "_")}` : "";
    const fallback = spec.default !== undefined ? ` (default ${spec.default})` : "";
    lines.push(`  --${name}${value}`.padEnd(33) + " " + spec.help + fallback);
  }
  lines.push("  --help".padEnd(33) + " show this help");
  return lines.join("\n");
}

/** A string flag that must be present. */
export function requireString(flags: ParsedFlags, verb: string, name: string): string {
  const value = flags.values[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`${verb}: --${name} is required`);
  return value;
}

/** A numeric flag within [min, max], or undefined when absent. */
export function numberFlag(
  flags: ParsedFlags,
  verb: string,
  name: string,
  min: number,
  max: number,
  integer = false,
): number | undefined {
  const raw = flags.values[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(value) || value < min || value > max) {
    throw new UsageError(`${verb}: --${name} must be a number in [${min}, ${max}], got "${raw}"`);
  }
  if (integer && !Number.isInteger(value)) {
    throw new UsageError(`${verb}: --${name} must be an integer, got "${raw}"`);
  }
  return value;
}
