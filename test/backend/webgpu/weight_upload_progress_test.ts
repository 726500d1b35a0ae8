/** Weights uploaded to the WebGPU backend report their progress through model loading's callback. */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createWebGpuBackend } from "../../../src/backend/webgpu/webgpu_backend.ts";
import { loadModel } from "../../../src/engine/loaded_model.ts";
import { testGpu } from "./gpu_test_device.ts";

const MODEL = "../shared/models/stories260K.gguf";
const { device, skipReason } = await testGpu();

Deno.test({
  name: `loading onto the GPU reports monotone upload progress that ends at the total${
    device ? "" : ` (skipped: ${skipReason})`
  }`,
  ignore: !device,
  async fn() {
    const backend = await createWebGpuBackend({ device, f16: false });
    const seen: [number, number][] = [];
    const model = await loadModel(MODEL, backend, { onProgress: (done, total) => seen.push([done, total]) });
    try {
      const total = model.file.header.tensors.reduce((sum, t) => sum + t.byteSize, 0);
      assert(seen.length >= model.cfg.layers * 9, `one report per tensor, got ${seen.length}`);
      for (const [i, [done, of]] of seen.entries()) {
        assertEquals(of, total, "the total never changes");
        assert(done > (i > 0 ? seen[i - 1][0] : 0), `progress rises at report ${i}: ${done}`);
        assert(done <= total, `${done} of ${total}`);
      }
      assertEquals(seen.at(-1), [total, total]);
      assert(backend.stats.uploadedWeightBytes >= total / 2, "the weights reached the GPU");
    } finally {
      model.close();
    }
  },
});
