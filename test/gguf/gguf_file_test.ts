import assert from "node:assert/strict";
import { GgufError, type GgufErrorKind } from "../../src/gguf/errors.ts";
import { GgufFile, openGguf, tensorElementCount } from "../../src/gguf/gguf_file.ts";
import { memorySource } from "../../src/gguf/memory_source.ts";
import { encodeGguf } from "../../src/gguf/writer.ts";
import { GgmlType } from "../../src/quant/ggml_type.ts";
import { richSpec } from "./fixtures.ts";

const STORIES = "../shared/models/stories260K.gguf";

async function richFile(): Promise<GgufFile> {
  return await GgufFile.open(memorySource(encodeGguf(richSpec()), "rich.gguf"));
}

function isGgufError(kind: GgufErrorKind, needle: string) {
  return (e: unknown) => {
    assert.ok(e instanceof GgufError, String(e));
    assert.equal(e.kind, kind, e.message);
    assert.ok(e.message.includes(needle), `"${e.message}" should name ${needle}`);
    return true;
  };
}

Deno.test("stories260K opens from a path and reads its hyper-parameters and weights", async () => {
  const gguf = await openGguf(STORIES);
  try {
    assert.equal(gguf.getString("general.architecture"), "llama");
    assert.equal(gguf.getNumber("llama.embedding_length"), 64);
    assert.equal(gguf.getNumber("llama.feed_forward_length"), 172);
    assert.equal(gguf.getNumber("llama.rope.freq_base", 10000), 10000, "absent key falls back");
    assert.equal(gguf.getStringArray("tokenizer.ggml.tokens").length, 512);
    assert.equal(gguf.getNumberArray("tokenizer.ggml.scores").length, 512);
    const embd = gguf.tensorInfo("token_embd.weight");
    assert.deepEqual(embd.dims, [64, 512]);
    const values = await gguf.readTensorF32("token_embd.weight");
    assert.equal(values.length, 64 * 512);
    assert.equal(values.length, tensorElementCount(embd));
    assert.ok(values.every(Number.isFinite));
    const raw = await gguf.readTensorBytes(embd);
    assert.deepEqual(new Float32Array(raw.buffer), values);
    const norm = await gguf.readTensorF32("output_norm.weight");
    assert.equal(norm.length, 64);
  } finally {
    gguf.close();
  }
});

Deno.test("typed getters return each metadata type; 64-bit integers come as bigint or number", async () => {
  const f = await richFile();
  assert.equal(f.getString("general.name"), "tiny ☃ 模型 🦙");
  assert.equal(f.getNumber("test.u8"), 255);
  assert.equal(f.getNumber("test.i16"), -32768);
  assert.equal(f.getNumber("test.f32"), Math.fround(3.14159));
  assert.equal(f.getNumber("test.i64"), -(2 ** 63));
  assert.equal(f.getBigInt("test.u64"), (1n << 64n) - 1n);
  assert.equal(f.getBigInt("test.u32"), 4294967295n);
  assert.equal(f.getBool("test.bool_true"), true);
  assert.equal(f.getBool("test.bool_false", true), false, "a present key ignores the fallback");
  assert.deepEqual(f.getArray("test.arr.bool"), [true, false, true]);
  assert.deepEqual(f.getStringArray("test.arr.string"), ["a", "", "ü", "\uFEFFx"]);
  assert.deepEqual(f.getNumberArray("test.arr.i64"), [-(2 ** 63), 42]);
  assert.deepEqual(f.getArray("test.arr.nested")[1], ["x", "yz"]);
  assert.equal(f.has("test.u8"), true);
  assert.equal(f.has("nope"), false);
  assert.equal(f.kv("nope"), undefined);
  assert.equal(f.getString("nope", "default"), "default");
  assert.deepEqual(f.getStringArray("nope", []), []);
});

Deno.test("a missing key or a key of another type is a typed error naming the key", async () => {
  const f = await richFile();
  const cases: Array<[GgufErrorKind, string, () => unknown]> = [
    ["missing_key", "llama.block_count", () => f.getNumber("llama.block_count")],
    ["missing_key", "absent.string", () => f.getString("absent.string")],
    ["wrong_type", "test.u8", () => f.getString("test.u8")],
    ["wrong_type", "general.name", () => f.getNumber("general.name")],
    ["wrong_type", "test.f32", () => f.getBigInt("test.f32")],
    ["wrong_type", "test.u8", () => f.getBool("test.u8", false)],
    ["wrong_type", "test.u32", () => f.getArray("test.u32")],
    ["wrong_type", "test.arr.u8", () => f.getStringArray("test.arr.u8")],
    ["wrong_type", "test.arr.string", () => f.getNumberArray("test.arr.string")],
    ["missing_tensor", "no.such.tensor", () => f.tensorInfo("no.such.tensor")],
  ];
  for (const [kind, needle, run] of cases) assert.throws(run, isGgufError(kind, needle));
  await assert.rejects(f.readTensorF32("no.such.tensor"), isGgufError("missing_tensor", "no.such.tensor"));
  await assert.rejects(f.readTensorBytes("no.such.tensor"), isGgufError("missing_tensor", "no.such.tensor"));
});

Deno.test("readTensorF32 fills a caller's buffer", async () => {
  const f = await richFile();
  const name = f.tensors.find((t) => t.type === GgmlType.Q4_K)!.name;
  const out = new Float32Array(512);
  assert.equal(await f.readTensorF32(name, out), out);
  assert.ok(out.some((v) => v !== 0));
  assert.equal(f.hasTensor(name), true);
  assert.equal(f.hasTensor("x"), false);
});

Deno.test("opening a missing path or a non-GGUF file fails with a typed error and closes the source", async () => {
  await assert.rejects(
    openGguf("../shared/models/does-not-exist.gguf"),
    isGgufError("io", "does-not-exist.gguf"),
  );
  await assert.rejects(openGguf("../shared/models/README.md"), isGgufError("bad_magic", "README.md"));
  await assert.rejects(openGguf("../shared/models"), isGgufError("io", "models"));
});

Deno.test("readTensorPiece fills a buffer with any slice of a tensor, from a file or memory, and refuses slices past its end", async () => {
  const fromFile = await openGguf(STORIES);
  const fromMemory = await GgufFile.open(memorySource(await Deno.readFile(STORIES), "stories.gguf"));
  try {
    for (const f of [fromFile, fromMemory]) {
      const info = f.tensorInfo("blk.0.ffn_up.weight");
      const whole = await f.readTensorBytes(info);
      for (const [at, len] of [[0, 1], [7, 100], [info.byteSize - 64, 64], [0, info.byteSize]]) {
        const into = new Uint8Array(len);
        await f.readTensorPiece(info, at, into);
        assert.deepEqual(into, whole.subarray(at, at + len), `${at}+${len}`);
      }
      await assert.rejects(
        f.readTensorPiece(info, info.byteSize - 4, new Uint8Array(8)),
        isGgufError("truncated", "blk.0.ffn_up.weight"),
      );
      await assert.rejects(
        f.readTensorPiece(info, -1, new Uint8Array(1)),
        isGgufError("truncated", "outside"),
      );
    }
  } finally {
    fromFile.close();
    fromMemory.close();
  }
});
