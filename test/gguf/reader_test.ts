import assert from "node:assert/strict";
import { GgufError, type GgufErrorKind } from "../../src/gguf/errors.ts";
import { openFileSource } from "../../src/gguf/file_source.ts";
import { memorySource } from "../../src/gguf/memory_source.ts";
import { MAX_STRING_BYTES, parseGgufHeader, parseGgufHeaderBytes } from "../../src/gguf/reader.ts";
import { GgufValueType } from "../../src/gguf/types.ts";
import { encodeGguf } from "../../src/gguf/writer.ts";
import { GgmlType } from "../../src/quant/ggml_type.ts";
import { RawGguf, richSpec } from "./fixtures.ts";

const STORIES = "../shared/models/stories260K.gguf";
const TOKENIZERS = "../shared/tokenizers";

Deno.test("stories260K parses with its known hyper-parameters and tensor table", async () => {
  const source = await openFileSource(STORIES);
  try {
    const h = await parseGgufHeader(source);
    assert.equal(h.version, 3);
    assert.equal(h.tensors.length, 48);
    assert.equal(h.metadata.size, 19);
    assert.equal(h.alignment, 32);
    assert.equal(h.dataOffset % 32, 0);
    assert.deepEqual(h.metadata.get("general.architecture"), { type: GgufValueType.STRING, value: "llama" });
    assert.equal(h.metadata.get("llama.embedding_length")?.value, 64);
    assert.equal(h.metadata.get("llama.block_count")?.value, 5);
    assert.equal(h.metadata.get("llama.attention.head_count_kv")?.value, 4);
    assert.equal(h.metadata.get("llama.attention.layer_norm_rms_epsilon")?.value, Math.fround(1e-5));
    assert.equal(h.metadata.get("tokenizer.ggml.padding_token_id")?.value, 4294967295);
    const tokens = h.metadata.get("tokenizer.ggml.tokens")!;
    assert.equal(tokens.arrayType, GgufValueType.STRING);
    assert.equal((tokens.value as string[]).length, 512);
    assert.deepEqual((tokens.value as string[]).slice(0, 3), ["<unk>", "<s>", "</s>"]);
    const embd = h.tensors.find((t) => t.name === "token_embd.weight")!;
    assert.deepEqual(embd.dims, [64, 512]);
    assert.equal(embd.type, GgmlType.F32);
    assert.equal(embd.byteSize, 64 * 512 * 4);
    assert.deepEqual(h.tensors.find((t) => t.name === "blk.4.ffn_down.weight")?.dims, [172, 64]);
    assert.deepEqual(h.tensors.find((t) => t.name === "blk.0.attn_k.weight")?.dims, [64, 32]);
    const last = h.tensors.reduce((a, t) => (t.offset > a.offset ? t : a));
    assert.equal(h.dataOffset + last.offset + last.byteSize, source.size, "the data section ends the file");
  } finally {
    source.close();
  }
});

Deno.test("every tokenizer fixture parses, with as many token types as tokens", async () => {
  for await (const entry of Deno.readDir(TOKENIZERS)) {
    if (!entry.name.endsWith(".gguf")) continue;
    const source = await openFileSource(`${TOKENIZERS}/${entry.name}`);
    try {
      const h = await parseGgufHeader(source);
      assert.equal(h.tensors.length, 0, entry.name);
      const tokens = h.metadata.get("tokenizer.ggml.tokens")!.value as string[];
      const types = h.metadata.get("tokenizer.ggml.token_type")!.value as number[];
      assert.ok(tokens.length > 1000, entry.name);
      assert.equal(types.length, tokens.length, entry.name);
    } finally {
      source.close();
    }
  }
});

Deno.test("a vocabulary token that is only a byte-order mark keeps it", async () => {
  const source = await openFileSource(`${TOKENIZERS}/ggml-vocab-llama-spm.gguf`);
  try {
    const tokens = (await parseGgufHeader(source)).metadata.get("tokenizer.ggml.tokens")!.value as string[];
    assert.equal(tokens[30143], "\uFEFF");
  } finally {
    source.close();
  }
});

Deno.test("a GGUF v2 file parses like v3", () => {
  const v2 = parseGgufHeaderBytes(encodeGguf({ ...richSpec(), version: 2 }));
  const v3 = parseGgufHeaderBytes(encodeGguf(richSpec()));
  assert.equal(v2.version, 2);
  assert.deepEqual(v2.metadata, v3.metadata);
  assert.deepEqual(v2.tensors, v3.tensors);
});

Deno.test("the header is read in small growing chunks, never the tensor data", async () => {
  const whole = await Deno.readFile(STORIES);
  const source = memorySource(whole);
  const small = await parseGgufHeader(source, { initialReadBytes: 64 });
  assert.ok(
    source.bytesRead < 4 * small.dataOffset,
    `read ${source.bytesRead} bytes for a ${small.dataOffset} byte header`,
  );
  assert.ok(source.bytesRead < whole.length / 10);
  assert.deepEqual(small, parseGgufHeaderBytes(whole));
});

Deno.test("a prefix that stops inside the header is reported as truncated", () => {
  const bytes = encodeGguf(richSpec());
  assert.throws(
    () => parseGgufHeaderBytes(bytes.subarray(0, 100), bytes.length),
    (e) => e instanceof GgufError && e.kind === "truncated",
  );
});

/** A one-tensor file: `dims`, `type` and `offset` go straight into the table; `data` bytes follow. */
function oneTensorFile(
  dims: ReadonlyArray<number | bigint>,
  type: number,
  offset: number | bigint,
  data = 64,
): Uint8Array {
  return new RawGguf().header(1, 0).tensor("w", dims, type, offset).pad().zeros(data).bytes();
}

/** A file with one metadata entry whose type and value bytes are written by `value`. */
function oneKvFile(key: string, type: number, value: (r: RawGguf) => void): Uint8Array {
  const r = new RawGguf().header(0, 1).str(key).u32(type);
  value(r);
  return r.bytes();
}

function nestedArrays(depth: number): Uint8Array {
  const r = new RawGguf().header(0, 1).str("deep").u32(GgufValueType.ARRAY);
  for (let i = 0; i < depth; i++) r.u32(GgufValueType.ARRAY).u64(1);
  return r.u32(GgufValueType.UINT8).u64(0).bytes();
}

const valid = encodeGguf(richSpec());

const CRAFTED: Array<{ what: string; kind: GgufErrorKind; bytes: Uint8Array; needle?: string }> = [
  {
    what: "wrong magic",
    kind: "bad_magic",
    bytes: new RawGguf().raw([0x47, 0x47, 0x55, 0x47]).u32(3).u64(0).u64(0).bytes(),
  },
  {
    what: "version 1",
    kind: "unsupported_version",
    bytes: new RawGguf().header(0, 0, 1).bytes(),
    needle: "1",
  },
  {
    what: "version 4",
    kind: "unsupported_version",
    bytes: new RawGguf().header(0, 0, 4).bytes(),
    needle: "4",
  },
  { what: "big-endian version 3", kind: "big_endian", bytes: new RawGguf().header(0, 0, 0x03000000).bytes() },
  { what: "big-endian version 2", kind: "big_endian", bytes: new RawGguf().header(0, 0, 0x02000000).bytes() },
  { what: "empty file", kind: "truncated", bytes: new Uint8Array(0) },
  { what: "three bytes", kind: "truncated", bytes: new Uint8Array([0x47, 0x47, 0x55]) },
  { what: "cut in the metadata", kind: "truncated", bytes: valid.subarray(0, 700) },
  {
    what: "cut in the tensor table",
    kind: "truncated",
    bytes: valid.subarray(0, parseGgufHeaderBytes(valid).dataOffset - 40),
  },
  { what: "tensor count 2^40", kind: "absurd_count", bytes: new RawGguf().header(2n ** 40n, 0).bytes() },
  {
    what: "tensor count above the bytes left",
    kind: "absurd_count",
    bytes: new RawGguf().header(1000, 0).zeros(64).bytes(),
  },
  { what: "metadata count 2^63", kind: "absurd_count", bytes: new RawGguf().header(0, 2n ** 63n).bytes() },
  {
    what: "array longer than the file",
    kind: "absurd_count",
    bytes: oneKvFile("a", GgufValueType.ARRAY, (r) => r.u32(GgufValueType.UINT32).u64(1000).zeros(16)),
  },
  {
    what: "array of strings longer than the file allows",
    kind: "absurd_count",
    bytes: oneKvFile("a", GgufValueType.ARRAY, (r) => r.u32(GgufValueType.STRING).u64(2n ** 60n)),
  },
  {
    what: "key length 2^62",
    kind: "absurd_string",
    bytes: new RawGguf().header(0, 1).u64(2n ** 62n).zeros(32).bytes(),
  },
  {
    what: "string value past the string limit",
    kind: "absurd_string",
    bytes: oneKvFile("s", GgufValueType.STRING, (r) => r.u64(MAX_STRING_BYTES + 1).zeros(8)),
  },
  {
    what: "string value longer than the file",
    kind: "truncated",
    bytes: oneKvFile("s", GgufValueType.STRING, (r) => r.u64(1000).zeros(8)),
  },
  {
    what: "tensor name of 65 bytes",
    kind: "absurd_string",
    bytes: new RawGguf().header(1, 0).tensor("n".repeat(65), [32], 0, 0).pad().zeros(128).bytes(),
  },
  {
    what: "value type 13",
    kind: "bad_value_type",
    bytes: oneKvFile("k", 13, (r) => r.zeros(8)),
    needle: "13",
  },
  {
    what: "array element type 99",
    kind: "bad_value_type",
    bytes: oneKvFile("k", GgufValueType.ARRAY, (r) => r.u32(99).u64(1).zeros(8)),
    needle: "99",
  },
  { what: "bool byte 2", kind: "bad_value", bytes: oneKvFile("b", GgufValueType.BOOL, (r) => r.u8(2)) },
  { what: "arrays nested 10 deep", kind: "bad_value", bytes: nestedArrays(9) },
  { what: "zero dimensions", kind: "bad_tensor", bytes: oneTensorFile([], 0, 0) },
  { what: "five dimensions", kind: "bad_tensor", bytes: oneTensorFile([1, 1, 1, 1, 1], 0, 0) },
  { what: "a zero dimension", kind: "bad_tensor", bytes: oneTensorFile([4, 0], 0, 0) },
  {
    what: "element count past 2^53",
    kind: "bad_tensor",
    bytes: oneTensorFile([2n ** 30n, 2n ** 30n, 2n ** 30n], 0, 0),
  },
  {
    what: "Q4_0 rows of 48 values",
    kind: "bad_tensor",
    bytes: oneTensorFile([48, 1], GgmlType.Q4_0, 0),
    needle: "w",
  },
  { what: "misaligned data offset", kind: "bad_tensor", bytes: oneTensorFile([4], 0, 8) },
  {
    what: "empty tensor name",
    kind: "bad_tensor",
    bytes: new RawGguf().header(1, 0).tensor("", [4], 0, 0).pad().zeros(32).bytes(),
  },
  {
    what: "two tensors with one name",
    kind: "duplicate_tensor",
    bytes: new RawGguf().header(2, 0).tensor("w", [4], 0, 0).tensor("w", [4], 0, 32).pad().zeros(64).bytes(),
    needle: "w",
  },
  { what: "data offset past the end", kind: "tensor_out_of_bounds", bytes: oneTensorFile([4], 0, 2n ** 40n) },
  { what: "data running past the end", kind: "tensor_out_of_bounds", bytes: oneTensorFile([64], 0, 0, 100) },
  {
    what: "tensor type Q2_K",
    kind: "unknown_tensor_type",
    bytes: oneTensorFile([256], GgmlType.Q2_K, 0),
    needle: '"w"',
  },
  { what: "tensor type 99", kind: "unknown_tensor_type", bytes: oneTensorFile([32], 99, 0), needle: '"w"' },
  {
    what: "alignment 0",
    kind: "bad_alignment",
    bytes: new RawGguf().header(0, 1).kvU32("general.alignment", 0).bytes(),
  },
  {
    what: "alignment 3",
    kind: "bad_alignment",
    bytes: new RawGguf().header(0, 1).kvU32("general.alignment", 3).bytes(),
  },
  {
    what: "alignment 2^21",
    kind: "bad_alignment",
    bytes: new RawGguf().header(0, 1).kvU32("general.alignment", 2 ** 21).bytes(),
  },
  {
    what: "alignment stored as u64",
    kind: "bad_alignment",
    bytes: oneKvFile("general.alignment", GgufValueType.UINT64, (r) => r.u64(32)),
  },
  {
    what: "a key given twice",
    kind: "duplicate_key",
    bytes: new RawGguf().header(0, 2).kvU32("k", 1).kvU32("k", 2).bytes(),
    needle: '"k"',
  },
];

for (const c of CRAFTED) {
  Deno.test(`a file with ${c.what} is rejected as ${c.kind}`, async () => {
    await assert.rejects(parseGgufHeader(memorySource(c.bytes, "crafted.gguf")), (e) => {
      assert.ok(e instanceof GgufError, `not a GgufError: ${e}`);
      assert.equal(e.kind, c.kind, e.message);
      assert.ok(e.message.includes("crafted.gguf"), `message names the file: ${e.message}`);
      if (c.needle) assert.ok(e.message.includes(c.needle), `message names ${c.needle}: ${e.message}`);
      return true;
    });
  });
}

Deno.test("a header past the header limit is rejected as header_too_large", async () => {
  const bytes = oneKvFile("s", GgufValueType.STRING, (r) => r.str("x".repeat(5000)));
  await assert.rejects(
    parseGgufHeader(memorySource(bytes), { maxHeaderBytes: 4096 }),
    (e) => e instanceof GgufError && e.kind === "header_too_large",
  );
  assert.equal((await parseGgufHeader(memorySource(bytes))).metadata.get("s")?.value, "x".repeat(5000));
});

Deno.test("arrays nested 8 deep are accepted with their inner types; 9 deep are not", () => {
  // nestedArrays(n): the metadata array plus n nested levels
  const h = parseGgufHeaderBytes(nestedArrays(7));
  const kv = h.metadata.get("deep")!;
  assert.equal(kv.arrayType, GgufValueType.ARRAY);
  let inner = kv.inner![0];
  for (let i = 1; i < 7; i++) inner = inner.inner![0];
  assert.equal(inner.arrayType, GgufValueType.UINT8);
  assert.throws(
    () => parseGgufHeaderBytes(nestedArrays(8)),
    (e) => e instanceof GgufError && e.kind === "bad_value",
  );
});

Deno.test("a file without tensors may end before its (empty) data section", () => {
  const bytes = new RawGguf().header(0, 1).kvU32("k", 7).bytes();
  const h = parseGgufHeaderBytes(bytes);
  assert.equal(h.metadata.get("k")?.value, 7);
  assert.ok(h.dataOffset >= bytes.length);
});
