import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { weightFormatOf } from "../../../src/backend/webgpu/weight_format.ts";
import { GgmlType, ggmlTypeInfo, tensorByteSize } from "../../../src/quant/ggml_type.ts";
import { quantize } from "../../../src/quant/mod.ts";

const TYPES = [
  GgmlType.F32,
  GgmlType.F16,
  GgmlType.BF16,
  GgmlType.Q8_0,
  GgmlType.Q4_0,
  GgmlType.Q4_1,
  GgmlType.Q5_0,
  GgmlType.Q5_1,
  GgmlType.Q4_K,
  GgmlType.Q5_K,
  GgmlType.Q6_K,
];

Deno.test("repacking keeps every weight type's size: bits move, nothing widens", () => {
  const rows = 3, cols = 512;
  for (const type of TYPES) {
    const format = weightFormatOf(type)!;
    const raw = quantize(type, Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i)));
    const parts = format.repack(raw, rows, cols);
    const name = ggmlTypeInfo(type)!.name;
    assertEquals(parts.length, format.sections.length, name);
    assertEquals(parts.reduce((sum, p) => sum + p.length, 0), tensorByteSize(type, [cols, rows]), name);
    parts.forEach((p, i) => assertEquals(p.length, rows * format.sections[i].bytesPerRow(cols), name));
  }
});

Deno.test("Q4_0 nibbles are repacked into value order", () => {
  // one block: d = 1.0, value j = j % 16 (low nibble of byte j holds value j, high nibble value j + 16)
  const raw = new Uint8Array(18);
  raw.set([0x00, 0x3c]); // f16 1.0
  for (let j = 0; j < 16; j++) raw[2 + j] = j | (j << 4);
  const [qs, d] = weightFormatOf(GgmlType.Q4_0)!.repack(raw, 1, 32);
  const words = new Uint32Array(qs.buffer);
  for (let v = 0; v < 32; v++) assertEquals((words[v >> 3] >>> (4 * (v & 7))) & 15, v % 16, `value ${v}`);
  assertEquals([...d], [0x00, 0x3c]);
});

Deno.test("float rows off the 32-value group are zero-padded to whole groups", () => {
  const raw = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer); // 2 rows × 4
  const [w] = weightFormatOf(GgmlType.F32)!.repack(raw, 2, 4);
  const values = new Float32Array(w.buffer);
  assertEquals(values.length, 64);
  assertEquals([...values.subarray(0, 5)], [1, 2, 3, 4, 0]);
  assertEquals([...values.subarray(32, 37)], [5, 6, 7, 8, 0]);
});
