import assert from "node:assert/strict";
import fc from "fast-check";
import { GPT2_REGEX, LLAMA3_REGEXES } from "../../src/tokenizer/custom_split.ts";
import { compileSplit, splitWords } from "../../src/tokenizer/regex_split.ts";
import { preTokenizer } from "../../src/tokenizer/pre_tokenizer.ts";
import { TokenizerError } from "../../src/tokenizer/mod.ts";

const R = String.raw;
const split = (text: string, ...regexes: string[]) => splitWords(text, regexes.map(compileSplit));

Deno.test("the GPT-2 walk splits words, numbers, punctuation and whitespace like llama.cpp", () => {
  const table: Array<[string, string[]]> = [
    ["Hello world", ["Hello", " world"]],
    ["  Hello", [" ", " Hello"]],
    ["Hello   ", ["Hello", "   "]],
    ["a\n\nb", ["a", "\n", "\n", "b"]],
    ["it's I'M", ["it", "'s", " I", "'", "M"]],
    ["abc123def", ["abc", "123", "def"]],
    ["x!!?  y", ["x", "!!?", " ", " y"]],
    ["\u3000中文", ["\u3000", "中文"]],
    ["", []],
  ];
  for (const [text, words] of table) assert.deepEqual(split(text, GPT2_REGEX), words, JSON.stringify(text));
});

Deno.test("the Llama-3 walk folds contraction case and groups digits by three", () => {
  const table: Array<[string, string[]]> = [
    ["I'M here", ["I", "'M", " here"]],
    ["1234567", ["123", "456", "7"]],
    ["a\n\n b", ["a", "\n\n", " b"]],
    ["x  \n\ny", ["x", "  \n\n", "y"]],
    [" ?!\n\nok", [" ?!\n\n", "ok"]],
  ];
  for (const [text, words] of table) {
    assert.deepEqual(split(text, LLAMA3_REGEXES[1]), words, JSON.stringify(text));
  }
});

Deno.test("each regex refines the pieces of the previous one", () => {
  assert.deepEqual(split("ab 2024 cd", R`\p{N}`, GPT2_REGEX), ["ab", " ", "2", "0", "2", "4", " cd"]);
  assert.deepEqual(split("x=1000", ...preTokenizer("falcon").regexes), ["x", "=", "100", "0"]);
});

Deno.test("Unicode categories run on the collapsed text, with llama.cpp's ASCII category maps", () => {
  // Arabic-Indic digits are \p{N}; Devanagari vowel signs are \p{M}.
  assert.deepEqual(split("a٣٤b", R`\p{N}`), ["a", "٣", "٤", "b"]);
  assert.deepEqual(split("कि", R`\p{M}+`), ["क", "ि"]);
  // "~" is a symbol in Unicode but in neither of llama.cpp's ASCII maps, so \p{S} skips it.
  assert.deepEqual(split("a~$b", R`\p{S}+`), ["a~", "$", "b"]);
  // Non-ASCII whitespace collapses to a vertical tab, which \s matches.
  assert.deepEqual(split("a\u3000\u3000b", R`\s+`), ["a", "\u3000\u3000", "b"]);
});

Deno.test("regexes without categories run on code points with ASCII-only \\s", () => {
  // U+00A0 stands in as U+000B, which \s matches; a plain space before a non-letter stays a gap.
  assert.deepEqual(split("a \u00a0b", R`\s?[ab]+`), ["a", " ", "\u00a0b"]);
  // U+FEFF is not White_Space: JS's own \s would match it, std::wregex's (and ours) does not.
  assert.deepEqual(split("\ufeffb", R`\s?b`), ["\ufeff", "b"]);
  assert.deepEqual(split("中文abc한국", "[\u4E00-\u9FA5\uAC00-\uD7FF]+"), ["中文", "abc", "한국"]);
  assert.deepEqual(split("𐐀𐐁x", "[\u{10400}-\u{1044F}]+"), ["𐐀𐐁", "x"]);
});

Deno.test("a regex mixing categories and non-ASCII characters is rejected, as llama.cpp rejects it", () => {
  assert.throws(() => compileSplit(R`[\p{L}é]+`), TokenizerError);
});

Deno.test("every supported pre-tokenizer compiles", () => {
  for (
    const name of [
      "default",
      "llama-bpe",
      "qwen2",
      "deepseek-v3",
      "gpt-4o",
      "tekken",
      "poro-chat",
      "jais-2",
      "seed-coder",
    ]
  ) {
    const pre = preTokenizer(name);
    const words = splitWords("Hello, World! It's 2024 — 中文 🦙\n\n  ok", pre.regexes.map(compileSplit));
    assert.equal(words.join(""), "Hello, World! It's 2024 — 中文 🦙\n\n  ok", name);
  }
});

Deno.test("the hand-written GPT-2 and Llama-3 walks agree with the regex engine (seeded)", () => {
  // Wrapping a regex in (?:…) keeps its meaning but bypasses the hand-written walk.
  const pairs = [GPT2_REGEX, LLAMA3_REGEXES[1]].map((re) => [compileSplit(re), compileSplit(`(?:${re})`)]);
  const unit = fc.constantFrom(..."aZé中 \t\n\r'sStTmMdDlLrReEvV01٣!?.,-~$\u00a0\u3000\u0301😀");
  fc.assert(
    fc.property(fc.string({ unit, maxLength: 30 }), (text) => {
      for (const [walk, regex] of pairs) {
        assert.deepEqual(splitWords(text, [walk]), splitWords(text, [regex]));
      }
    }),
    { seed: 99, numRuns: 2000 },
  );
});
