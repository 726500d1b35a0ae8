/**
 * Test helper: GGUF-shaped tokenizer metadata built in memory, for error cases and large vocabularies.
 */
import { type GgufKv, type GgufValue, GgufValueType } from "../../src/gguf/types.ts";
import { BYTE_TO_CHAR } from "../../src/tokenizer/byte_unicode.ts";

export type MetaEntries = Record<string, GgufKv>;

export const str = (value: string): GgufKv => ({ type: GgufValueType.STRING, value });
export const u32 = (value: number): GgufKv => ({ type: GgufValueType.UINT32, value });
export const bool = (value: boolean): GgufKv => ({ type: GgufValueType.BOOL, value });
export const strs = (value: string[]): GgufKv => ({
  type: GgufValueType.ARRAY,
  arrayType: GgufValueType.STRING,
  value,
});
export const i32s = (value: number[]): GgufKv => ({
  type: GgufValueType.ARRAY,
  arrayType: GgufValueType.INT32,
  value,
});
export const f32s = (value: number[]): GgufKv => ({
  type: GgufValueType.ARRAY,
  arrayType: GgufValueType.FLOAT32,
  value,
});
export const raw = (type: GgufValueType, value: GgufValue): GgufKv => ({ type, value });

export function toMap(entries: MetaEntries): ReadonlyMap<string, GgufKv> {
  return new Map(Object.entries(entries));
}

/** A tiny valid SPM vocabulary: <unk> <s> </s>, the 256 byte tokens, then `pieces` with descending scores. */
export function spmMeta(pieces: string[], extra: MetaEntries = {}): MetaEntries {
  const bytes = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
  const tokens = ["<unk>", "<s>", "</s>", ...bytes, ...pieces];
  return {
    "tokenizer.ggml.model": str("llama"),
    "tokenizer.ggml.tokens": strs(tokens),
    "tokenizer.ggml.scores": f32s(tokens.map((_, i) => (i < 259 ? 0 : -i))),
    "tokenizer.ggml.token_type": i32s(tokens.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1))),
    ...extra,
  };
}

/** A byte-level BPE vocabulary of the 256 byte characters plus one token per merge. */
export function bpeMeta(merges: string[], extra: MetaEntries = {}): MetaEntries {
  const tokens = [...BYTE_TO_CHAR, ...merges.map((m) => m.replace(" ", ""))];
  return {
    "tokenizer.ggml.model": str("gpt2"),
    "tokenizer.ggml.pre": str("gpt-2"),
    "tokenizer.ggml.tokens": strs(tokens),
    "tokenizer.ggml.merges": strs(merges),
    "tokenizer.ggml.eos_token_id": u32(0),
    ...extra,
  };
}

/**
 * A byte-level BPE vocabulary of `size` tokens whose merges join random existing tokens (seeded), like a
 * trained vocabulary of that size.
 */
export function largeBpeMeta(size: number, seed = 1): MetaEntries {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
  const tokens: string[] = [...BYTE_TO_CHAR];
  const known = new Set(tokens);
  const merges: string[] = [];
  // Favour letters and short tokens so merges look like words.
  const letters = [..."etaoinshrdlucmfwypvbgkqjxzĠ"];
  while (tokens.length < size) {
    const pick = () => (next() % 4 === 0 ? letters[next() % letters.length] : tokens[next() % tokens.length]);
    const a = pick();
    const b = pick();
    if (a.length + b.length > 16 || known.has(a + b)) continue;
    known.add(a + b);
    tokens.push(a + b);
    merges.push(`${a} ${b}`);
  }
  return {
    "tokenizer.ggml.model": str("gpt2"),
    "tokenizer.ggml.pre": str("qwen2"),
    "tokenizer.ggml.tokens": strs(tokens),
    "tokenizer.ggml.merges": strs(merges),
    "tokenizer.ggml.eos_token_id": u32(0),
  };
}
