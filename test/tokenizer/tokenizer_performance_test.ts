/**
 * Guards against accidental quadratic behaviour. The budgets are several times the measured times
 * (construction of 150k tokens ≈ 0.1 s, 100 KB encodes ≈ 0.1 s on one core), so a loaded CI machine
 * passes while an O(n²) regression fails.
 */
import assert from "node:assert/strict";
import { Tokenizer } from "../../src/tokenizer/mod.ts";
import { largeBpeMeta, toMap } from "./synthetic_vocab.ts";
import { loadVocabTokenizer } from "./vocab_fixtures.ts";

/** Budget for building a 150k-token tokenizer, in ms. */
const CONSTRUCT_BUDGET_MS = 1000;
/** Budget for encoding 100 KB of text, in ms. */
const ENCODE_BUDGET_MS = 1000;

/** ~`bytes` of varied text (seeded): words, numbers, punctuation, accents, CJK, emoji, long runs. */
function variedText(bytes: number, seed: number): string {
  let state = seed;
  const next = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % n;
  };
  const syllables = [
    "ka",
    "lo",
    "mi",
    "tre",
    "sun",
    "é",
    "ü",
    "中",
    "文",
    "😀",
    "ing",
    "ed",
    "'s",
    "42",
    "–",
  ];
  const seps = [" ", " ", " ", ", ", ". ", "\n", "  ", "\t", "!\n\n"];
  let out = "";
  while (out.length < bytes) {
    const len = 1 + next(4);
    for (let i = 0; i < len; i++) out += syllables[next(syllables.length)];
    out += seps[next(seps.length)];
    if (next(500) === 0) out += "=".repeat(2000); // one long "word"
  }
  return out;
}

function timed<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const result = f();
  return [result, performance.now() - t0];
}

Deno.test("a 150k-token byte-level vocabulary builds well under a second and encodes 100 KB fast", () => {
  const meta = toMap(largeBpeMeta(150_000));
  const [tok, buildMs] = timed(() => Tokenizer.fromMetadata(meta));
  assert.equal(tok.vocabSize, 150_000);
  assert.ok(buildMs < CONSTRUCT_BUDGET_MS, `construction took ${buildMs.toFixed(0)} ms`);
  const text = variedText(100_000, 3);
  const [ids, encodeMs] = timed(() => tok.encode(text));
  assert.ok(encodeMs < ENCODE_BUDGET_MS, `encoding took ${encodeMs.toFixed(0)} ms`);
  assert.equal(tok.decode(ids), text);
});

for (const name of ["llama-spm", "gpt-2", "deepseek-llm"]) {
  Deno.test(`${name}: encoding 100 KB of varied text stays well under a second`, async () => {
    const tok = await loadVocabTokenizer(name);
    const text = variedText(100_000, 11);
    const [ids, ms] = timed(() => tok.encode(text, { addBos: false }));
    assert.ok(ms < ENCODE_BUDGET_MS, `encoding took ${ms.toFixed(0)} ms`);
    assert.equal(tok.decode(ids), text);
  });
}
