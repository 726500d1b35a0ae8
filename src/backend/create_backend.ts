/**
 * Choosing and creating the compute backend of a node (`--backend`).
 *
 * `auto` prefers a real GPU: WebGPU when a non-fallback adapter exists, else the SIMD wasm CPU backend.
 * `--backend webgpu` also accepts a software adapter (Mesa's lavapipe), which is how CI runs the WGSL
 * kernels; `--backend reference` runs the plain-TypeScript specification.
 */
import type { Backend, BackendName } from "./backend.ts";
import { createReferenceBackend } from "./reference/reference_backend.ts";
import { createWasmBackend } from "./wasm/mod.ts";
import { createWebGpuBackend, type GpuLimits, type WebGpuBackend, WebGpuError } from "./webgpu/mod.ts";

/** Values `--backend` accepts. */
export const BACKEND_CHOICES = ["auto", "reference", "wasm", "webgpu"] as const;
export type BackendChoice = typeof BACKEND_CHOICES[number];

/** Options for backend creation. */
export interface BackendOptions {
  /** CPU threads for the wasm backend (default: all cores) */
  readonly threads?: number;
  /** bytes of the weights this node must hold (its layers' share of the model); `auto` checks the fit */
  readonly weightBytes?: number;
  /** bytes of the largest single weight tensor of those layers */
  readonly largestTensorBytes?: number;
  /** GPU memory budget, bytes (`--gpu-memory`): WebGPU does not expose the adapter's memory size */
  readonly gpuMemoryBytes?: number;
}

/**
 * Whether a model's weights fit a GPU, by the only figures WebGPU exposes plus the operator's budget.
 *
 * The rule: the largest tensor must fit one buffer (`maxBufferSize`; adapters with a small limit are
 * small or integrated GPUs, and a tensor past it would be split into many bindings), and, when a
 * budget is given (`--gpu-memory`), all the weights must fit it. Without a budget the total is not
 * checked: WebGPU reports no memory size, and guessing one would refuse GPUs that fit. Unknown sizes
 * (undefined) are not checked. Pure.
 *
 * @example
 * ```ts
 * gpuFitsWeights({ maxBufferSize: 2 ** 31 }, { weightBytes: 8e9, gpuMemoryBytes: 6e9 }); // false
 * ```
 */
export function gpuFitsWeights(limits: Pick<GpuLimits, "maxBufferSize">, options: BackendOptions): boolean {
  const { weightBytes, largestTensorBytes, gpuMemoryBytes } = options;
  if (largestTensorBytes !== undefined && largestTensorBytes > limits.maxBufferSize) return false;
  return gpuMemoryBytes === undefined || weightBytes === undefined || weightBytes <= gpuMemoryBytes;
}

/** A backend that this build or host cannot provide. */
export class BackendUnavailableError extends Error {
  override name = "BackendUnavailableError";
  constructor(readonly backend: BackendName, reason: string) {
    super(`backend ${backend} is not available: ${reason}`);
  }
}

/** Creates the backend named by `choice`. */
export async function createBackend(choice: BackendChoice, options: BackendOptions = {}): Promise<Backend> {
  switch (choice) {
    case "reference":
      return createReferenceBackend();
    case "webgpu":
      return await createGpu(true);
    case "wasm":
      return await createCpu(options);
    case "auto":
      try {
        const gpu = await createGpu(false);
        if (gpuFitsWeights((gpu as WebGpuBackend).limits, options)) return gpu;
        gpu.dispose(); // the model does not fit this GPU: the CPU holds it
      } catch (error) {
        if (!(error instanceof BackendUnavailableError)) throw error;
      }
      return await createCpu(options);
  }
}

async function createGpu(allowFallback: boolean): Promise<Backend> {
  try {
    return await createWebGpuBackend({ allowFallback });
  } catch (error) {
    if (error instanceof WebGpuError && error.kind === "no_adapter") {
      throw new BackendUnavailableError("webgpu", error.message);
    }
    throw error;
  }
}

function createCpu(options: BackendOptions): Promise<Backend> {
  return createWasmBackend({ threads: options.threads });
}
