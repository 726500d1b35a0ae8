import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createReferenceBackend } from "../../src/backend/reference/reference_backend.ts";
import type { Backend, Tensor } from "../../src/backend/backend.ts";
import { GgmlType } from "../../src/quant/ggml_type.ts";
import { quantize } from "../../src/quant/mod.ts";
import { checkCase, conformanceCases, firstMismatch } from "./conformance.ts";

function tensor(b: Backend, values: number[]): Tensor {
  const t = b.alloc(values.length);
  b.write(t, Float32Array.from(values));
  return t;
}

function f32Weight(b: Backend, rows: number, cols: number, values: number[]) {
  const dims = rows === 1 ? [cols] : [cols, rows];
  return b.uploadWeight(
    { name: "w", type: GgmlType.F32, dims },
    quantize(GgmlType.F32, Float32Array.from(values)),
  );
}

Deno.test("reference matmul computes x·Wᵀ for every row of the batch", async () => {
  const b = createReferenceBackend();
  // W: 2 rows × 3 cols
  const w = f32Weight(b, 2, 3, [1, 2, 3, 4, 5, 6]);
  const x = tensor(b, [1, 0, -1, 2, 1, 0]);
  const out = b.alloc(4);
  b.matmul(out, w, x, 2);
  assertEquals([...await b.read(out)], [-2, -2, 4, 13]);
});

Deno.test("reference rmsNorm scales each row to unit RMS times the weight", async () => {
  const b = createReferenceBackend();
  const w = f32Weight(b, 1, 2, [1, 2]);
  const x = tensor(b, [3, 4]);
  const out = b.alloc(2);
  b.rmsNorm(out, x, w, 1, 0);
  const rms = Math.sqrt((9 + 16) / 2);
  const [a, c] = await b.read(out);
  assert(Math.abs(a - 3 / rms) < 1e-6 && Math.abs(c - 8 / rms) < 1e-6);
});

Deno.test("reference rope rotates adjacent pairs (normal) and split halves (NeoX) by pos·θ", async () => {
  const b = createReferenceBackend();
  const base = { headDim: 4, ropeDim: 4, freqBase: 10000 };
  const normal = tensor(b, [1, 0, 1, 0]);
  b.rope(normal, 1, 1, Int32Array.of(1), { ...base, neox: false });
  const [n0, n1, n2, n3] = await b.read(normal);
  // pair 0: θ = 1; pair 1: θ = 10000^(-1/2) = 0.01
  assert(Math.abs(n0 - Math.cos(1)) < 1e-6 && Math.abs(n1 - Math.sin(1)) < 1e-6);
  assert(Math.abs(n2 - Math.cos(0.01)) < 1e-6 && Math.abs(n3 - Math.sin(0.01)) < 1e-6);
  const neox = tensor(b, [1, 1, 0, 0]);
  b.rope(neox, 1, 1, Int32Array.of(1), { ...base, neox: true });
  const [x0, x1, x2, x3] = await b.read(neox);
  assert(Math.abs(x0 - Math.cos(1)) < 1e-6 && Math.abs(x2 - Math.sin(1)) < 1e-6);
  assert(Math.abs(x1 - Math.cos(0.01)) < 1e-6 && Math.abs(x3 - Math.sin(0.01)) < 1e-6);
});

Deno.test("reference attention over a single position returns that position's value", async () => {
  const b = createReferenceBackend();
  const cache = b.createKvCache({ layers: 1, slots: 1, ctx: 4, kvDim: 2 });
  const at = { slot: Int32Array.of(0), pos: Int32Array.of(0) };
  b.kvStore(cache, 0, tensor(b, [1, 1]), tensor(b, [5, -7]), 1, at);
  const out = b.alloc(2);
  b.attention(out, tensor(b, [3, 3]), cache, 0, 1, at, { nHeads: 1, nKvHeads: 1, headDim: 2, scale: 1 });
  assertEquals([...await b.read(out)], [5, -7]);
});

Deno.test("reference attention weighs positions by softmax of scaled scores and never looks ahead", async () => {
  const b = createReferenceBackend();
  const cache = b.createKvCache({ layers: 1, slots: 1, ctx: 4, kvDim: 1 });
  const at = { slot: Int32Array.of(0, 0, 0), pos: Int32Array.of(0, 1, 2) };
  b.kvStore(cache, 0, tensor(b, [0, 1, 100]), tensor(b, [10, 20, 999]), 3, at);
  const out = b.alloc(3);
  b.attention(out, tensor(b, [1, 1, 0]), cache, 0, 3, at, { nHeads: 1, nKvHeads: 1, headDim: 1, scale: 1 });
  const [first, second, third] = await b.read(out);
  assertEquals(first, 10);
  const w = Math.exp(1) / (1 + Math.exp(1));
  assert(Math.abs(second - (10 * (1 - w) + 20 * w)) < 1e-5, `second token ${second}`);
  assert(Math.abs(third - (10 + 20 + 999) / 3) < 1e-3, `third token ${third}`);
});

Deno.test("conformance comparison reports the first index outside tolerance", () => {
  const expected = Float32Array.of(1, 2, 3, 4);
  assertEquals(firstMismatch(expected, Float32Array.of(1, 2, 3, 4), 1e-6), undefined);
  const bad = firstMismatch(expected, Float32Array.of(1, 2.5, 3, 9), 1e-3);
  assertEquals(bad?.index, 1);
  assertEquals(firstMismatch(expected, Float32Array.of(1, 2, NaN, 4), 1)?.index, 2);
});

Deno.test("conformance suite catches a backend whose op is slightly wrong", async () => {
  // A reference backend whose siluMul forgets the sigmoid on one element: the suite must name that op.
  const faulty = createReferenceBackend();
  const original = faulty.siluMul.bind(faulty);
  faulty.siluMul = (out, gate, up, length) => {
    original(out, gate, up, length);
    faulty.add(out, out, up, 1);
  };
  const testCase = conformanceCases().find((c) => c.name === "siluMul")!;
  const failure = await checkCase(faulty, testCase, 7);
  assert(failure?.includes("first bad index 0"), String(failure));
  assertEquals(await checkCase(createReferenceBackend(), testCase, 7), undefined);
});
