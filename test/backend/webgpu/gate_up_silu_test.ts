/**
 * The fused SwiGLU op (gateUpSilu) of the WebGPU backend against the reference's unfused
 * matmul(gate) · matmul(up) · siluMul, for every weight type, in the f32 and f16 variants, for decode
 * (n = 1, 2: the fused kernel) and a batch (n = 5: the tiled products it falls back to).
 */
import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert/strict";
import type { Backend, Tensor, Weight } from "../../../src/backend/backend.ts";
import type { GpuWeight } from "../../../src/backend/webgpu/gpu_resources.ts";
import { createWebGpuBackend, type WebGpuBackend } from "../../../src/backend/webgpu/webgpu_backend.ts";
import { WebGpuError } from "../../../src/backend/webgpu/webgpu_error.ts";
import { GgmlType, ggmlTypeInfo } from "../../../src/quant/ggml_type.ts";
import { quantize } from "../../../src/quant/mod.ts";
import { checkCase, type ConformanceCase, createInputRng, WEIGHT_TYPE_TOLERANCE } from "../conformance.ts";
import { testGpu } from "./gpu_test_device.ts";

const { device, skipReason } = await testGpu();

/** Rows not a multiple of the kernel's 4 rows per workgroup, so the last workgroup is partial. */
const ROWS = 70;
const COLS = 512;

function randomValues(seed: number, count: number, scale = 1): Float32Array {
  const rng = createInputRng(seed);
  return Float32Array.from({ length: count }, () => rng.normal() * scale);
}

function upload(
  b: Backend,
  name: string,
  type: GgmlType,
  rows: number,
  cols: number,
  v: Float32Array,
): Weight {
  return b.uploadWeight({ name, type, dims: [cols, rows] }, quantize(type, v));
}

function tensorOf(b: Backend, values: Float32Array): Tensor {
  const t = b.alloc(values.length);
  b.write(t, values);
  return t;
}

/** silu(x·gateᵀ)·(x·upᵀ): fused where the backend offers it, else the ops the forward pass runs. */
function swiglu(b: Backend, gate: Weight, up: Weight, x: Tensor, n: number): Promise<Float32Array> {
  const out = b.alloc(n * gate.rows);
  const scratch = b.alloc(n * up.rows);
  if (b.gateUpSilu) b.gateUpSilu(out, gate, up, x, n, scratch);
  else {
    b.matmul(out, gate, x, n);
    b.matmul(scratch, up, x, n);
    b.siluMul(out, out, scratch, n * gate.rows);
  }
  return b.read(out);
}

function swigluCase(
  gateType: GgmlType,
  upType: GgmlType,
  rows: number,
  cols: number,
  n: number,
): ConformanceCase {
  const name = (t: GgmlType) => ggmlTypeInfo(t)!.name;
  return {
    name: `gateUpSilu ${name(gateType)}/${name(upType)} [${rows}x${cols}] n=${n}`,
    tolerance: Math.max(WEIGHT_TYPE_TOLERANCE.get(gateType)!, WEIGHT_TYPE_TOLERANCE.get(upType)!),
    run(b, seed) {
      const gate = upload(b, "gate", gateType, rows, cols, randomValues(seed, rows * cols, 0.05));
      const up = upload(b, "up", upType, rows, cols, randomValues(seed + 1, rows * cols, 0.05));
      const x = tensorOf(b, randomValues(seed + 2, n * cols));
      return swiglu(b, gate, up, x, n);
    },
  };
}

/** Registers a test on a fresh backend of the shared device, ignored with the reason when there is none. */
function gpuTest(
  name: string,
  fn: (b: WebGpuBackend) => Promise<void>,
  options: { f16?: boolean; maxBindingBytes?: number } = {},
): void {
  const noF16 = options.f16 && device && !device.f16;
  Deno.test({
    name: !device ? `${name} (skipped: ${skipReason})` : noF16 ? `${name} (skipped: no shader-f16)` : name,
    ignore: !device || noF16,
    async fn() {
      const backend = await createWebGpuBackend({ device, ...options, f16: options.f16 ?? false });
      try {
        await fn(backend);
      } finally {
        backend.dispose();
      }
    },
  });
}

const seed = () => Math.floor(Math.random() * 2 ** 31);

for (const f16 of [false, true]) {
  for (const type of WEIGHT_TYPE_TOLERANCE.keys()) {
    gpuTest(
      `webgpu ${f16 ? "f16" : "f32"} gateUpSilu ${
        ggmlTypeInfo(type)!.name
      } matches the reference's matmul, matmul, siluMul`,
      async (b) => {
        assert(b.gateUpSilu, "the WebGPU backend offers the fused op");
        for (const n of [1, 2, 5]) {
          const failure = await checkCase(b, swigluCase(type, type, ROWS, COLS, n), seed());
          if (failure) throw new Error(failure);
        }
      },
      { f16 },
    );
  }
}

gpuTest(
  "gateUpSilu of two weight types split at different rows matches the reference",
  async (b) => {
    // Q4_0 rows are 256 bytes wide and F16 rows 1024: under a 4 KiB binding cap they split every 15
    // and every 3 rows, so the kernel runs on pieces lying within one chunk of each
    const gate = upload(b, "gate", GgmlType.Q4_0, 37, COLS, randomValues(1, 37 * COLS)) as GpuWeight;
    const up = upload(b, "up", GgmlType.F16, 37, COLS, randomValues(2, 37 * COLS)) as GpuWeight;
    assert(gate.chunks.length > 1 && up.chunks.length > gate.chunks.length, "both split, differently");
    for (const n of [1, 2]) {
      const failure = await checkCase(b, swigluCase(GgmlType.Q4_0, GgmlType.F16, 37, COLS, n), seed());
      if (failure) throw new Error(failure);
    }
  },
  { maxBindingBytes: 4096 },
);

gpuTest("decode runs gate, up and silu·mul as one dispatch; a batch keeps the three", async (b) => {
  const gate = upload(b, "gate", GgmlType.Q8_0, ROWS, COLS, randomValues(1, ROWS * COLS));
  const up = upload(b, "up", GgmlType.Q8_0, ROWS, COLS, randomValues(2, ROWS * COLS));
  const x = b.alloc(5 * COLS);
  const [out, scratch] = [b.alloc(5 * ROWS), b.alloc(5 * ROWS)];
  const dispatches = (n: number) => {
    const before = b.stats.dispatches;
    b.gateUpSilu(out, gate, up, x, n, scratch);
    return b.stats.dispatches - before;
  };
  assertEquals([dispatches(1), dispatches(2), dispatches(5)], [1, 1, 3]);
  await b.read(out, 1);
});

Deno.test({
  name: `an adapter with WebGPU's default 8 storage bindings runs two K-quants unfused, still correctly${
    device ? "" : ` (skipped: ${skipReason})`
  }`,
  ignore: !device,
  async fn() {
    // the shared device, described with the default limit: Q6_K has 4 sections, so x, out and two
    // weights would need 10 bindings
    const narrow = { ...device!, limits: { ...device!.limits, maxStorageBuffersPerShaderStage: 8 } };
    const b = await createWebGpuBackend({ device: narrow, f16: false });
    try {
      const before = b.stats.dispatches;
      const failure = await checkCase(b, swigluCase(GgmlType.Q6_K, GgmlType.Q6_K, ROWS, COLS, 1), seed());
      if (failure) throw new Error(failure);
      assertEquals(b.stats.dispatches - before, 3, "matmul, matmul, siluMul");
    } finally {
      b.dispose();
    }
  },
});

gpuTest("gateUpSilu refuses weights of different shapes and aliased tensors", async (b) => {
  const gate = upload(b, "gate", GgmlType.F32, ROWS, COLS, randomValues(1, ROWS * COLS));
  const up = upload(b, "up", GgmlType.F32, ROWS - 1, COLS, randomValues(2, (ROWS - 1) * COLS));
  const x = b.alloc(COLS);
  const out = b.alloc(ROWS);
  assertThrows(() => b.gateUpSilu(out, gate, up, x, 1, b.alloc(ROWS)), WebGpuError);
  assertThrows(() => b.gateUpSilu(out, gate, gate, x, 1, out), WebGpuError);
  assertThrows(() => b.gateUpSilu(out, gate, gate, x, 2, b.alloc(1)), WebGpuError);
  await Promise.resolve();
});
