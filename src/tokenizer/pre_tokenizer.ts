/**
 * Pre-tokenizers of byte-level BPE vocabularies, chosen by `tokenizer.ggml.pre`.
 *
 * Each entry lists the regexes (in llama.cpp's dialect, applied in order by regex_split.ts) and the
 * vocabulary flags llama.cpp sets for that name: whether decoding cleans up spaces before punctuation,
 * whether a word already in the vocabulary skips the merges, and whether BOS is added by default.
 */
import { GPT2_REGEX, LLAMA3_REGEXES } from "./custom_split.ts";
import { TokenizerError } from "./tokenizer_error.ts";

/** What one pre-tokenizer name means. */
export interface PreTokenizer {
  /** the canonical name (llama.cpp's pre-type) */
  readonly type: string;
  /** split regexes, applied in order */
  readonly regexes: readonly string[];
  /** clean_up_tokenization_spaces: drop the space in " ," " ." " 's" … when decoding */
  readonly cleanSpaces: boolean;
  /** a whole word found in the vocabulary is one token, without running the merges */
  readonly ignoreMerges: boolean;
  /** BOS added by default (before `tokenizer.ggml.add_bos_token` overrides it) */
  readonly addBos: boolean;
  /** whether a BOS id from defaults is ignored (ChatGLM has none) */
  readonly noBos?: boolean;
}

const R = String.raw;
const LLAMA3 = LLAMA3_REGEXES[1];
const CONTRACTIONS = R`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`;
const QWEN2 = CONTRACTIONS +
  R`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const QWEN35 = CONTRACTIONS +
  R`|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const JAIS2 = CONTRACTIONS +
  R`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+` +
  R`|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)` +
  R`|\s{1,2}(?!\S)|\s{1}`;
const BAILINGMOE = R`'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}` +
  R`| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`;
const SEED_CODER = CONTRACTIONS +
  R`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+`;
const GPT4O = R`[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+` + `${CONTRACTIONS}?` +
  R`|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*` + `${CONTRACTIONS}?` +
  R`|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const TEKKEN = R`[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+` +
  R`|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*` +
  R`|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
// Han, Hangul and the block before Han (U+0800–U+4E00) as DeepSeek's tokenizer.json spells them.
const CJK = "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+";
// DeepSeek-LLM's explicit list of cased letters (it deliberately leaves out e.g. U+2129).
const DEEPSEEK_LETTERS = "[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293" +
  "\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1" +
  "\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD" +
  "\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D" +
  "\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC" +
  "\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC" +
  "\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139" +
  "\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3" +
  "\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06" +
  "\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\u{10400}-\u{1044F}\u{104B0}-\u{104D3}\u{104D8}-\u{104FB}" +
  "\u{10C80}-\u{10CB2}\u{10CC0}-\u{10CF2}\u{118A0}-\u{118DF}\u{1E900}-\u{1E943}]+";
const DEEPSEEK_PUNCT = "[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+";
const DEEPSEEK3_WORDS = R`[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_` + "`" +
  R`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const PORO = " ?[^(\\s|.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C)]+";

const REGEXES = {
  default: [R`[\p{P}\$\+<=>\^~\|]+`, GPT2_REGEX, R`\p{N}+`, "[0-9][0-9][0-9]"],
  llama3: [LLAMA3],
  deepseekLlm: ["[\r\n]", R`\s?` + DEEPSEEK_LETTERS, R`\s?` + DEEPSEEK_PUNCT, R`\s+$`, CJK, R`\p{N}+`],
  deepseekCoder: ["[\r\n]", R`\s?\p{L}+`, R`\s?\p{P}+`, CJK, R`\p{N}`],
  deepseek3: [R`\p{N}{1,3}`, "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+", DEEPSEEK3_WORDS],
  falcon: [R`[\p{P}\$\+<=>\^~\|` + "`" + R`]+`, GPT2_REGEX, "[0-9][0-9][0-9]"],
  starcoder: [R`\p{N}`, GPT2_REGEX],
  gpt2: [GPT2_REGEX],
  qwen2: [QWEN2],
  qwen35: [QWEN35],
  jais2: [JAIS2],
  poro: [PORO],
  gpt4o: [GPT4O],
  tekken: [TEKKEN],
  bailingmoe: [BAILINGMOE],
  seedCoder: [SEED_CODER],
} as const;

interface Entry {
  readonly names: readonly string[];
  readonly regexes: readonly string[];
  readonly cleanSpaces?: boolean;
  readonly ignoreMerges?: boolean;
  readonly addBos?: boolean;
  readonly noBos?: boolean;
}

// Flags default to llama.cpp's BPE defaults: clean spaces on, merges always run, no BOS.
const ENTRIES: readonly Entry[] = [
  { names: ["default"], regexes: REGEXES.default },
  {
    names: [
      "llama3",
      "llama-v3",
      "llama-bpe",
      "falcon3",
      "falcon-h1",
      "pixtral",
      "midm-2.0",
      "lfm2",
      "jina-v5-nano",
    ],
    regexes: REGEXES.llama3,
    ignoreMerges: true,
    addBos: true,
  },
  { names: ["dbrx", "smaug-bpe"], regexes: REGEXES.llama3 },
  { names: ["glm4", "chatglm-bpe"], regexes: REGEXES.llama3, noBos: true },
  { names: ["deepseek-llm"], regexes: REGEXES.deepseekLlm, cleanSpaces: false },
  { names: ["deepseek-coder"], regexes: REGEXES.deepseekCoder, cleanSpaces: false },
  {
    names: ["deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4"],
    regexes: REGEXES.deepseek3,
    cleanSpaces: false,
  },
  { names: ["falcon"], regexes: REGEXES.falcon },
  {
    names: [
      "gpt-2",
      "phi-2",
      "jina-es",
      "jina-de",
      "gigachat",
      "jina-v2-es",
      "jina-v2-de",
      "a.x-4.0",
      "mellum",
      "modern-bert",
      "jina-v1-en",
      "jina-v2-code",
      "roberta-bpe",
      "mpt",
      "olmo",
      "jais",
      "exaone4",
    ],
    regexes: REGEXES.gpt2,
  },
  { names: ["trillion", "granite-docling"], regexes: REGEXES.gpt2, cleanSpaces: false },
  {
    names: ["starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2"],
    regexes: REGEXES.starcoder,
  },
  { names: ["command-r", "smollm"], regexes: REGEXES.starcoder, cleanSpaces: false },
  {
    names: ["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "grok-2", "solar-open"],
    regexes: REGEXES.qwen2,
    cleanSpaces: false,
  },
  { names: ["stablelm2", "megrez"], regexes: REGEXES.qwen2 },
  { names: ["qwen35"], regexes: REGEXES.qwen35, cleanSpaces: false },
  { names: ["jais-2"], regexes: REGEXES.jais2 },
  { names: ["poro-chat"], regexes: REGEXES.poro, cleanSpaces: false },
  { names: ["bloom", "gpt3-finnish"], regexes: REGEXES.poro },
  {
    names: ["gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"],
    regexes: REGEXES.gpt4o,
    cleanSpaces: false,
  },
  { names: ["tekken"], regexes: REGEXES.tekken, cleanSpaces: false, ignoreMerges: true, addBos: true },
  { names: ["bailingmoe", "bailingmoe2", "llada-moe"], regexes: REGEXES.bailingmoe, cleanSpaces: false },
  { names: ["seed-coder"], regexes: REGEXES.seedCoder, cleanSpaces: false },
];

const BY_NAME: ReadonlyMap<string, PreTokenizer> = new Map(
  ENTRIES.flatMap((e) =>
    e.names.map((name) =>
      [name, {
        type: e.names[0],
        regexes: e.regexes,
        cleanSpaces: e.cleanSpaces ?? true,
        ignoreMerges: e.ignoreMerges ?? false,
        addBos: e.addBos ?? false,
        noBos: e.noBos,
      }] as const
    )
  ),
);

/** Every `tokenizer.ggml.pre` value this implementation understands. */
export const SUPPORTED_PRE_TOKENIZERS: readonly string[] = [...BY_NAME.keys()];

/**
 * The pre-tokenizer named by `tokenizer.ggml.pre`; a missing or empty name means "default", as in
 * llama.cpp (which warns that quality may suffer).
 *
 * @example
 * ```ts
 * preTokenizer("qwen2").cleanSpaces; // false
 * ```
 */
export function preTokenizer(name: string | undefined): PreTokenizer {
  const found = BY_NAME.get(name === undefined || name === "" ? "default" : name);
  if (!found) {
    throw new TokenizerError(
      "unsupported-pre-tokenizer",
      `unsupported pre-tokenizer tokenizer.ggml.pre = "${name}" (supported: ${
        SUPPORTED_PRE_TOKENIZERS.join(", ")
      })`,
    );
  }
  return found;
}
