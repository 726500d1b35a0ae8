/**
 * Matrix products of the wasm backend: within the int8-activation error bound of the exact product for
 * each weight type, and bit-identical across batches and thread counts, and for the integer loops across
 * paths (relaxed / simd128); F32 products multiply-add fused on the relaxed path, so there each path is
 * checked on its own.
 */
import assert from "node:assert/strict";
import { createWasmBackend, relaxedSimdSupported } from "../../../src/backend/wasm/mod.ts";
import type { WasmBackend } from "../../../src/backend/wasm/mod.ts";
import { GgmlType, quantize } from "../../../src/quant/mod.ts";
import {
  assertSameBits,
  assertWithin,
  createInputRng,
  exactProduct,
  freshSeed,
  int8Bound,
  matrixOf,
  normals,
  tensorOf,
  valuesOf,
} from "./helpers.ts";

const QUANT_TYPES = [GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K];
const ALL_TYPES = [GgmlType.F32, GgmlType.F16, ...QUANT_TYPES];

async function product(b: WasmBackend, type: GgmlType, rows: number, cols: number, n: number, seed: number) {
  const rng = createInputRng(seed);
  const { weight, bytes } = matrixOf(b, type, rows, cols, normals(rng, rows * cols, 0.05));
  const xs = normals(rng, n * cols);
  const out = b.alloc(n * rows);
  b.matmul(out, weight, tensorOf(b, xs), n);
  return { actual: await b.read(out), w: valuesOf(type, bytes, rows * cols), xs };
}

Deno.test("quantised matmul stays within the int8 activation-rounding bound of the exact product", async () => {
  const b = await createWasmBackend({ threads: 2 });
  try {
    for (const type of QUANT_TYPES) {
      // cols 768: 3 K-quant super-blocks, 24 blocks of 32 (a partial group of four at the end is not needed
      // here, see the odd-shape test); n covers single tokens, a full tile and a tile plus leftovers
      for (const n of [1, 4, 7]) {
        const seed = freshSeed();
        const rows = 37, cols = 768;
        const { actual, w, xs } = await product(b, type, rows, cols, n, seed);
        assertWithin(
          actual,
          exactProduct(w, xs, rows, cols, n),
          int8Bound(w, xs, rows, cols, n),
          `${GgmlType[type]} n=${n} seed ${seed}`,
        );
      }
    }
  } finally {
    b.dispose();
  }
});

/** Both float paths where the engine has relaxed SIMD (F32 multiplies with FMA there), else simd128. */
async function floatPathBackends(threads: number): Promise<WasmBackend[]> {
  const plain = await createWasmBackend({ threads, relaxed: false });
  return relaxedSimdSupported() ? [plain, await createWasmBackend({ threads })] : [plain];
}

Deno.test("F32 and F16 matmul match the exact product to f32 rounding on both paths", async () => {
  for (const b of await floatPathBackends(2)) {
    try {
      await floatProductsMatchExact(b);
    } finally {
      b.dispose();
    }
  }
});

async function floatProductsMatchExact(b: WasmBackend): Promise<void> {
  {
    for (const type of [GgmlType.F32, GgmlType.F16]) {
      // [100, 300, 8]: row ranges cut in three parts plus a short tile, token tiles of 3, 3 and 2
      for (const [rows, cols, n] of [[37, 512, 5], [5, 7, 3], [9, 13, 4], [100, 300, 8], [2, 9, 1]]) {
        const seed = freshSeed();
        const { actual, w, xs } = await product(b, type, rows, cols, n, seed);
        const expected = exactProduct(w, xs, rows, cols, n);
        const bound = new Float64Array(expected.length);
        for (let t = 0; t < n; t++) {
          for (let r = 0; r < rows; r++) {
            let magnitude = 0;
            for (let c = 0; c < cols; c++) magnitude += Math.abs(w[r * cols + c] * xs[t * cols + c]);
            bound[t * rows + r] = magnitude * 2 ** -20 + 1e-30;
          }
        }
        assertWithin(
          actual,
          expected,
          bound,
          `${b.description} ${GgmlType[type]} [${rows}x${cols}] n=${n} seed ${seed}`,
        );
      }
    }
  }
}

Deno.test("odd shapes: one block, block counts not a multiple of four, one row", async () => {
  const b = await createWasmBackend({ threads: 2 });
  try {
    for (const type of [GgmlType.Q8_0, GgmlType.Q4_0]) {
      for (const [rows, cols, n] of [[3, 32, 1], [1, 96, 5], [11, 160, 4], [2, 8224, 2]]) {
        const seed = freshSeed();
        const { actual, w, xs } = await product(b, type, rows, cols, n, seed);
        assertWithin(
          actual,
          exactProduct(w, xs, rows, cols, n),
          int8Bound(w, xs, rows, cols, n),
          `${GgmlType[type]} [${rows}x${cols}] n=${n} seed ${seed}`,
        );
      }
    }
    // K-quants: one super-block; more super-blocks than one chunk of partials
    for (const type of [GgmlType.Q4_K, GgmlType.Q6_K]) {
      for (const [rows, cols, n] of [[3, 256, 5], [2, 256 * 9, 4]]) {
        const seed = freshSeed();
        const { actual, w, xs } = await product(b, type, rows, cols, n, seed);
        assertWithin(
          actual,
          exactProduct(w, xs, rows, cols, n),
          int8Bound(w, xs, rows, cols, n),
          `${GgmlType[type]} [${rows}x${cols}] n=${n} seed ${seed}`,
        );
      }
    }
  } finally {
    b.dispose();
  }
});

Deno.test("a token's product has the same bits alone and inside a batch", async () => {
  const [plain, ...relaxed] = await floatPathBackends(2);
  await sameBitsAloneAndInBatch(plain, ALL_TYPES);
  // the relaxed path's F32 tiles (FMA) are other code: the same property, checked on its own
  if (relaxed.length > 0) await sameBitsAloneAndInBatch(relaxed[0], ALL_TYPES);
});

async function sameBitsAloneAndInBatch(b: WasmBackend, types: readonly GgmlType[]): Promise<void> {
  try {
    // n = 9 and 11 put tokens in every tile size of the F16 kernel (6, 4, 2, 1), the F32 one (3, 2, 1)
    // and the quantised ones (4, 1); 527 and 530 columns (float only) add the 4-column and scalar tails;
    // 100 rows cut the F32 row ranges into three parts of several rows (one thread alone, two in a batch).
    const cases: { type: GgmlType; cols: number; n: number; rows?: number }[] = [
      ...types.map((type) => ({ type, cols: 512, n: 9 })),
      ...types.map((type) => ({ type, cols: 512, n: 11 })),
      { type: GgmlType.F16, cols: 527, n: 11 },
      { type: GgmlType.F32, cols: 527, n: 11 },
      { type: GgmlType.F32, cols: 530, n: 8, rows: 100 },
    ];
    for (const { type, cols, n, rows = 19 } of cases) {
      const seed = freshSeed();
      const rng = createInputRng(seed);
      const { weight } = matrixOf(b, type, rows, cols, normals(rng, rows * cols, 0.05));
      const xs = normals(rng, n * cols);
      const batch = b.alloc(n * rows);
      b.matmul(batch, weight, tensorOf(b, xs), n);
      const all = await b.read(batch);
      for (const t of [0, 5, 6, 7, n - 2, n - 1]) {
        const single = b.alloc(rows);
        b.matmul(single, weight, tensorOf(b, xs.slice(t * cols, (t + 1) * cols)), 1);
        assertSameBits(
          await b.read(single),
          all.slice(t * rows, (t + 1) * rows),
          `${b.description} ${GgmlType[type]} [${rows}x${cols}] n=${n} token ${t} seed ${seed}`,
        );
      }
    }
  } finally {
    b.dispose();
  }
}

Deno.test({
  name: "relaxed-SIMD and simd128 integer paths give identical bits",
  ignore: !relaxedSimdSupported(),
  async fn() {
    const relaxed = await createWasmBackend({ threads: 1 });
    const plain = await createWasmBackend({ threads: 1, relaxed: false });
    try {
      assert.equal(relaxed.relaxed, true);
      assert.equal(plain.relaxed, false);
      for (const type of QUANT_TYPES) {
        for (const n of [1, 4, 6]) {
          const seed = freshSeed();
          const a = await product(relaxed, type, 29, 1024, n, seed);
          const p = await product(plain, type, 29, 1024, n, seed);
          assertSameBits(a.actual, p.actual, `${GgmlType[type]} n=${n} seed ${seed}`);
        }
      }
    } finally {
      relaxed.dispose();
      plain.dispose();
    }
  },
});

Deno.test("one and two threads give identical bits for every weight type", async () => {
  const one = await createWasmBackend({ threads: 1 });
  const two = await createWasmBackend({ threads: 2 });
  try {
    for (const type of ALL_TYPES) {
      for (const n of [1, 6]) {
        const seed = freshSeed();
        const a = await product(one, type, 301, 512, n, seed);
        const c = await product(two, type, 301, 512, n, seed);
        assertSameBits(c.actual, a.actual, `${GgmlType[type]} n=${n} seed ${seed}`);
      }
    }
  } finally {
    one.dispose();
    two.dispose();
  }
});

Deno.test("Q8_0 weights holding −128 are multiplied exactly on both paths", async () => {
  const seed = freshSeed();
  const rng = createInputRng(seed);
  const rows = 6, cols = 64;
  // hand-made blocks: d = 1/64, quants spanning −128..127 so that −128 meets negative activations
  const bytes = new Uint8Array(rows * (cols / 32) * 34);
  const view = new DataView(bytes.buffer);
  for (let blk = 0; blk < rows * cols / 32; blk++) {
    view.setUint16(blk * 34, 0x2400, true); // f16 1/64
    for (let i = 0; i < 32; i++) {
      view.setInt8(blk * 34 + 2 + i, i % 3 === 0 ? -128 : Math.floor(rng.uniform() * 256) - 128);
    }
  }
  const xs = normals(rng, 3 * cols);
  const w = valuesOf(GgmlType.Q8_0, bytes, rows * cols);
  const results: Float32Array[] = [];
  for (const relaxed of [true, false]) {
    const b = await createWasmBackend({ threads: 1, relaxed });
    try {
      const weight = b.uploadWeight({ name: "w", type: GgmlType.Q8_0, dims: [cols, rows] }, bytes);
      const out = b.alloc(3 * rows);
      b.matmul(out, weight, tensorOf(b, xs), 3);
      results.push(await b.read(out));
    } finally {
      b.dispose();
    }
  }
  assertWithin(
    results[0],
    exactProduct(w, xs, rows, cols, 3),
    int8Bound(w, xs, rows, cols, 3),
    `seed ${seed}`,
  );
  assertSameBits(results[0], results[1], `relaxed vs simd128, seed ${seed}`);
});

Deno.test("F16 weights holding inf and NaN give inf and NaN where the reference does", async () => {
  const b = await createWasmBackend({ threads: 1 });
  try {
    const cols = 16;
    const halves = new Uint16Array(2 * cols).fill(0x3c00); // 1.0
    halves[3] = 0x7c00; // +inf in row 0
    halves[cols + 5] = 0x7e00; // NaN in row 1
    const w = b.uploadWeight(
      { name: "w", type: GgmlType.F16, dims: [cols, 2] },
      new Uint8Array(halves.buffer),
    );
    const out = b.alloc(2);
    b.matmul(out, w, tensorOf(b, new Float32Array(cols).fill(0.5)), 1);
    const [inf, nan] = await b.read(out);
    assert.equal(inf, Infinity);
    assert.ok(Number.isNaN(nan));
  } finally {
    b.dispose();
  }
});

Deno.test("infinite Q4_0 and Q8_0 block scales give non-finite rows where the reference does", async () => {
  const b = await createWasmBackend({ threads: 1 });
  try {
    for (const type of [GgmlType.Q4_0, GgmlType.Q8_0]) {
      const rows = 3, cols = 96;
      const bytes = quantize(type, normals(createInputRng(5), rows * cols, 0.05));
      const blockBytes = type === GgmlType.Q4_0 ? 18 : 34;
      new DataView(bytes.buffer).setUint16(4 * blockBytes, 0x7c00, true); // row 1, block 1: d = +inf
      const w = b.uploadWeight({ name: "w", type, dims: [cols, rows] }, bytes);
      const out = b.alloc(rows);
      b.matmul(out, w, tensorOf(b, normals(createInputRng(6), cols)), 1);
      const [r0, r1, r2] = await b.read(out);
      assert.ok(Number.isFinite(r0) && Number.isFinite(r2), `${GgmlType[type]}: finite rows stay finite`);
      assert.ok(!Number.isFinite(r1), `${GgmlType[type]}: the row with an infinite scale is ${r1}`);
    }
  } finally {
    b.dispose();
  }
});
