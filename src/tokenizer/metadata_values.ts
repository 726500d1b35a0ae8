/**
 * Typed reads of `tokenizer.*` metadata values; a value of the wrong type is a TokenizerError naming the
 * key, never a crash further down.
 */
import type { GgufKv } from "../gguf/types.ts";
import { TokenizerError } from "./tokenizer_error.ts";

/** The metadata map as the GGUF reader returns it. */
export type Metadata = ReadonlyMap<string, GgufKv>;

function bad(key: string, want: string, got: unknown): TokenizerError {
  const shown = Array.isArray(got)
    ? `an array of ${got.length}`
    : typeof got === "string"
    ? `"${got}"`
    : String(got);
  return new TokenizerError("bad-metadata", `metadata ${key} must be ${want}, got ${shown}`);
}

/** A string value, or undefined when the key is absent. */
export function optString(meta: Metadata, key: string): string | undefined {
  const kv = meta.get(key);
  if (kv === undefined) return undefined;
  if (typeof kv.value !== "string") throw bad(key, "a string", kv.value);
  return kv.value;
}

/** A boolean value (numbers 0/1 accepted, as some converters write them), or undefined when absent. */
export function optBool(meta: Metadata, key: string): boolean | undefined {
  const kv = meta.get(key);
  if (kv === undefined) return undefined;
  if (typeof kv.value === "boolean") return kv.value;
  if (kv.value === 0 || kv.value === 1) return kv.value === 1;
  throw bad(key, "a boolean", kv.value);
}

/** A non-negative integer value (32- or 64-bit), or undefined when absent. */
export function optUint(meta: Metadata, key: string): number | undefined {
  const kv = meta.get(key);
  if (kv === undefined) return undefined;
  const v = typeof kv.value === "bigint" ? Number(kv.value) : kv.value;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw bad(key, "a non-negative integer", kv.value);
  }
  return v;
}

/** An array of strings, or undefined when absent. */
export function optStringArray(meta: Metadata, key: string): readonly string[] | undefined {
  const kv = meta.get(key);
  if (kv === undefined) return undefined;
  const v = kv.value;
  if (!Array.isArray(v)) throw bad(key, "an array of strings", v);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== "string") throw bad(`${key}[${i}]`, "a string", v[i]);
  }
  return v as string[];
}

/** An array of numbers, or undefined when absent. */
export function optNumberArray(meta: Metadata, key: string): readonly number[] | undefined {
  const kv = meta.get(key);
  if (kv === undefined) return undefined;
  const v = kv.value;
  if (!Array.isArray(v)) throw bad(key, "an array of numbers", v);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== "number") throw bad(`${key}[${i}]`, "a number", v[i]);
  }
  return v as number[];
}
