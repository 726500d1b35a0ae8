import {
  deepStrictEqual as assertEquals,
  ok as assert,
  rejects as assertRejects,
  throws as assertThrows,
} from "node:assert/strict";
import type { Backend, Weight } from "../../../src/backend/backend.ts";
import { createReferenceBackend } from "../../../src/backend/reference/reference_backend.ts";
import { createWebGpuBackend, type WebGpuBackend } from "../../../src/backend/webgpu/webgpu_backend.ts";
import type { GpuWeight } from "../../../src/backend/webgpu/gpu_resources.ts";
import { WebGpuError } from "../../../src/backend/webgpu/webgpu_error.ts";
import { GgmlType } from "../../../src/quant/ggml_type.ts";
import { quantize } from "../../../src/quant/mod.ts";
import { createInputRng, firstMismatch } from "../conformance.ts";
import { testGpu } from "./gpu_test_device.ts";

const { device, skipReason } = await testGpu();

/** Registers a test that needs the GPU, ignored with the reason when there is none. */
function gpuTest(name: string, fn: (b: WebGpuBackend) => Promise<void>, maxBindingBytes?: number): void {
  Deno.test({
    name: device ? name : `${name} (skipped: ${skipReason})`,
    ignore: !device,
    async fn() {
      const backend = await createWebGpuBackend({ device, f16: false, maxBindingBytes });
      try {
        await fn(backend);
      } finally {
        backend.dispose();
      }
    },
  });
}

function values(seed: number, count: number, scale = 1): Float32Array {
  const rng = createInputRng(seed);
  return Float32Array.from({ length: count }, () => rng.normal() * scale);
}

function upload(b: Backend, type: GgmlType, rows: number, cols: number, v: Float32Array): Weight {
  return b.uploadWeight({ name: "w", type, dims: [cols, rows] }, quantize(type, v));
}

/** matmul and embed of one weight on the GPU backend and the reference; throws on a mismatch. */
async function compareMatmul(
  b: WebGpuBackend,
  type: GgmlType,
  rows: number,
  cols: number,
  n: number,
  tol: number,
) {
  const w = values(1, rows * cols, 0.05);
  const x = values(2, n * cols);
  const results: Float32Array[] = [];
  for (const backend of [createReferenceBackend(), b] as Backend[]) {
    const weight = upload(backend, type, rows, cols, w);
    const xt = backend.alloc(n * cols);
    backend.write(xt, x);
    const out = backend.alloc(n * rows);
    backend.matmul(out, weight, xt, n);
    const emb = backend.alloc(3 * cols);
    backend.embed(emb, weight, Int32Array.of(rows - 1, 0, Math.floor(rows / 2)));
    results.push(await backend.read(out), await backend.read(emb));
  }
  const bad = firstMismatch(results[0], results[2], tol) ?? firstMismatch(results[1], results[3], 1e-6);
  assert(!bad, `${GgmlType[type]} [${rows}x${cols}] n=${n}: ${JSON.stringify(bad)}`);
}

gpuTest(
  "a weight over the binding limit is split into row chunks that still multiply and embed exactly",
  async (b) => {
    await compareMatmul(b, GgmlType.Q4_0, 70, 256, 1, 2e-2);
    await compareMatmul(b, GgmlType.Q6_K, 37, 512, 5, 2e-2);
    await compareMatmul(b, GgmlType.F16, 45, 96, 20, 2e-3);
    const w = upload(b, GgmlType.Q4_0, 70, 256, values(1, 70 * 256)) as GpuWeight;
    assert(w.chunks.length > 1, `${w.chunks.length} chunk(s)`);
  },
  1024,
);

gpuTest("matmul takes ragged shapes: rows off the tile, columns off the 32-value group", async (b) => {
  for (const n of [1, 2, 3, 17]) await compareMatmul(b, GgmlType.F32, 5, 172, n, 1e-4);
  await compareMatmul(b, GgmlType.Q8_0, 33, 64, 2, 2e-2);
});

gpuTest("a write after recorded ops lands after them, in host order", async (b) => {
  const x = b.alloc(4);
  const y = b.alloc(4);
  b.write(x, Float32Array.of(1, 2, 3, 4));
  b.add(y, x, x, 4);
  b.write(x, Float32Array.of(10, 20, 30, 40));
  b.add(x, x, y, 4);
  assertEquals([...await b.read(x)], [12, 24, 36, 48]);
  assertEquals([...await b.read(y)], [2, 4, 6, 8]);
});

gpuTest("in-place siluMul and rmsNorm match their out-of-place results", async (b) => {
  const g = values(3, 64, 3);
  const u = values(4, 64);
  const [gate, up, out] = [b.alloc(64), b.alloc(64), b.alloc(64)];
  b.write(gate, g);
  b.write(up, u);
  b.siluMul(out, gate, up, 64);
  b.siluMul(gate, gate, up, 64);
  assertEquals(await b.read(gate), await b.read(out));
  const norm = b.uploadWeight(
    { name: "n", type: GgmlType.F32, dims: [32] },
    quantize(GgmlType.F32, values(5, 32)),
  );
  b.rmsNorm(out, up, norm, 2, 1e-5);
  b.rmsNorm(up, up, norm, 2, 1e-5);
  assertEquals(await b.read(up), await b.read(out));
});

gpuTest("greedy GPU sampling picks the highest logit, the lowest id on ties", async (b) => {
  const logits = b.alloc(3 * 100);
  const rows = new Float32Array(300);
  rows.set(values(6, 100), 0);
  rows[57] = 9;
  rows[100 + 3] = 5;
  rows[100 + 80] = 5; // tie: 3 wins
  rows.fill(-1, 200, 300); // all equal: 0 wins
  b.write(logits, rows);
  const ids = b.createTokenIds(4);
  b.sampleTokens(ids, 1, logits, 3, 100);
  assertEquals([...await b.readTokenIds(ids, 4)], [0, 57, 3, 0]);
});

gpuTest("Gumbel-max sampling draws tokens in proportion to softmax(logits / T)", async (b) => {
  const draws = 3000, vocab = 4;
  const row = Float32Array.of(0, Math.log(2), Math.log(4), -Infinity); // p = 1/7, 2/7, 4/7, 0 at T = 1
  const logits = b.alloc(draws * vocab);
  const all = new Float32Array(draws * vocab);
  for (let i = 0; i < draws; i++) all.set(row.map((v) => v * 0.5), i * vocab); // T = 0.5 undoes the halving
  b.write(logits, all);
  const ids = b.createTokenIds(draws);
  b.sampleTokens(ids, 0, logits, draws, vocab, { temperature: 0.5, seed: 1234 });
  const counts = [0, 0, 0, 0];
  for (const id of await b.readTokenIds(ids, draws)) counts[id]++;
  const expected = [1 / 7, 2 / 7, 4 / 7, 0];
  counts.forEach((c, i) => {
    // 5 standard deviations of a binomial count: the draw is deterministic, so this never flakes
    const sd = Math.sqrt(draws * expected[i] * (1 - expected[i]));
    assert(Math.abs(c - draws * expected[i]) <= 5 * sd + 1e-9, `token ${i}: ${c} of ${draws}`);
  });
});

gpuTest("bad inputs give typed errors, not GPU faults", async (b) => {
  const t = b.alloc(8);
  assertThrows(
    () => b.write(t, new Float32Array(9)),
    (e) => e instanceof WebGpuError && e.kind === "bad_input",
  );
  await assertRejects(() => b.read(t, 9), (e) => e instanceof WebGpuError && e.kind === "bad_input");
  const w = upload(b, GgmlType.F32, 4, 8, values(7, 32));
  assertThrows(() => b.embed(t, w, Int32Array.of(4)), RangeError);
  assertThrows(() => b.matmul(t, w, t, 1), (e) => e instanceof WebGpuError && e.kind === "bad_input");
  assertThrows(
    () => b.uploadWeight({ name: "short", type: GgmlType.Q4_0, dims: [32, 2] }, new Uint8Array(18)),
    WebGpuError,
  );
  const cache = b.createKvCache({ layers: 1, slots: 1, ctx: 4, kvDim: 8 });
  assertThrows(
    () => b.kvStore(cache, 0, t, t, 1, { slot: Int32Array.of(0), pos: Int32Array.of(4) }),
    RangeError,
  );
  assertThrows(
    () => b.alloc(2 ** 40),
    (e) => e instanceof WebGpuError && e.kind === "too_large" && /limit/.test(e.message),
  );
  assertEquals([...await b.read(t)], new Array(8).fill(0), "nothing bad was recorded");
});

gpuTest("a disposed backend refuses further work", async (b) => {
  const t = b.alloc(4);
  b.dispose();
  assertThrows(() => b.add(t, t, t, 4), (e) => e instanceof WebGpuError && e.kind === "disposed");
  await assertRejects(() => b.read(t), (e) => e instanceof WebGpuError && e.kind === "disposed");
});

Deno.test({
  name: "backends sharing a device compile each pipeline once" + (device ? "" : ` (skipped: ${skipReason})`),
  ignore: !device,
  async fn() {
    const run = async () => {
      const b = await createWebGpuBackend({ device, f16: false });
      const t = b.alloc(64);
      b.softmax(t, 2, 32);
      await b.read(t);
      const created = b.stats.pipelinesCreated;
      b.dispose();
      return created;
    };
    await run();
    assertEquals(await run(), 0);
  },
});
