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
import { createWebGpuBackend, WebGpuError } from "./webgpu/mod.ts";

/** Values `--backend` accepts. */
export const BACKEND_CHOICES = ["auto", "reference", "wasm", "webgpu"] as const;
export type BackendChoice = typeof BACKEND_CHOICES[number];

/** Options for backend creation. */
export interface BackendOptions {
  /** CPU threads for the wasm backend (default: all cores) */
  readonly threads?: number;
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
        return await createGpu(false);
      } catch (error) {
        if (!(error instanceof BackendUnavailableError)) throw error;
        return await createCpu(options);
      }
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
