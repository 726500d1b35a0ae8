/**
 * The vocabulary as read from GGUF metadata: token texts, scores and attributes, merges, special ids and
 * the flags that steer encoding and decoding — with llama.cpp's defaults and its name-based fix-ups for
 * end-of-generation tokens, so a model behaves here as it does there.
 */
import { BpeMerges } from "./bpe_merges.ts";
import type { GgufKv } from "../gguf/types.ts";
import { MetadataReader } from "../gguf/metadata_reader.ts";
import { type PreTokenizer, preTokenizer } from "./pre_tokenizer.ts";
import { attrFromTokenType, TokenAttr } from "./token_attr.ts";
import { TokenizerError } from "./tokenizer_error.ts";

/** The metadata map as the GGUF reader returns it. */
export type Metadata = ReadonlyMap<string, GgufKv>;

/** Id meaning "no such token". */
export const NO_TOKEN = -1;

/** Everything the encoder and decoder need, immutable after loading. */
export interface Vocab {
  /** `tokenizer.ggml.model`: SentencePiece-style ("llama") or byte-level BPE ("gpt2") */
  readonly model: "llama" | "gpt2";
  readonly tokens: readonly string[];
  readonly scores: Float32Array;
  /** TokenAttr bits per token */
  readonly attrs: Uint16Array;
  readonly tokenToId: ReadonlyMap<string, number>;
  /** ranked merges (lower merges first); empty for SPM */
  readonly merges: BpeMerges;
  /** BPE only */
  readonly pre?: PreTokenizer;
  readonly bos: number;
  readonly eos: number;
  readonly eot: number;
  readonly unk: number;
  readonly pad: number;
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** SPM: a space is put before the text (and dropped again from the first decoded piece) */
  readonly addSpacePrefix: boolean;
  /** decode-time clean-up of spaces before punctuation (llama.cpp's clean_spaces) */
  readonly cleanSpaces: boolean;
  /** ids that end generation */
  readonly eogIds: ReadonlySet<number>;
  /** control, user-defined and unknown tokens, longest text first: matched in raw text before BPE/SPM */
  readonly specialTokens: readonly number[];
}

const KEY = {
  model: "tokenizer.ggml.model",
  pre: "tokenizer.ggml.pre",
  tokens: "tokenizer.ggml.tokens",
  scores: "tokenizer.ggml.scores",
  tokenType: "tokenizer.ggml.token_type",
  merges: "tokenizer.ggml.merges",
  addBos: "tokenizer.ggml.add_bos_token",
  addEos: "tokenizer.ggml.add_eos_token",
  addSpacePrefix: "tokenizer.ggml.add_space_prefix",
} as const;

/** Candidate texts of auto-detected tokens when the metadata names none, in priority order. */
const EOT_TEXTS = [
  "<|eot_id|>",
  "<|im_end|>",
  "<|end|>",
  "<end_of_turn>",
  "<|endoftext|>",
  "<|end_of_text|>",
  "<EOT>",
  "_<EOT>",
  "[EOT]",
  "<｜end▁of▁sentence｜>",
  "<end_of_utterance>",
];
const EOM_TEXTS = ["<|eom_id|>"];
/** Fill-in-the-middle tokens that only become control tokens. */
const FIM_MARKED: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["fim_pre_token_id", [
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
  ]],
  ["fim_suf_token_id", [
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
  ]],
  ["fim_mid_token_id", [
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
  ]],
];
/** Fill-in-the-middle tokens that also end generation. */
const FIM_EOG: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["fim_pad_token_id", ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]],
  ["fim_rep_token_id", ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]],
  ["fim_sep_token_id", ["<|file_sep|>"]],
];
/** Texts that always end generation (llama.cpp's list). */
const EOG_TEXTS = [
  "<|eot_id|>",
  "<|im_end|>",
  "<|end|>",
  "<|return|>",
  "<|call|>",
  "<|flush|>",
  "<|calls|>",
  "<end_of_turn>",
  "<|endoftext|>",
  "</s>",
  "<|eom_id|>",
  "<EOT>",
  "_<EOT>",
  "[EOT]",
  "[EOS]",
  "<|end_of_text|>",
  "<end_of_utterance>",
  "<eos>",
  "<turn|>",
  "<|tool_response>",
  "<｜end▁of▁sentence｜>",
  "[e~[",
];
/** gpt-oss structural tokens that must always be rendered. */
const ALWAYS_RENDERED_TEXTS = ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"];

/**
 * Reads the vocabulary from GGUF metadata.
 *
 * @example
 * ```ts
 * const vocab = loadVocab(file.header.metadata);
 * vocab.tokens.length; // 32000
 * ```
 */
export function loadVocab(metadata: Metadata): Vocab {
  const meta = new MetadataReader(
    metadata,
    (_problem, message) => new TokenizerError("bad-metadata", message),
  );
  const modelName = meta.string(KEY.model);
  if (modelName !== "llama" && modelName !== "gpt2") {
    throw new TokenizerError(
      "unsupported-model",
      modelName === undefined
        ? `metadata has no ${KEY.model}`
        : `unsupported tokenizer model ${KEY.model} = "${modelName}" (supported: llama, gpt2)`,
    );
  }
  const spm = modelName === "llama";
  const pre = spm ? undefined : preTokenizer(meta.string(KEY.pre));

  const tokens = readTokens(meta);
  const n = tokens.length;
  const tokenToId = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const prior = tokenToId.get(tokens[i]);
    if (prior !== undefined) {
      throw new TokenizerError(
        "bad-metadata",
        `duplicate token ${JSON.stringify(tokens[i])} has ids ${prior} and ${i}`,
      );
    }
    tokenToId.set(tokens[i], i);
  }
  const scores = readScores(meta, n);
  const attrs = readAttrs(meta, n);
  const merges = new BpeMerges(spm ? [] : readMerges(meta), tokenToId, n);

  const special = (key: string, fallback: number): number => {
    const def = fallback >= 0 && fallback < n ? fallback : NO_TOKEN;
    const id = meta.uint(`tokenizer.ggml.${key}`);
    return id !== undefined && id < n ? id : def;
  };
  const bos = special("bos_token_id", spm ? 1 : pre?.noBos ? NO_TOKEN : 11);
  const eos = special("eos_token_id", spm ? 2 : 11);
  const unk = special("unknown_token_id", spm ? 0 : NO_TOKEN);
  const pad = special("padding_token_id", NO_TOKEN);
  const byText = (texts: readonly string[]): number => {
    for (const t of texts) {
      const id = tokenToId.get(t);
      if (id !== undefined) return id;
    }
    return NO_TOKEN;
  };
  const control = (id: number) => {
    if (id !== NO_TOKEN) attrs[id] |= TokenAttr.CONTROL;
    return id;
  };
  // Ids the metadata leaves out are found by their text and then treated as control tokens.
  const known = (key: string, texts: readonly string[]) => {
    const id = special(key, NO_TOKEN);
    return id !== NO_TOKEN ? id : control(byText(texts));
  };
  const eot = known("eot_token_id", EOT_TEXTS);
  const eom = known("eom_token_id", EOM_TEXTS);
  for (const [key, texts] of FIM_MARKED) known(key, texts);
  const fimIds = FIM_EOG.map(([key, texts]) => known(key, texts));

  const addBos = meta.bool(KEY.addBos) ?? (spm || (pre?.addBos ?? false));
  const addEos = meta.bool(KEY.addEos) ?? false;
  if (addBos && bos === NO_TOKEN) {
    throw new TokenizerError(
      "bad-metadata",
      `${KEY.addBos} is true, but tokenizer.ggml.bos_token_id is not set`,
    );
  }
  if (addEos && eos === NO_TOKEN) {
    throw new TokenizerError(
      "bad-metadata",
      `${KEY.addEos} is true, but tokenizer.ggml.eos_token_id is not set`,
    );
  }

  for (const t of ALWAYS_RENDERED_TEXTS) {
    const id = tokenToId.get(t);
    if (id !== undefined) attrs[id] = TokenAttr.USER_DEFINED;
  }
  const eogIds = endOfGeneration(tokenToId, attrs, [eos, eot, eom, ...fimIds]);
  applyNameFixups(meta.string("general.name") ?? "", tokenToId, attrs);

  const specialTokens: number[] = [];
  for (let i = 0; i < n; i++) {
    if (attrs[i] & (TokenAttr.CONTROL | TokenAttr.USER_DEFINED | TokenAttr.UNKNOWN)) specialTokens.push(i);
  }
  specialTokens.sort((a, b) => tokens[b].length - tokens[a].length || a - b);

  return {
    model: modelName,
    tokens,
    scores,
    attrs,
    tokenToId,
    merges,
    pre,
    bos,
    eos,
    eot,
    unk,
    pad,
    addBos,
    addEos,
    addSpacePrefix: meta.bool(KEY.addSpacePrefix) ?? spm,
    cleanSpaces: pre?.cleanSpaces ?? false,
    eogIds,
    specialTokens,
  };
}

function readTokens(meta: MetadataReader): string[] {
  const raw = meta.stringArray(KEY.tokens);
  if (raw === undefined) throw new TokenizerError("bad-metadata", `metadata has no ${KEY.tokens}`);
  if (raw.length === 0) throw new TokenizerError("bad-metadata", `${KEY.tokens} is empty`);
  // An empty token text could never be matched; llama.cpp renames it the same way.
  return raw.map((t, i) => (t === "" ? `[EMPTY_${i}]` : t));
}

function readScores(meta: MetadataReader, n: number): Float32Array {
  const raw = meta.numberArray(KEY.scores);
  if (raw === undefined) return new Float32Array(n);
  if (raw.length < n) {
    throw new TokenizerError("bad-metadata", `${KEY.scores} has ${raw.length} entries for ${n} tokens`);
  }
  return Float32Array.from(raw.slice(0, n));
}

function readAttrs(meta: MetadataReader, n: number): Uint16Array {
  const raw = meta.numberArray(KEY.tokenType);
  const attrs = new Uint16Array(n).fill(TokenAttr.NORMAL);
  if (raw === undefined) return attrs;
  if (raw.length < n) {
    throw new TokenizerError("bad-metadata", `${KEY.tokenType} has ${raw.length} entries for ${n} tokens`);
  }
  for (let i = 0; i < n; i++) attrs[i] = attrFromTokenType(raw[i]);
  return attrs;
}

function readMerges(meta: MetadataReader): readonly string[] {
  const raw = meta.stringArray(KEY.merges);
  if (raw === undefined) {
    throw new TokenizerError("bad-metadata", `byte-level BPE vocabulary has no ${KEY.merges}`);
  }
  return raw;
}

/** The end-of-generation set: the given ids plus tokens known by text, with llama.cpp's exceptions. */
function endOfGeneration(
  tokenToId: ReadonlyMap<string, number>,
  attrs: Uint16Array,
  ids: number[],
): Set<number> {
  const eog = new Set<number>(ids.filter((id) => id !== NO_TOKEN));
  for (const text of EOG_TEXTS) {
    const id = tokenToId.get(text);
    if (id === undefined) continue;
    eog.add(id);
    attrs[id] |= TokenAttr.CONTROL;
  }
  const has = (t: string) => {
    const id = tokenToId.get(t);
    return id !== undefined && eog.has(id);
  };
  // Harmony-style vocabularies end turns with <|return|>/<|call|>; their <|end|> only ends a message.
  if (has("<|end|>") && ((has("<|return|>") && has("<|call|>")) || (has("<|calls|>") && has("<|flush|>")))) {
    const end = tokenToId.get("<|end|>")!;
    eog.delete(end);
    attrs[end] = TokenAttr.USER_DEFINED;
  }
  // Gemma-4-style vocabularies use </s> as ordinary text.
  if (has("<|tool_response>") && has("</s>")) {
    const s = tokenToId.get("</s>")!;
    eog.delete(s);
    attrs[s] = TokenAttr.NORMAL;
  }
  return eog;
}

/** Per-model token attributes that GGUF does not carry, keyed on `general.name` as llama.cpp does. */
function applyNameFixups(name: string, tokenToId: ReadonlyMap<string, number>, attrs: Uint16Array): void {
  const lower = name.toLowerCase();
  if (!lower.includes("phi-3") && !lower.includes("phi3")) return;
  // Phi-3's special tokens swallow the whitespace after them, except <unk>, <s> and <|endoftext|>.
  for (let i = 0; i < attrs.length; i++) {
    if (attrs[i] & (TokenAttr.CONTROL | TokenAttr.USER_DEFINED | TokenAttr.UNKNOWN)) {
      attrs[i] |= TokenAttr.RSTRIP;
    }
  }
  const set = (text: string, on: boolean) => {
    const id = tokenToId.get(text);
    if (id === undefined) return;
    attrs[id] = on ? attrs[id] | TokenAttr.RSTRIP : attrs[id] & ~TokenAttr.RSTRIP;
  };
  set("</s>", true);
  for (const t of ["<unk>", "<s>", "<|endoftext|>"]) set(t, false);
}
