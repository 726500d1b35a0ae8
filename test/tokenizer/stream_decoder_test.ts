import assert from "node:assert/strict";
import fc from "fast-check";
import { TokenizerError } from "../../src/tokenizer/mod.ts";
import { BYTE_LEVEL_VOCABS, loadVocabTokenizer } from "./vocab_fixtures.ts";

/** Pushes ids one by one; returns what each push returned and the flushed tail. */
function streamPieces(tok: Awaited<ReturnType<typeof loadVocabTokenizer>>, ids: readonly number[]) {
  const stream = tok.createStreamDecoder();
  const pieces = ids.map((id) => stream.push(id));
  return { pieces, tail: stream.flush() };
}

Deno.test("a character split over byte-fallback tokens is held until its last byte arrives", async () => {
  const tok = await loadVocabTokenizer("llama-spm");
  const bytes = (s: string) =>
    [...new TextEncoder().encode(s)].map((b) => tok.tokenId(`<0x${b.toString(16).toUpperCase()}>`)!);
  const table: Array<[string, string[]]> = [
    ["é", ["", "é"]],
    ["€", ["", "", "€"]],
    ["😀", ["", "", "", "😀"]],
    ["中文", ["", "", "中", "", "", "文"]],
  ];
  for (const [text, expected] of table) {
    const { pieces, tail } = streamPieces(tok, bytes(text));
    assert.deepEqual(pieces, expected, text);
    assert.equal(tail, "");
  }
});

Deno.test("emoji and CJK stream out whole from byte-level BPE pieces", async () => {
  for (const name of ["gpt-2", "deepseek-llm"]) {
    const tok = await loadVocabTokenizer(name);
    for (const text of ["🦙.cpp 🚀 (normal) 😶‍🌫️", "我想在apple工作1314151天～", "Ёжик 🦙🦙"]) {
      const ids = tok.encode(text, { addBos: false });
      const { pieces, tail } = streamPieces(tok, ids);
      assert.equal(pieces.join("") + tail, text, `${name}: ${text}`);
      for (const p of pieces) {
        assert.ok(p.toWellFormed() === p && !p.includes("\uFFFD"), `${name}: piece ${JSON.stringify(p)}`);
      }
      assert.ok(pieces.some((p) => p === ""), `${name}: some token of ${text} ends mid-character`);
    }
  }
});

Deno.test("an unfinished character is flushed as U+FFFD and the decoder can be reused", async () => {
  const tok = await loadVocabTokenizer("llama-spm");
  const stream = tok.createStreamDecoder();
  assert.equal(stream.push(tok.tokenId("<0xE2>")!), "");
  assert.equal(stream.push(tok.tokenId("<0x82>")!), "");
  assert.equal(stream.flush(), "\uFFFD");
  assert.equal(stream.push(tok.tokenId("▁Hello")!), " Hello");
  assert.equal(stream.flush(), "");
});

Deno.test("a stray continuation byte becomes U+FFFD without swallowing the text after it", async () => {
  const tok = await loadVocabTokenizer("llama-spm");
  const stream = tok.createStreamDecoder();
  assert.equal(stream.push(tok.tokenId("<0x80>")!) + stream.push(tok.tokenId("▁ok")!), "\uFFFD ok");
});

Deno.test("control tokens are silent in the stream unless asked for", async () => {
  const tok = await loadVocabTokenizer("phi-3");
  const end = tok.tokenId("<|end|>")!;
  assert.equal(tok.createStreamDecoder().push(end), "");
  assert.equal(tok.createStreamDecoder({ skipSpecial: false }).push(end), "<|end|>");
  assert.throws(() => tok.createStreamDecoder().push(tok.vocabSize), TokenizerError);
  assert.throws(() => tok.createStreamDecoder().push(-1), TokenizerError);
});

for (const name of BYTE_LEVEL_VOCABS) {
  Deno.test(`${name}: seeded random texts round-trip through encode, decode and the stream decoder`, async () => {
    const tok = await loadVocabTokenizer(name);
    const alphabet = fc.constantFrom(..."aZ 09\n\t'!?.,-ä€中😀🦙 ́\u00a0\u3000");
    const text = fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 40 }),
      fc.string({ unit: alphabet, maxLength: 40 }),
    );
    fc.assert(
      fc.property(text, (s) => {
        const ids = tok.encode(s, { addBos: false });
        assert.equal(tok.decode(ids), s);
        const { pieces, tail } = streamPieces(tok, ids);
        assert.equal(pieces.join("") + tail, s);
      }),
      { seed: 20240601, numRuns: 150 },
    );
  });
}

Deno.test("llama-spm: seeded random texts without ▁ round-trip (▁ is the escaped space)", async () => {
  const tok = await loadVocabTokenizer("llama-spm");
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (raw) => {
      const s = raw.replaceAll("\u2581", "_");
      assert.equal(tok.decode(tok.encode(s, { addBos: false })), s);
      assert.equal(
        tok.decode(tok.encode(s)),
        s === "" ? "" : " " + s,
        "after BOS the prefix space stays (llama.cpp)",
      );
    }),
    { seed: 7, numRuns: 150 },
  );
});
