/**
 * Typed reads of GGUF metadata, shared by every consumer (GgufFile's getters, the tokenizer, the model
 * config) so that a value of the wrong type is always caught the same way and reported as the consumer's
 * own typed error, naming the key, what was expected and what was found.
 *
 * Getters return undefined for an absent key and throw only for a present value of the wrong type;
 * {@link MetadataReader.require} turns "absent" into an error where a key is mandatory.
 *
 * @example
 * ```ts
 * const meta = new MetadataReader(file.header.metadata, (_problem, message) => new ModelConfigError(message));
 * const dim = meta.require("llama.embedding_length", meta.uint("llama.embedding_length"), "an integer");
 * const base = meta.number("llama.rope.freq_base") ?? 10000;
 * ```
 */
import type { GgufKv, GgufValue } from "./types.ts";

/** What went wrong with a key. */
export type MetadataProblem = "missing_key" | "wrong_type";

/** Builds the consumer's error for a problem; `message` names the key, the expectation and the value. */
export type MetadataErrorFactory = (problem: MetadataProblem, message: string) => Error;

function describe(value: GgufValue): string {
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value);
  return `${typeof value} ${String(value)}`;
}

/** Typed, optional reads over a metadata map. */
export class MetadataReader {
  constructor(
    readonly metadata: ReadonlyMap<string, GgufKv>,
    private readonly makeError: MetadataErrorFactory,
    /** prefix of messages, e.g. the file name */
    private readonly origin = "metadata",
  ) {}

  has(key: string): boolean {
    return this.metadata.has(key);
  }

  /** `value`, or the missing-key error when it is undefined. */
  require<T>(key: string, value: T | undefined, expected: string): T {
    if (value !== undefined) return value;
    throw this.makeError("missing_key", `${this.origin}: key "${key}" is missing (expected ${expected})`);
  }

  #read<T>(key: string, expected: string, accept: (value: GgufValue) => T | undefined): T | undefined {
    const kv = this.metadata.get(key);
    if (kv === undefined) return undefined;
    const result = accept(kv.value);
    if (result === undefined) {
      throw this.makeError(
        "wrong_type",
        `${this.origin}: key "${key}" must be ${expected}, got ${describe(kv.value)}`,
      );
    }
    return result;
  }

  string(key: string): string | undefined {
    return this.#read(key, "a string", (v) => (typeof v === "string" ? v : undefined));
  }

  /** Any numeric value; 64-bit integers are converted (beyond 2^53 they lose precision: use bigint). */
  number(key: string): number | undefined {
    return this.#read(
      key,
      "a number",
      (v) => (typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : undefined),
    );
  }

  /** A non-negative integer that fits a JS number exactly. */
  uint(key: string): number | undefined {
    return this.#read(key, "a non-negative integer", (v) => {
      const n = typeof v === "bigint" ? Number(v) : v;
      return typeof n === "number" && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
    });
  }

  /** An integer as an exact bigint. */
  bigint(key: string): bigint | undefined {
    return this.#read(
      key,
      "an integer",
      (v) => typeof v === "bigint" ? v : typeof v === "number" && Number.isInteger(v) ? BigInt(v) : undefined,
    );
  }

  /** A boolean; the numbers 0 and 1 are accepted too, as some converters write flags that way. */
  bool(key: string): boolean | undefined {
    return this.#read(
      key,
      "a boolean",
      (v) => (typeof v === "boolean" ? v : v === 0 || v === 1 ? v === 1 : undefined),
    );
  }

  array(key: string): readonly GgufValue[] | undefined {
    return this.#read(key, "an array", (v) => (Array.isArray(v) ? v : undefined));
  }

  /** An array of strings (e.g. tokenizer.ggml.tokens). */
  stringArray(key: string): readonly string[] | undefined {
    return this.#elements(key, "a string", (item) => typeof item === "string") as string[] | undefined;
  }

  /** An array of numbers (e.g. tokenizer.ggml.scores); 64-bit integers are converted. */
  numberArray(key: string): readonly number[] | undefined {
    const items = this.#elements(
      key,
      "a number",
      (item) => typeof item === "number" || typeof item === "bigint",
    );
    return items?.some((item) => typeof item === "bigint")
      ? items.map(Number)
      : items as number[] | undefined;
  }

  /** An array whose every element passes `ok`; the first bad element is named by its index. */
  #elements(
    key: string,
    expected: string,
    ok: (item: GgufValue) => boolean,
  ): readonly GgufValue[] | undefined {
    const items = this.#read(
      key,
      `an array of ${expected.replace(/^an? /, "")}s`,
      (v) => (Array.isArray(v) ? v : undefined),
    );
    const bad = items?.findIndex((item) => !ok(item)) ?? -1;
    if (bad >= 0) {
      throw this.makeError(
        "wrong_type",
        `${this.origin}: key "${key}[${bad}]" must be ${expected}, got ${describe(items![bad])}`,
      );
    }
    return items;
  }
}
