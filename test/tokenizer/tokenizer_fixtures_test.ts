import assert from "node:assert/strict";
import { Tokenizer } from "../../src/tokenizer/mod.ts";
import {
  loadVocabTokenizer,
  PAIRED_VOCABS,
  readExpected,
  readInputs,
  readMetadata,
  STORIES_MODEL,
  STORIES_REFERENCE,
  UNPAIRED_VOCABS,
} from "./vocab_fixtures.ts";

for (const name of PAIRED_VOCABS) {
  Deno.test(`${name}: every llama.cpp fixture text encodes to exactly the expected ids`, async () => {
    const tok = await loadVocabTokenizer(name);
    const inputs = readInputs(name);
    const expected = readExpected(name);
    assert.ok(inputs.length >= 40, `fixture has ${inputs.length} texts`);
    for (let i = 0; i < inputs.length; i++) {
      assert.deepEqual(
        tok.encode(inputs[i], { addBos: false }),
        expected[i],
        `text #${i} ${JSON.stringify(inputs[i])}`,
      );
    }
  });
}

for (const name of [...PAIRED_VOCABS, ...UNPAIRED_VOCABS]) {
  Deno.test(`${name}: decode(encode(text)) gives the fixture texts back`, async () => {
    const tok = await loadVocabTokenizer(name);
    for (const text of readInputs()) {
      const ids = tok.encode(text, { addBos: false });
      assert.deepEqual(tok.decode(ids), text, JSON.stringify(text));
    }
  });
}

Deno.test("stories260K: 'Once upon a time' with BOS gives the reference prompt ids", async () => {
  const tok = Tokenizer.fromMetadata(await readMetadata(STORIES_MODEL));
  const ref = JSON.parse(await Deno.readTextFile(STORIES_REFERENCE));
  assert.deepEqual(tok.addBos, true, "llama vocabularies add BOS when the metadata does not say");
  assert.deepEqual(tok.encode(ref.prompt), [1, 403, 407, 261, 378]);
  assert.deepEqual(tok.encode(ref.prompt), ref.prompt_ids);
});

Deno.test("stories260K: streaming the reference continuation reproduces its text", async () => {
  const tok = Tokenizer.fromMetadata(await readMetadata(STORIES_MODEL));
  const ref = JSON.parse(await Deno.readTextFile(STORIES_REFERENCE));
  const stream = tok.createStreamDecoder();
  let text = "";
  for (const id of ref.generated_ids) text += stream.push(id);
  text += stream.flush();
  assert.deepEqual(text, ref.generated_text);
});

Deno.test("special ids and flags come from the metadata", async () => {
  const table: Array<
    [string, { bos: number; eos: number; addBos: boolean; eot?: number; model: string; pre?: string }]
  > = [
    ["llama-spm", { bos: 1, eos: 2, addBos: true, model: "llama" }],
    ["phi-3", { bos: 1, eos: 32000, addBos: true, eot: 32007, model: "llama" }],
    ["gpt-2", { bos: 50256, eos: 50256, addBos: false, eot: 50256, model: "gpt2", pre: "gpt-2" }],
    ["deepseek-llm", {
      bos: 100000,
      eos: 100001,
      addBos: true,
      eot: 100001,
      model: "gpt2",
      pre: "deepseek-llm",
    }],
    ["falcon", { bos: 11, eos: 11, addBos: false, eot: 11, model: "gpt2", pre: "falcon" }],
    ["gpt-neox", { bos: 0, eos: 0, addBos: false, eot: 0, model: "gpt2", pre: "default" }],
  ];
  for (const [name, want] of table) {
    const tok = await loadVocabTokenizer(name);
    assert.deepEqual(
      {
        bos: tok.bosId,
        eos: tok.eosId,
        addBos: tok.addBos,
        eot: tok.eotId,
        model: tok.model,
        pre: tok.preTokenizer,
      },
      { eot: undefined, pre: undefined, ...want },
      name,
    );
    assert.ok(tok.isEndOfGeneration(tok.eosId), `${name}: EOS ends generation`);
    assert.ok(!tok.isEndOfGeneration(tok.encode("a", { addBos: false })[0]), `${name}: "a" does not`);
  }
});

Deno.test("encode adds BOS/EOS only as asked", async () => {
  const tok = await loadVocabTokenizer("llama-spm");
  const plain = tok.encode("Hello", { addBos: false });
  assert.deepEqual(tok.encode("Hello"), [tok.bosId, ...plain]);
  assert.deepEqual(tok.encode("Hello", { addBos: true, addEos: true }), [tok.bosId, ...plain, tok.eosId]);
  assert.deepEqual(tok.encode(""), [tok.bosId]);
  assert.deepEqual(tok.encode("", { addBos: false }), []);
});

Deno.test("SPM decode drops the prefix space of the first token only, as llama.cpp does", async () => {
  const tok = await loadVocabTokenizer("llama-spm");
  const ids = tok.encode("Hello world", { addBos: false });
  assert.deepEqual(tok.decode(ids), "Hello world");
  // A leading BOS uses up the strip, so the space after it stays (llama_detokenize behaves the same).
  assert.deepEqual(tok.decode([tok.bosId, ...ids]), " Hello world");
  assert.deepEqual(tok.decode([tok.bosId, ...ids], { skipSpecial: false }), "<s> Hello world");
  assert.deepEqual(tok.decode(tok.encode("  two spaces", { addBos: false })), "  two spaces");
});

Deno.test("decode can apply llama.cpp's clean-up of spaces for vocabularies that enable it", async () => {
  const gpt2 = await loadVocabTokenizer("gpt-2");
  const ids = gpt2.encode("Hello , world . It 's ' quoted ' fine", { addBos: false });
  assert.deepEqual(gpt2.decode(ids), "Hello , world . It 's ' quoted ' fine");
  assert.deepEqual(gpt2.decode(ids, { cleanSpaces: true }), "Hello, world. It's'quoted'fine");
  const deepseek = await loadVocabTokenizer("deepseek-llm"); // clean_spaces off for this pre-tokenizer
  const ids2 = deepseek.encode("Hello , world", { addBos: false });
  assert.deepEqual(deepseek.decode(ids2, { cleanSpaces: true }), "Hello , world");
});
