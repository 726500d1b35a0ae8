/**
 * Weights written in pieces of rows (the loader's streaming path) against the same weights uploaded
 * whole: bit-identical products for every stored form (copied, repacked, dequantised, norm vectors),
 * and typed errors for pieces that are not whole rows, rows past the end, or a finish too early.
 */
import assert from "node:assert/strict";
import { createWasmBackend, WasmBackendError } from "../../../src/backend/wasm/mod.ts";
import { GgmlType, quantize } from "../../../src/quant/mod.ts";
import { assertSameBits, createInputRng, freshSeed, normals, tensorOf } from "./helpers.ts";

/** Native types (copied or repacked) and Q5_0, which the backend dequantises to f32 at upload. */
const TYPES = [
  GgmlType.F32,
  GgmlType.F16,
  GgmlType.Q8_0,
  GgmlType.Q4_0,
  GgmlType.Q4_K,
  GgmlType.Q6_K,
  GgmlType.Q5_0,
];

Deno.test("a weight written in pieces of rows gives the bits of the same weight uploaded whole", async () => {
  const seed = freshSeed();
  const rng = createInputRng(seed);
  const b = await createWasmBackend({ threads: 2 });
  try {
    const [rows, cols, n] = [37, 512, 3];
    for (const type of TYPES) {
      const bytes = quantize(type, normals(rng, rows * cols, 0.05));
      const spec = { name: "w", type, dims: [cols, rows] };
      const whole = b.uploadWeight(spec, bytes);
      const writer = b.beginWeight(spec);
      const rowBytes = bytes.length / rows;
      // uneven pieces: 1 row, then random runs, the last one whatever is left
      for (let r = 0; r < rows;) {
        const take = r === 0 ? 1 : Math.min(rows - r, 1 + Math.floor(rng.uniform() * 9));
        writer.write(bytes.slice(r * rowBytes, (r + take) * rowBytes));
        r += take;
      }
      const pieces = writer.finish();
      const x = tensorOf(b, normals(rng, n * cols));
      const [a, c] = [b.alloc(n * rows), b.alloc(n * rows)];
      b.matmul(a, whole, x, n);
      b.matmul(c, pieces, x, n);
      assertSameBits(await b.read(c), await b.read(a), `type ${GgmlType[type]}, seed ${seed}`);
    }
  } finally {
    b.dispose();
  }
});

Deno.test("a norm vector written in pieces normalises like the one uploaded whole", async () => {
  const seed = freshSeed();
  const rng = createInputRng(seed);
  const b = await createWasmBackend({ threads: 1 });
  try {
    const dim = 256;
    for (const type of [GgmlType.F32, GgmlType.F16, GgmlType.Q8_0]) {
      const bytes = quantize(type, normals(rng, dim, 1));
      const spec = { name: "norm", type, dims: [dim] };
      const whole = b.uploadWeight(spec, bytes);
      const writer = b.beginWeight(spec);
      writer.write(bytes);
      const pieces = writer.finish();
      const x = tensorOf(b, normals(rng, dim));
      const [a, c] = [b.alloc(dim), b.alloc(dim)];
      b.rmsNorm(a, x, whole, 1, 1e-5);
      b.rmsNorm(c, x, pieces, 1, 1e-5);
      assertSameBits(await b.read(c), await b.read(a), `norm ${GgmlType[type]}, seed ${seed}`);
    }
  } finally {
    b.dispose();
  }
});

Deno.test("a piece that is not whole rows, rows past the end, or an early finish is refused", async () => {
  const b = await createWasmBackend({ threads: 1 });
  try {
    const [rows, cols] = [4, 64];
    const bytes = quantize(GgmlType.Q8_0, new Float32Array(rows * cols).fill(0.5));
    const rowBytes = bytes.length / rows;
    const writer = b.beginWeight({ name: "w", type: GgmlType.Q8_0, dims: [cols, rows] });
    assert.throws(() => writer.write(bytes.subarray(0, rowBytes + 1)), WasmBackendError);
    writer.write(bytes.subarray(0, 3 * rowBytes));
    assert.throws(
      () => writer.write(bytes.subarray(0, 2 * rowBytes)),
      /not whole rows .* within the 1 rows left/,
    );
    assert.throws(() => writer.finish(), /finished after 3 of 4 rows/);
    writer.write(bytes.subarray(3 * rowBytes));
    writer.finish();
    assert.throws(() => writer.write(bytes.subarray(0, rowBytes)), /write after finish/);
  } finally {
    b.dispose();
  }
});
