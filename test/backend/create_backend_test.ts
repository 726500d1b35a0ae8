import { deepStrictEqual as assertEquals, notStrictEqual } from "node:assert/strict";
import { type BackendOptions, createBackend, gpuFitsWeights } from "../../src/backend/create_backend.ts";
import { testGpu } from "./webgpu/gpu_test_device.ts";

const GIB = 2 ** 30;

Deno.test("a GPU fits the weights unless a tensor exceeds its buffer limit or the total exceeds the budget", () => {
  const limits = { maxBufferSize: 2 * GIB };
  const table: [string, BackendOptions, boolean][] = [
    ["nothing known: fits", {}, true],
    ["largest tensor at the buffer limit", { largestTensorBytes: 2 * GIB }, true],
    ["largest tensor over the buffer limit", { largestTensorBytes: 2 * GIB + 1 }, false],
    ["weights within the --gpu-memory budget", { weightBytes: 6 * GIB, gpuMemoryBytes: 8 * GIB }, true],
    ["weights over the --gpu-memory budget", { weightBytes: 9 * GIB, gpuMemoryBytes: 8 * GIB }, false],
    ["no budget: the total is not guessed", { weightBytes: 100 * GIB }, true],
    ["a budget but unknown weights", { gpuMemoryBytes: GIB }, true],
  ];
  for (const [label, options, want] of table) assertEquals(gpuFitsWeights(limits, options), want, label);
});

const { device, skipReason } = await testGpu();

Deno.test("auto leaves the GPU for the CPU when the model does not fit its memory budget", async () => {
  const backend = await createBackend("auto", { weightBytes: 8 * GIB, gpuMemoryBytes: GIB, threads: 1 });
  try {
    notStrictEqual(backend.name, "webgpu");
  } finally {
    backend.dispose();
  }
});

Deno.test({
  name: "--backend webgpu overrides the fit check (and accepts a software adapter)" +
    (device ? "" : ` (skipped: ${skipReason})`),
  ignore: !device,
  async fn() {
    const backend = await createBackend("webgpu", { weightBytes: 8 * GIB, gpuMemoryBytes: GIB });
    try {
      assertEquals(backend.name, "webgpu");
    } finally {
      backend.dispose();
    }
  },
});
