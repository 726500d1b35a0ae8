/**
 * The non-matmul ops of the wasm backend against the reference backend (plain f32/f64 TypeScript): exact
 * where the kernel computes the same operations (embed, RoPE, gather), within f32 rounding elsewhere, on
 * shapes that exercise SIMD tails and the thread split.
 */
import assert from "node:assert/strict";
import type { Backend, KvCache, RopeParams } from "../../../src/backend/backend.ts";
import { createReferenceBackend } from "../../../src/backend/reference/reference_backend.ts";
import { createWasmBackend } from "../../../src/backend/wasm/mod.ts";
import { GgmlType, quantize } from "../../../src/quant/mod.ts";
import { firstMismatch } from "../conformance.ts";
import { assertSameBits, createInputRng, freshSeed, matrixOf, normals, tensorOf } from "./helpers.ts";

/** Runs `op` on a fresh reference backend and on a wasm backend with `threads`; returns both outputs. */
async function both(
  threads: number,
  op: (b: Backend, rng: ReturnType<typeof createInputRng>) => Promise<Float32Array>,
  seed: number,
): Promise<[Float32Array, Float32Array]> {
  const expected = await op(createReferenceBackend(), createInputRng(seed));
  const wasm = await createWasmBackend({ threads });
  try {
    return [expected, await op(wasm, createInputRng(seed))];
  } finally {
    wasm.dispose();
  }
}

function assertClose(expected: Float32Array, actual: Float32Array, tol: number, what: string): void {
  const bad = firstMismatch(expected, actual, tol);
  if (bad) {
    assert.fail(
      `${what}: first bad index ${bad.index}: expected ${bad.expected}, got ${bad.actual} (±${bad.tolerance})`,
    );
  }
}

Deno.test("embed dequantises rows bit-exactly for every type, native or converted at upload", async () => {
  const types = [GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K];
  for (const type of [...types, GgmlType.Q5_K, GgmlType.Q4_1, GgmlType.BF16]) {
    const seed = freshSeed();
    const [expected, actual] = await both(2, (b, rng) => {
      const vocab = 50, dim = 512;
      const table = b.uploadWeight(
        { name: "embd", type, dims: [dim, vocab] },
        quantize(type, normals(rng, vocab * dim, 0.05)),
      );
      const tokens = Int32Array.from({ length: 9 }, () => Math.floor(rng.uniform() * vocab));
      const out = b.alloc(tokens.length * dim);
      b.embed(out, table, tokens);
      return b.read(out);
    }, seed);
    assertSameBits(actual, expected, `${GgmlType[type]} seed ${seed}`);
  }
});

Deno.test("RoPE equals the reference bit for bit in every style", async () => {
  const cases: [string, RopeParams, number, number][] = [
    ["normal", { headDim: 64, ropeDim: 64, freqBase: 10000, neox: false }, 4, 3],
    ["neox", { headDim: 128, ropeDim: 128, freqBase: 1e6, neox: true }, 2, 40],
    ["partial neox", { headDim: 64, ropeDim: 32, freqBase: 10000, neox: true }, 3, 5],
    [
      "freq factors",
      {
        headDim: 32,
        ropeDim: 32,
        freqBase: 500000,
        neox: false,
        freqFactors: Float32Array.from({ length: 16 }, (_, i) => 1 + i / 3),
      },
      8,
      70,
    ],
  ];
  for (const [label, params, nHeads, n] of cases) {
    const seed = freshSeed();
    const [expected, actual] = await both(2, async (b, rng) => {
      const x = tensorOf(b, normals(rng, n * nHeads * params.headDim));
      const pos = Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * 8000));
      b.rope(x, n, nHeads, pos, params);
      // a second call with the same positions (q then k) reuses the cached angle table
      const y = tensorOf(b, normals(rng, n * nHeads * params.headDim));
      b.rope(y, n, nHeads, pos, params);
      // the next decode step: every position one on, most rows already computed and kept
      const z = tensorOf(b, normals(rng, n * nHeads * params.headDim));
      b.rope(z, n, nHeads, pos.map((p) => p + 1), params);
      return Float32Array.of(...await b.read(x), ...await b.read(y), ...await b.read(z));
    }, seed);
    assertSameBits(actual, expected, `${label} seed ${seed}`);
  }
});

Deno.test("rmsNorm, addBias, siluMul, add and softmax match the reference on odd lengths", async () => {
  for (const [len, n] of [[37, 3], [4096, 9], [1, 2]]) {
    const seed = freshSeed();
    const [expected, actual] = await both(2, async (b, rng) => {
      const norm = b.uploadWeight(
        { name: "norm", type: GgmlType.F32, dims: [len] },
        quantize(GgmlType.F32, normals(rng, len)),
      );
      const bias = b.uploadWeight(
        { name: "bias", type: GgmlType.F16, dims: [len] },
        quantize(GgmlType.F16, normals(rng, len)),
      );
      const x = tensorOf(b, normals(rng, n * len, 3));
      const h = b.alloc(n * len);
      b.rmsNorm(h, x, norm, n, 1e-6);
      b.addBias(h, bias, n);
      const gate = tensorOf(b, normals(rng, n * len, 6));
      const act = b.alloc(n * len);
      b.siluMul(act, gate, h, n * len);
      b.add(act, act, x, n * len);
      const logits = tensorOf(b, normals(rng, n * len, 10));
      b.softmax(logits, n, len);
      return Float32Array.of(...await b.read(h), ...await b.read(act), ...await b.read(logits));
    }, seed);
    assertClose(expected, actual, 1e-5, `len ${len} n ${n} seed ${seed}`);
  }
});

Deno.test("SiLU and softmax keep their range: huge, tiny and infinite inputs", async () => {
  const values = Float32Array.of(-1000, -104, -88, -20, -1e-8, 0, 1e-8, 5, 20, 88, 89, 1000, -Infinity);
  const [expected, actual] = await both(1, async (b) => {
    const gate = tensorOf(b, values.slice(0, 12));
    const up = tensorOf(b, new Float32Array(12).fill(1));
    const out = b.alloc(12);
    b.siluMul(out, gate, up, 12);
    const logits = tensorOf(b, values);
    b.softmax(logits, 1, values.length);
    return Float32Array.of(...await b.read(out), ...await b.read(logits));
  }, 0);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i], a = actual[i];
    const ok = e === a || Math.abs(a - e) <= 4e-7 * Math.abs(e) + 1e-40;
    assert.ok(ok, `index ${i}: expected ${e}, got ${a}`);
  }
});

Deno.test("attention matches the reference for decode, causal prefill, GQA and several slots", async () => {
  const layouts: {
    label: string;
    nHeads: number;
    nKvHeads: number;
    headDim: number;
    tokens: [number, number][];
  }[] = [
    { label: "decode", nHeads: 8, nKvHeads: 8, headDim: 64, tokens: [[0, 300]] },
    {
      label: "GQA prefill",
      nHeads: 12,
      nKvHeads: 4,
      headDim: 12,
      tokens: Array.from({ length: 17 }, (_, p) => [0, p]),
    },
    {
      label: "batched slots",
      nHeads: 4,
      nKvHeads: 2,
      headDim: 20,
      tokens: [[2, 0], [0, 33], [1, 7], [2, 1]],
    },
    // heads not a multiple of the kernel's three at a time, a head size not a multiple of 4
    { label: "odd head size", nHeads: 5, nKvHeads: 5, headDim: 6, tokens: [[1, 9], [0, 2]] },
  ];
  for (const { label, nHeads, nKvHeads, headDim, tokens } of layouts) {
    const seed = freshSeed();
    const [expected, actual] = await both(2, (b, rng) => {
      const kvDim = nKvHeads * headDim;
      const slots = 3, ctx = 320, layers = 3;
      const cache: KvCache = b.createKvCache({ layers, slots, ctx, kvDim });
      // history in layer 2 for every position before each slot's first token
      for (let slot = 0; slot < slots; slot++) {
        const mine = tokens.filter(([s]) => s === slot).map(([, p]) => p);
        const first = mine.length ? Math.min(...mine) : 0;
        for (let pos = 0; pos < first; pos++) {
          b.kvStore(cache, 2, tensorOf(b, normals(rng, kvDim)), tensorOf(b, normals(rng, kvDim)), 1, {
            slot: Int32Array.of(slot),
            pos: Int32Array.of(pos),
          });
        }
      }
      const n = tokens.length;
      const at = { slot: Int32Array.from(tokens, ([s]) => s), pos: Int32Array.from(tokens, ([, p]) => p) };
      b.kvStore(cache, 2, tensorOf(b, normals(rng, n * kvDim)), tensorOf(b, normals(rng, n * kvDim)), n, at);
      const q = tensorOf(b, normals(rng, n * nHeads * headDim, 2));
      const out = b.alloc(n * nHeads * headDim);
      b.attention(out, q, cache, 2, n, at, { nHeads, nKvHeads, headDim, scale: 1 / Math.sqrt(headDim) });
      return b.read(out);
    }, seed);
    assertClose(expected, actual, 1e-5, `${label} seed ${seed}`);
  }
});

Deno.test("every op gives identical bits on one and two threads", async () => {
  const seed = freshSeed();
  const run = async (threads: number) => {
    const b = await createWasmBackend({ threads });
    try {
      const rng = createInputRng(seed);
      // every op here is big enough to be split over the threads (≥ 32768 elements)
      const n = 20, dim = 2048, heads = 16, kvHeads = 4, hd = 128;
      const norm = b.uploadWeight(
        { name: "n", type: GgmlType.F32, dims: [dim] },
        quantize(GgmlType.F32, normals(rng, dim)),
      );
      const x = tensorOf(b, normals(rng, n * dim));
      const h = b.alloc(n * dim);
      b.rmsNorm(h, x, norm, n, 1e-5);
      const q = tensorOf(b, normals(rng, n * dim));
      const pos = Int32Array.from({ length: n }, (_, i) => i);
      b.rope(q, n, heads, pos, { headDim: hd, ropeDim: hd, freqBase: 10000, neox: true });
      const cache = b.createKvCache({ layers: 1, slots: 1, ctx: 64, kvDim: kvHeads * hd });
      const at = { slot: new Int32Array(n), pos };
      b.kvStore(
        cache,
        0,
        tensorOf(b, normals(rng, n * kvHeads * hd)),
        tensorOf(b, normals(rng, n * kvHeads * hd)),
        n,
        at,
      );
      const att = b.alloc(n * dim);
      b.attention(att, q, cache, 0, n, at, { nHeads: heads, nKvHeads: kvHeads, headDim: hd, scale: 0.088 });
      const act = b.alloc(n * dim);
      b.siluMul(act, h, att, n * dim);
      b.add(act, act, x, n * dim);
      b.softmax(h, n, dim);
      return Float32Array.of(...await b.read(att), ...await b.read(act), ...await b.read(h));
    } finally {
      b.dispose();
    }
  };
  assertSameBits(await run(2), await run(1), `seed ${seed}`);
});

Deno.test("gatherRows copies the chosen rows exactly", async () => {
  const seed = freshSeed();
  const [expected, actual] = await both(1, (b, rng) => {
    const x = tensorOf(b, normals(rng, 8 * 33));
    const out = b.alloc(4 * 33);
    b.gatherRows(out, x, Int32Array.of(7, 0, 7, 3), 33);
    return b.read(out);
  }, seed);
  assertSameBits(actual, expected, `seed ${seed}`);
});

Deno.test("gateUpSilu gives the bits of its two products and siluMul, fused (F32) or not", async () => {
  for (const relaxed of [false, true]) {
    const b = await createWasmBackend({ threads: 2, relaxed });
    try {
      // [100, 300]: F32 rows split over threads in three-part tiles, with scalar column tails
      for (
        const { type, rows, cols, n } of [
          { type: GgmlType.F32, rows: 100, cols: 300, n: 8 },
          { type: GgmlType.F32, rows: 7, cols: 12, n: 1 },
          { type: GgmlType.Q8_0, rows: 40, cols: 64, n: 3 },
        ]
      ) {
        const seed = freshSeed();
        const rng = createInputRng(seed);
        const gate = matrixOf(b, type, rows, cols, normals(rng, rows * cols, 0.1)).weight;
        const up = matrixOf(b, type, rows, cols, normals(rng, rows * cols, 0.1)).weight;
        const x = tensorOf(b, normals(rng, n * cols));
        const [fused, scratch, g, u] = [1, 2, 3, 4].map(() => b.alloc(n * rows));
        b.gateUpSilu(fused, gate, up, x, n, scratch);
        b.matmul(g, gate, x, n);
        b.matmul(u, up, x, n);
        b.siluMul(g, g, u, n * rows);
        assertSameBits(
          await b.read(fused),
          await b.read(g),
          `${b.description} ${GgmlType[type]} [${rows}x${cols}] n=${n} seed ${seed}`,
        );
      }
      assert.throws(
        () =>
          b.gateUpSilu(
            b.alloc(8),
            b.uploadWeight({ name: "g", type: GgmlType.F32, dims: [4, 2] }, new Uint8Array(32)),
            b.uploadWeight({ name: "u", type: GgmlType.F32, dims: [2, 4] }, new Uint8Array(32)),
            b.alloc(8),
            1,
            b.alloc(8),
          ),
        /differ in shape/,
      );
    } finally {
      b.dispose();
    }
  }
});
