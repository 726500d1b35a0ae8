/**
 * Test helper: the shared vocabulary files and their llama.cpp test pairs.
 *
 * `../shared/tokenizers/NAME.gguf.inp` holds texts separated by lines reading `__ggml_vocab_test__`;
 * `NAME.gguf.out` holds one line of expected ids per text (no BOS, no special-token parsing).
 */
import { openGguf } from "../../src/gguf/mod.ts";
import type { GgufKv } from "../../src/gguf/types.ts";
import { Tokenizer } from "../../src/tokenizer/mod.ts";

/** Relative to the project root, where tests run. */
export const TOKENIZER_DIR = "../shared/tokenizers";
export const STORIES_MODEL = "../shared/models/stories260K.gguf";
export const STORIES_REFERENCE = "../shared/reference/stories260K.json";

/** Vocabularies with an .inp/.out pair. */
export const PAIRED_VOCABS = ["llama-spm", "phi-3", "gpt-2", "starcoder", "deepseek-llm"] as const;
/** Vocabularies without a pair: they must load and round-trip. */
export const UNPAIRED_VOCABS = ["deepseek-coder", "falcon", "mpt", "gpt-neox", "refact"] as const;
/** Byte-level BPE vocabularies (lossless for any well-formed text). */
export const BYTE_LEVEL_VOCABS = [
  "gpt-2",
  "starcoder",
  "deepseek-llm",
  "deepseek-coder",
  "falcon",
  "mpt",
  "gpt-neox",
  "refact",
] as const;

const SEPARATOR = "\n__ggml_vocab_test__\n";

export function vocabPath(name: string): string {
  return `${TOKENIZER_DIR}/ggml-vocab-${name}.gguf`;
}

const metadataCache = new Map<string, Promise<ReadonlyMap<string, GgufKv>>>();

/** The metadata map of a GGUF file, read once per test process. */
export function readMetadata(path: string): Promise<ReadonlyMap<string, GgufKv>> {
  let cached = metadataCache.get(path);
  if (!cached) {
    cached = (async () => {
      const file = await openGguf(path);
      try {
        return file.header.metadata;
      } finally {
        file.close();
      }
    })();
    metadataCache.set(path, cached);
  }
  return cached;
}

/** A tokenizer for one of the shared vocabularies. */
export async function loadVocabTokenizer(name: string): Promise<Tokenizer> {
  return Tokenizer.fromMetadata(await readMetadata(vocabPath(name)));
}

/** The input texts of the fixture pair (every vocabulary shares the same texts). */
export function readInputs(name = "gpt-2"): string[] {
  const texts = Deno.readTextFileSync(`${vocabPath(name)}.inp`).split(SEPARATOR);
  // The file ends with a separator, which leaves one empty string after it.
  if (texts.at(-1) === "") texts.pop();
  return texts;
}

/** The expected ids, one array per input text. */
export function readExpected(name: string): number[][] {
  const lines = Deno.readTextFileSync(`${vocabPath(name)}.out`).split("\n");
  return lines.map((line) => line.trim().split(/\s+/).filter((x) => x !== "").map(Number));
}
