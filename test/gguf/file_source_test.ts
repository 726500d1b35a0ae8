import assert from "node:assert/strict";
import { GgufError } from "../../src/gguf/errors.ts";
import { openFileSource } from "../../src/gguf/file_source.ts";
import { GgufFile } from "../../src/gguf/gguf_file.ts";
import { writeGgufFile } from "../../src/gguf/writer.ts";
import { GgmlType } from "../../src/quant/ggml_type.ts";
import { quantize } from "../../src/quant/quantize.ts";
import { normalValues } from "../quant/test_data.ts";

const STORIES = "../shared/models/stories260K.gguf";

Deno.test("a file source reads exactly the requested byte ranges", async () => {
  const whole = await Deno.readFile(STORIES);
  const source = await openFileSource(STORIES);
  try {
    assert.equal(source.size, whole.length);
    assert.deepEqual(await source.read(0, 4), new TextEncoder().encode("GGUF"));
    assert.deepEqual(await source.read(100_000, 777), whole.subarray(100_000, 100_777));
    assert.deepEqual(await source.read(whole.length - 5, 5), whole.subarray(whole.length - 5));
    assert.deepEqual(await source.read(whole.length, 0), new Uint8Array(0));
    assert.equal(source.bytesRead, 4 + 777 + 5);
  } finally {
    source.close();
  }
});

Deno.test("concurrent reads on one file source each get their own range", async () => {
  const whole = await Deno.readFile(STORIES);
  const source = await openFileSource(STORIES);
  try {
    const offsets = Array.from({ length: 32 }, (_, i) => (i * 35_317) % (whole.length - 5000));
    const reads = await Promise.all(offsets.map((o) => source.read(o, 4096)));
    reads.forEach((r, i) => assert.deepEqual(r, whole.subarray(offsets[i], offsets[i] + 4096)));
  } finally {
    source.close();
  }
});

Deno.test("reading past the end is truncated; reading after close is io", async () => {
  const source = await openFileSource(STORIES);
  await assert.rejects(
    source.read(source.size - 2, 4),
    (e) => e instanceof GgufError && e.kind === "truncated",
  );
  await assert.rejects(source.read(-1, 4), (e) => e instanceof GgufError && e.kind === "io");
  source.close();
  await assert.rejects(source.read(0, 4), (e) => e instanceof GgufError && e.kind === "io");
});

Deno.test("reading one tensor of a large file reads far less than the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgering-file-source-" });
  try {
    const path = `${dir}/big.gguf`;
    // eight 1 MiB Q8_0 tensors: ~8.5 MB of data behind a small header
    const rows = 1024, cols = 992; // 992 values = 31 blocks of 32: 1054 bytes per row
    const tensors = Array.from({ length: 8 }, (_, i) => ({
      name: `blk.${i}.w`,
      dims: [cols, rows],
      type: GgmlType.Q8_0,
      data: () => quantize(GgmlType.Q8_0, normalValues(rows * cols, i)),
    }));
    await writeGgufFile(path, { tensors });
    const size = (await Deno.stat(path)).size;
    const source = await openFileSource(path);
    const gguf = await GgufFile.open(source, { initialReadBytes: 4096 });
    try {
      const values = await gguf.readTensorF32("blk.5.w");
      assert.equal(values.length, rows * cols);
      const tensorBytes = gguf.tensorInfo("blk.5.w").byteSize;
      assert.ok(source.bytesRead <= tensorBytes + 4096, `read ${source.bytesRead} of a ${size} byte file`);
      assert.ok(source.bytesRead < size / 7);
    } finally {
      gguf.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
