/**
 * The WebGPU backend: WGSL kernels (kernels/) on Deno's built-in WebGPU, and its GPU-resident decode loop.
 *
 * @example
 * ```ts
 * import { createWebGpuBackend, decodeOnGpu } from "./src/backend/webgpu/mod.ts";
 * const backend = await createWebGpuBackend(); // throws WebGpuError("no_adapter") without a GPU
 * ```
 */
export { createWebGpuBackend, type WebGpuBackend, type WebGpuBackendOptions } from "./webgpu_backend.ts";
export type { GpuPenaltyWindow, GpuSampleOptions } from "./gpu_sampling.ts";
export { decodeOnGpu, type GpuDecodeOptions, type GpuDecodeSummary } from "./gpu_decode.ts";
export { type GpuDevice, type GpuDeviceOptions, type GpuLimits, openGpuDevice } from "./gpu_device.ts";
export type { GpuTokenIds } from "./gpu_resources.ts";
export type { GpuStats } from "./recorder.ts";
export { WebGpuError, type WebGpuErrorKind } from "./webgpu_error.ts";
export { chooseChunkSize, type ChunkInput } from "./chunk_size.ts";
export { attentionSplits, SPLIT_ATTENTION_MIN_CONTEXT } from "./split_attention.ts";
