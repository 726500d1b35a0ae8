import assert from "node:assert/strict";
import { loadVocabTokenizer } from "./vocab_fixtures.ts";

Deno.test("control-token texts become single tokens only when parseSpecial is set", async () => {
  const table: Array<[string, string, number]> = [
    ["llama-spm", "</s>", 2],
    ["gpt-2", "<|endoftext|>", 50256],
    ["phi-3", "<|user|>", 32010],
    ["deepseek-coder", "<｜begin▁of▁sentence｜>", 32013],
    ["starcoder", "<fim_prefix>", 1],
  ];
  for (const [name, text, id] of table) {
    const tok = await loadVocabTokenizer(name);
    assert.deepEqual(tok.encode(`x${text}y`, { addBos: false, parseSpecial: true }).filter((t) => t === id), [
      id,
    ], name);
    const plain = tok.encode(`x${text}y`, { addBos: false });
    assert.ok(!plain.includes(id), `${name}: ${text} stays text without parseSpecial`);
    assert.equal(tok.decode(plain), `x${text}y`, `${name}: and round-trips as text`);
  }
});

Deno.test("SPM puts the space prefix back after every special token", async () => {
  const tok = await loadVocabTokenizer("llama-spm");
  const hi = tok.tokenId("▁Hi")!;
  assert.deepEqual(tok.encode("<s>Hi</s>", { addBos: false, parseSpecial: true }), [1, hi, 2]);
  assert.deepEqual(tok.encode("Hi", { addBos: false }), [hi]);
});

Deno.test("phi-3 special tokens swallow the whitespace after them (llama.cpp's RSTRIP for Phi-3)", async () => {
  const tok = await loadVocabTokenizer("phi-3");
  const opts = { addBos: false, parseSpecial: true };
  assert.deepEqual(tok.encode("<|user|>  \n Hello", opts), tok.encode("<|user|>Hello", opts));
  assert.equal(tok.encode("<|user|>Hello", opts)[0], 32010);
});

Deno.test("user-defined tokens are split out even without parseSpecial (gpt-neox space runs)", async () => {
  const tok = await loadVocabTokenizer("gpt-neox");
  const eight = tok.tokenId(" ".repeat(8));
  assert.notEqual(eight, undefined);
  const text = `a${" ".repeat(8)}b`;
  const ids = tok.encode(text, { addBos: false });
  assert.ok(ids.includes(eight!), `ids ${ids}`);
  assert.equal(tok.decode(ids), text);
});

Deno.test("decode hides control tokens unless skipSpecial is false", async () => {
  const tok = await loadVocabTokenizer("phi-3");
  const ids = tok.encode("<|user|>Hi<|end|>", { addBos: false, parseSpecial: true });
  // The leading control token takes the prefix-space strip, so " Hi" keeps its space (as in llama.cpp).
  assert.equal(tok.decode(ids), " Hi");
  assert.equal(tok.decode(ids, { skipSpecial: false }), "<|user|> Hi<|end|>");
  assert.ok(tok.isControl(32007) && !tok.isControl(tok.tokenId("▁Hi")!));
});

Deno.test("end-of-generation tokens are found by id and by text", async () => {
  const phi3 = await loadVocabTokenizer("phi-3");
  assert.ok(phi3.isEndOfGeneration(32000), "<|endoftext|> is EOS");
  assert.ok(phi3.isEndOfGeneration(32007), "<|end|> ends a turn");
  assert.ok(!phi3.isEndOfGeneration(32010), "<|user|> does not");
  const coder = await loadVocabTokenizer("deepseek-coder");
  assert.ok(coder.isEndOfGeneration(coder.eosId));
  assert.ok(!coder.isEndOfGeneration(coder.bosId));
});

Deno.test("tokenBytes gives each token's raw bytes", async () => {
  const spm = await loadVocabTokenizer("llama-spm");
  assert.deepEqual(spm.tokenBytes(spm.tokenId("<0x0A>")!), Uint8Array.of(10));
  assert.deepEqual(spm.tokenBytes(spm.tokenId("▁Hello")!), new TextEncoder().encode(" Hello"));
  assert.deepEqual(spm.tokenBytes(1), new TextEncoder().encode("<s>"));
  const gpt2 = await loadVocabTokenizer("gpt-2");
  assert.deepEqual(gpt2.tokenBytes(gpt2.tokenId("ĠHello")!), new TextEncoder().encode(" Hello"));
  assert.deepEqual(gpt2.tokenBytes(gpt2.tokenId("Ċ")!), Uint8Array.of(10));
});
