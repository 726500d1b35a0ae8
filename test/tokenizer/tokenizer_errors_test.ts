import assert from "node:assert/strict";
import { GgufValueType } from "../../src/gguf/types.ts";
import { Tokenizer, TokenizerError, type TokenizerErrorKind } from "../../src/tokenizer/mod.ts";
import {
  bool,
  bpeMeta,
  f32s,
  i32s,
  type MetaEntries,
  raw,
  spmMeta,
  str,
  strs,
  toMap,
  u32,
} from "./synthetic_vocab.ts";

function assertTokenizerError(
  what: string,
  entries: MetaEntries,
  kind: TokenizerErrorKind,
  mentions: string,
): void {
  assert.throws(
    () => Tokenizer.fromMetadata(toMap(entries)),
    (e: unknown) => e instanceof TokenizerError && e.kind === kind && e.message.includes(mentions),
    `${what}: expected ${kind} mentioning ${mentions}`,
  );
}

Deno.test("bad tokenizer metadata is a TokenizerError naming the key or value", () => {
  const table: Array<[string, MetaEntries, TokenizerErrorKind, string]> = [
    ["no model key", { "tokenizer.ggml.tokens": strs(["a"]) }, "unsupported-model", "tokenizer.ggml.model"],
    [
      "unsupported model",
      { ...spmMeta([]), "tokenizer.ggml.model": str("bert") },
      "unsupported-model",
      '"bert"',
    ],
    [
      "model of wrong type",
      { ...spmMeta([]), "tokenizer.ggml.model": u32(3) },
      "bad-metadata",
      "tokenizer.ggml.model",
    ],
    [
      "unsupported pre-tokenizer",
      bpeMeta([], { "tokenizer.ggml.pre": str("kimi-k2") }),
      "unsupported-pre-tokenizer",
      '"kimi-k2"',
    ],
    ["no tokens", { "tokenizer.ggml.model": str("llama") }, "bad-metadata", "tokenizer.ggml.tokens"],
    [
      "tokens not strings",
      { ...spmMeta([]), "tokenizer.ggml.tokens": i32s([1, 2]) },
      "bad-metadata",
      "tokenizer.ggml.tokens[0]",
    ],
    [
      "tokens not an array",
      { ...spmMeta([]), "tokenizer.ggml.tokens": str("abc") },
      "bad-metadata",
      "tokenizer.ggml.tokens",
    ],
    ["empty vocabulary", { ...spmMeta([]), "tokenizer.ggml.tokens": strs([]) }, "bad-metadata", "empty"],
    [
      "too few scores",
      { ...spmMeta(["▁a"]), "tokenizer.ggml.scores": f32s([0]) },
      "bad-metadata",
      "tokenizer.ggml.scores",
    ],
    [
      "too few token types",
      { ...spmMeta(["▁a"]), "tokenizer.ggml.token_type": i32s([1]) },
      "bad-metadata",
      "token_type",
    ],
    ["duplicate token", spmMeta(["▁a", "▁a"]), "bad-metadata", "duplicate token"],
    ["BPE without merges", { ...bpeMeta([]), "tokenizer.ggml.merges": undefined! }, "bad-metadata", "merges"],
    [
      "merges not strings",
      bpeMeta([], { "tokenizer.ggml.merges": i32s([1]) }),
      "bad-metadata",
      "tokenizer.ggml.merges",
    ],
    [
      "add_bos without a BOS", // ChatGLM's pre-tokenizer has no default BOS
      bpeMeta([], { "tokenizer.ggml.pre": str("glm4"), "tokenizer.ggml.add_bos_token": bool(true) }),
      "bad-metadata",
      "bos_token_id",
    ],
    [
      "add_bos not a boolean",
      spmMeta([], { "tokenizer.ggml.add_bos_token": str("yes") }),
      "bad-metadata",
      "add_bos_token",
    ],
    [
      "negative id",
      spmMeta([], { "tokenizer.ggml.bos_token_id": raw(GgufValueType.INT32, -5) }),
      "bad-metadata",
      "bos_token_id",
    ],
  ];
  for (const [what, entries, kind, mentions] of table) {
    const present = Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));
    assertTokenizerError(what, present, kind, mentions);
  }
});

Deno.test("special ids outside the vocabulary fall back to the defaults, as llama.cpp does", () => {
  const tok = Tokenizer.fromMetadata(toMap(spmMeta(["▁a"], {
    "tokenizer.ggml.bos_token_id": u32(4294967295),
    "tokenizer.ggml.eos_token_id": u32(2),
  })));
  assert.equal(tok.bosId, 1);
  assert.equal(tok.eosId, 2);
});

Deno.test("decoding an id outside the vocabulary is a TokenizerError", () => {
  const tok = Tokenizer.fromMetadata(toMap(spmMeta(["▁a"])));
  for (const id of [-1, tok.vocabSize, 1.5, NaN]) {
    assert.throws(
      () => tok.decode([id]),
      (e: unknown) => e instanceof TokenizerError && e.kind === "bad-token-id",
    );
    assert.throws(() => tok.tokenBytes(id), TokenizerError);
  }
});

Deno.test("SPM merges by score and falls back to byte tokens for unknown characters", () => {
  // "▁ab" scores higher than "ab"'s alternatives; "é" is not a piece, so it becomes two byte tokens.
  const tok = Tokenizer.fromMetadata(toMap(spmMeta(["▁ab", "ab", "▁a", "b"])));
  const id = (t: string) => tok.tokenId(t)!;
  assert.deepEqual(tok.encode("ab", { addBos: false }), [id("▁ab")]);
  assert.deepEqual(tok.encode("abé", { addBos: false }), [id("▁ab"), id("<0xC3>"), id("<0xA9>")]);
  assert.equal(tok.decode(tok.encode("abé", { addBos: false })), "abé");
});

Deno.test("add_space_prefix false stops SPM from adding (and stripping) the space", () => {
  const tok = Tokenizer.fromMetadata(
    toMap(spmMeta(["▁ab", "ab"], { "tokenizer.ggml.add_space_prefix": bool(false) })),
  );
  assert.deepEqual(tok.encode("ab", { addBos: false }), [tok.tokenId("ab")!]);
  assert.equal(tok.decode(tok.encode(" ab", { addBos: false })), " ab");
});

Deno.test("BPE applies the lowest-ranked merge first", () => {
  // "b c" outranks "a b", so "abc" becomes a + bc, not ab + c.
  const tok = Tokenizer.fromMetadata(toMap(bpeMeta(["b c", "a b", "a bc"])));
  assert.deepEqual(tok.encode("abc").map((i) => tok.tokenText(i)), ["abc"]);
  const tok2 = Tokenizer.fromMetadata(toMap(bpeMeta(["b c", "a b", "ab c"])));
  assert.deepEqual(tok2.encode("abc").map((i) => tok2.tokenText(i)), ["a", "bc"]);
});

Deno.test("a vocabulary without a pre-tokenizer name uses llama.cpp's default", () => {
  const entries = bpeMeta(["a b"]);
  delete (entries as Record<string, unknown>)["tokenizer.ggml.pre"];
  assert.equal(Tokenizer.fromMetadata(toMap(entries)).preTokenizer, "default");
});
