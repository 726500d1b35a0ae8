import assert from "node:assert/strict";
import { GgufError } from "../../src/gguf/errors.ts";
import { GgufFile, openGguf } from "../../src/gguf/gguf_file.ts";
import { kv } from "../../src/gguf/kv.ts";
import { memorySource } from "../../src/gguf/memory_source.ts";
import { parseGgufHeaderBytes } from "../../src/gguf/reader.ts";
import { GgufValueType } from "../../src/gguf/types.ts";
import { encodeGguf, type GgufSpec, layoutGguf, writeGgufFile } from "../../src/gguf/writer.ts";
import { dequantize } from "../../src/quant/dequantize.ts";
import { GgmlType } from "../../src/quant/ggml_type.ts";
import { QUANTISABLE_TYPES, richMetadata, richSpec, richTensors } from "./fixtures.ts";

Deno.test("write → read round trip keeps every metadata type, nested arrays and every tensor type", async () => {
  const spec = richSpec();
  const bytes = encodeGguf(spec);
  const file = await GgufFile.open(memorySource(bytes));
  assert.equal(file.header.version, 3);
  assert.deepEqual(file.metadata, new Map(richMetadata()));
  const tensors = richTensors();
  assert.equal(file.tensors.length, QUANTISABLE_TYPES.length);
  for (const t of tensors) {
    const info = file.tensorInfo(t.name);
    assert.deepEqual(info.dims, t.dims);
    assert.equal(info.type, t.type);
    assert.equal(info.offset % 32, 0, "tensor data is aligned");
    const data = t.data as Uint8Array;
    assert.deepEqual(await file.readTensorBytes(t.name), data, `${t.name} bytes`);
    const values = await file.readTensorF32(t.name);
    assert.deepEqual(values, dequantize(t.type, data, t.dims[0] * t.dims[1]), `${t.name} values`);
  }
});

Deno.test("re-encoding a parsed header reproduces the file byte for byte", () => {
  const bytes = encodeGguf(richSpec());
  const h = parseGgufHeaderBytes(bytes);
  const again = encodeGguf({
    metadata: h.metadata,
    tensors: h.tensors.map((t) => ({
      ...t,
      data: bytes.slice(h.dataOffset + t.offset, h.dataOffset + t.offset + t.byteSize),
    })),
  });
  assert.deepEqual(again, bytes);
});

Deno.test("real GGUF files re-encode byte-identically (stories260K and a vocabulary)", async () => {
  for (const path of ["../shared/models/stories260K.gguf", "../shared/tokenizers/ggml-vocab-phi-3.gguf"]) {
    const file = await openGguf(path);
    try {
      const tensors = [];
      for (const t of file.tensors) tensors.push({ ...t, data: await file.readTensorBytes(t) });
      const original = await Deno.readFile(path);
      assert.ok(encodeGguf({ metadata: file.metadata, tensors }).every((b, i) => b === original[i]), path);
      assert.equal(layoutGguf({ metadata: file.metadata, tensors }).fileSize, original.length, path);
    } finally {
      file.close();
    }
  }
});

Deno.test("the default alignment writes no general.alignment; another alignment writes it and aligns data", () => {
  const plain = parseGgufHeaderBytes(encodeGguf({ ...richSpec(), alignment: 32 }));
  assert.equal(plain.metadata.has("general.alignment"), false);
  const wide = parseGgufHeaderBytes(encodeGguf({ ...richSpec(), alignment: 256 }));
  assert.deepEqual(wide.metadata.get("general.alignment"), { type: GgufValueType.UINT32, value: 256 });
  assert.equal(wide.alignment, 256);
  assert.equal(wide.dataOffset % 256, 0);
  for (const t of wide.tensors) assert.equal(t.offset % 256, 0, t.name);
});

Deno.test("general.alignment in the metadata sets the alignment; a contradicting one is refused", () => {
  const spec = { metadata: [["general.alignment", kv.u32(64)] as const], tensors: richTensors() };
  assert.equal(parseGgufHeaderBytes(encodeGguf(spec)).alignment, 64);
  assert.throws(
    () => encodeGguf({ ...spec, alignment: 128 }),
    (e) => e instanceof GgufError && e.kind === "bad_alignment",
  );
  assert.throws(
    () => encodeGguf({ alignment: 48 }),
    (e) => e instanceof GgufError && e.kind === "bad_alignment",
  );
});

Deno.test("nested arrays without declared inner types get inferred ones", () => {
  const h = parseGgufHeaderBytes(encodeGguf({
    metadata: [["n", {
      type: GgufValueType.ARRAY,
      arrayType: GgufValueType.ARRAY,
      value: [[1, 2], ["a"], [0.5], []],
    }]],
  }));
  assert.deepEqual(h.metadata.get("n")!.inner!.map((i) => i.arrayType), [
    GgufValueType.INT32,
    GgufValueType.STRING,
    GgufValueType.FLOAT32,
    GgufValueType.INT32,
  ]);
});

const BAD_SPECS: Array<{ what: string; kind: string; spec: GgufSpec }> = [
  { what: "a u8 of 256", kind: "bad_value", spec: { metadata: [["k", kv.u8(256)]] } },
  { what: "an i32 of 1.5", kind: "bad_value", spec: { metadata: [["k", kv.i32(1.5)]] } },
  {
    what: "a string typed as u32",
    kind: "bad_value",
    spec: { metadata: [["k", { type: GgufValueType.UINT32, value: "x" }]] },
  },
  { what: "a negative u64", kind: "bad_value", spec: { metadata: [["k", kv.u64(-1n)]] } },
  { what: "an i64 past 2^63", kind: "bad_value", spec: { metadata: [["k", kv.i64(1n << 63n)]] } },
  {
    what: "an array of mixed kinds",
    kind: "bad_value",
    spec: { metadata: [["k", kv.array(GgufValueType.UINT8, [1, "a"])]] },
  },
  {
    what: "value type 42",
    kind: "bad_value_type",
    spec: { metadata: [["k", { type: 42 as GgufValueType, value: 1 }]] },
  },
  {
    what: "a key given twice",
    kind: "duplicate_key",
    spec: { metadata: [["k", kv.u8(1)], ["k", kv.u8(2)]] },
  },
  {
    what: "data of the wrong length",
    kind: "bad_tensor",
    spec: { tensors: [{ name: "w", dims: [32], type: GgmlType.Q8_0, data: new Uint8Array(33) }] },
  },
  {
    what: "rows that are not whole blocks",
    kind: "bad_tensor",
    spec: { tensors: [{ name: "w", dims: [16], type: GgmlType.Q4_0, data: new Uint8Array(9) }] },
  },
  {
    what: "five dimensions",
    kind: "bad_tensor",
    spec: { tensors: [{ name: "w", dims: [1, 1, 1, 1, 1], type: GgmlType.F32, data: new Uint8Array(4) }] },
  },
  {
    what: "a 65-byte tensor name",
    kind: "bad_tensor",
    spec: { tensors: [{ name: "n".repeat(65), dims: [1], type: GgmlType.F32, data: new Uint8Array(4) }] },
  },
  {
    what: "two tensors with one name",
    kind: "duplicate_tensor",
    spec: {
      tensors: [
        { name: "w", dims: [1], type: GgmlType.F32, data: new Uint8Array(4) },
        { name: "w", dims: [1], type: GgmlType.F32, data: new Uint8Array(4) },
      ],
    },
  },
  {
    what: "tensor type Q2_K",
    kind: "unknown_tensor_type",
    spec: { tensors: [{ name: "w", dims: [256], type: GgmlType.Q2_K, data: new Uint8Array(84) }] },
  },
];

for (const c of BAD_SPECS) {
  Deno.test(`the writer refuses ${c.what} with ${c.kind}`, () => {
    assert.throws(() => encodeGguf(c.spec), (e) => e instanceof GgufError && e.kind === c.kind);
  });
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "edgering-gguf-writer-" });
}

Deno.test("writeGgufFile streams tensor by tensor and writes the same bytes as encodeGguf", async () => {
  const dir = await tempDir();
  try {
    const path = `${dir}/model.gguf`;
    const spec = richSpec();
    const layout = layoutGguf(spec);
    const produced: string[] = [];
    const lazy = spec.tensors!.map((t, i) => ({
      ...t,
      data: async () => {
        // when tensor i is asked for, the tensors before it are already on disk (under the temporary name)
        const temp = [...Deno.readDirSync(dir)].find((e) => e.name.startsWith("model.gguf.tmp-"));
        assert.ok(temp, "writing goes to a temporary file");
        const prev = layout.tensors[i - 1];
        const written = (await Deno.stat(`${dir}/${temp.name}`)).size;
        assert.ok(written >= (prev ? layout.dataOffset + prev.offset + prev.byteSize : layout.dataOffset));
        produced.push(t.name);
        return t.data as Uint8Array;
      },
    }));
    await writeGgufFile(path, { ...spec, tensors: lazy });
    assert.deepEqual(produced, spec.tensors!.map((t) => t.name));
    assert.deepEqual(await Deno.readFile(path), encodeGguf(spec));
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name),
      ["model.gguf"],
      "no temporary file is left",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed write leaves neither a file nor a temporary behind, and keeps an older file", async () => {
  const dir = await tempDir();
  try {
    const path = `${dir}/model.gguf`;
    await Deno.writeTextFile(path, "old");
    const failing = richTensors().map((t, i) => ({
      ...t,
      data: i === 3 ? () => Promise.reject(new Error("disk on fire")) : t.data,
    }));
    await assert.rejects(
      writeGgufFile(path, { tensors: failing }),
      (e) => e instanceof GgufError && e.kind === "io",
    );
    const short = [{ name: "w", dims: [32], type: GgmlType.Q8_0, data: () => new Uint8Array(10) }];
    await assert.rejects(
      writeGgufFile(path, { tensors: short }),
      (e) => e instanceof GgufError && e.kind === "bad_tensor",
    );
    assert.equal(await Deno.readTextFile(path), "old");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["model.gguf"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("encodeGguf refuses tensor data that only arrives asynchronously", () => {
  const tensors = [{
    name: "w",
    dims: [1],
    type: GgmlType.F32,
    data: () => Promise.resolve(new Uint8Array(4)),
  }];
  assert.throws(() => encodeGguf({ tensors }), (e) => e instanceof GgufError && e.kind === "bad_tensor");
});
