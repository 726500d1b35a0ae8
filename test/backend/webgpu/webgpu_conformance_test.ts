/**
 * The shared conformance suite on the WebGPU backend, in both variants: f32, and f16 (f16 KV cache)
 * when the adapter has shader-f16. Only attention reads the KV cache, so only its tolerance loosens.
 * The WebGPU-only fused op gateUpSilu has its own cases, every weight type in both variants, in
 * gate_up_silu_test.ts.
 */
import { createWebGpuBackend } from "../../../src/backend/webgpu/webgpu_backend.ts";
import { type ConformanceCase, registerConformance } from "../conformance.ts";
import { testGpu } from "./gpu_test_device.ts";

/** f16 rounds K and V to 11 significant bits: attention outputs move by a few 1e-4 of their RMS. */
const F16_KV_TOLERANCE = 3e-3;

const readsKv = (c: ConformanceCase) => c.name.startsWith("attention");

const { device, skipReason } = await testGpu();
// Skips only when this host cannot run a case (no adapter at all, or no shader-f16): listed as ignored
// with the reason, as the conformance suite asks. CI installs lavapipe, which has both, so nothing skips.
if (!device) {
  Deno.test({ name: `webgpu conformance (skipped: ${skipReason})`, ignore: true, fn() {} });
} else {
  registerConformance("webgpu f32", () => createWebGpuBackend({ device, f16: false }));
  if (device.f16) {
    registerConformance("webgpu f16", () => createWebGpuBackend({ device, f16: true }), {
      tolerance: (c) => (readsKv(c) ? F16_KV_TOLERANCE : undefined),
    });
  } else {
    Deno.test({
      name: "webgpu f16 conformance (skipped: the adapter lacks shader-f16)",
      ignore: true,
      fn() {},
    });
  }
}
