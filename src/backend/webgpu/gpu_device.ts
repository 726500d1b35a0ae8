/**
 * Finding a GPU: the adapter probe and the device request.
 *
 * The device asks for the adapter's own maxima of the limits the backend leans on (storage binding and
 * buffer sizes, storage buffers per stage, workgroup memory) instead of WebGPU's conservative defaults,
 * so a large weight splits into as few chunks as the hardware allows. `shader-f16` is enabled when the
 * adapter has it and f16 was not turned off.
 *
 * @example
 * ```ts
 * const gpu = await openGpuDevice({ allowFallback: true });
 * console.log(gpu.description, gpu.f16, gpu.limits.maxStorageBufferBindingSize);
 * ```
 */
import { WebGpuError } from "./webgpu_error.ts";

/** Options of the adapter probe. */
export interface GpuDeviceOptions {
  /** an adapter already requested by the caller */
  readonly adapter?: GPUAdapter;
  /** accept a software (fallback) adapter such as llvmpipe/lavapipe (default false) */
  readonly allowFallback?: boolean;
  /** true: require shader-f16; false: never use it; undefined: use it when the adapter has it */
  readonly f16?: boolean;
}

/** The limits the backend sizes its buffers and dispatches by. */
export interface GpuLimits {
  /** bytes one storage binding may cover */
  readonly maxStorageBufferBindingSize: number;
  /** bytes of the largest buffer */
  readonly maxBufferSize: number;
  /** workgroups per dispatch dimension */
  readonly maxComputeWorkgroupsPerDimension: number;
  /** alignment of storage binding offsets, bytes */
  readonly minStorageBufferOffsetAlignment: number;
  /** alignment of uniform (dynamic) offsets, bytes */
  readonly minUniformBufferOffsetAlignment: number;
  /** storage bindings one kernel may have (≥ 8; the fused gate/up kernel of two K-quants needs 10) */
  readonly maxStorageBuffersPerShaderStage: number;
}

/** An opened device with what the probe learnt about its adapter. */
export interface GpuDevice {
  readonly device: GPUDevice;
  /** shader-f16 is enabled on the device */
  readonly f16: boolean;
  /** software adapter (llvmpipe, lavapipe, WARP) */
  readonly isFallback: boolean;
  /** e.g. "llvmpipe (LLVM 15.0.6, 256 bits) (fallback adapter)" */
  readonly description: string;
  readonly limits: GpuLimits;
}

/** Storage buffers one kernel binds at most (data arena, 3 tensors, 4 weight sections). */
const STORAGE_BUFFERS_NEEDED = 8;

/** Probes for an adapter and opens a device on it. Throws WebGpuError ("no_adapter", "no_f16"). */
export async function openGpuDevice(options: GpuDeviceOptions = {}): Promise<GpuDevice> {
  const adapter = options.adapter ?? await requestAdapter();
  const info = adapter.info;
  const isFallback = Boolean(info?.isFallbackAdapter);
  const name = info?.description ||
    [info?.vendor, info?.architecture, info?.device].filter(Boolean).join(" ") ||
    "unknown adapter";
  if (isFallback && !options.allowFallback) {
    throw new WebGpuError(
      "no_adapter",
      `only a software (fallback) adapter was found (${name}); pass allowFallback to use it`,
    );
  }
  const hasF16 = adapter.features.has("shader-f16");
  if (options.f16 === true && !hasF16) {
    throw new WebGpuError("no_f16", `f16 was requested but adapter ${name} lacks the shader-f16 feature`);
  }
  const f16 = hasF16 && options.f16 !== false;
  const a = adapter.limits;
  if (a.maxStorageBuffersPerShaderStage < STORAGE_BUFFERS_NEEDED) {
    throw new WebGpuError(
      "unsupported",
      `adapter ${name} allows ${a.maxStorageBuffersPerShaderStage} storage buffers per stage, ` +
        `the kernels need ${STORAGE_BUFFERS_NEEDED}`,
    );
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      requiredFeatures: f16 ? ["shader-f16"] : [],
      requiredLimits: {
        maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
        maxBufferSize: a.maxBufferSize,
        // more than the kernels need lets the fused gate/up kernel bind two weights of 4 sections each
        maxStorageBuffersPerShaderStage: a.maxStorageBuffersPerShaderStage,
        maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: a.maxComputeInvocationsPerWorkgroup,
      },
    });
  } catch (e) {
    throw new WebGpuError("no_adapter", `requesting a device on ${name} failed: ${(e as Error).message}`);
  }
  const d = device.limits;
  return {
    device,
    f16,
    isFallback,
    description: isFallback ? `${name} (fallback adapter)` : name,
    limits: {
      maxStorageBufferBindingSize: d.maxStorageBufferBindingSize,
      maxBufferSize: d.maxBufferSize,
      maxComputeWorkgroupsPerDimension: d.maxComputeWorkgroupsPerDimension,
      minStorageBufferOffsetAlignment: d.minStorageBufferOffsetAlignment,
      minUniformBufferOffsetAlignment: d.minUniformBufferOffsetAlignment,
      maxStorageBuffersPerShaderStage: d.maxStorageBuffersPerShaderStage,
    },
  };
}

async function requestAdapter(): Promise<GPUAdapter> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) throw new WebGpuError("no_adapter", "this runtime has no navigator.gpu (WebGPU)");
  quietMesaRuntimeDirWarning();
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) throw new WebGpuError("no_adapter", "navigator.gpu.requestAdapter() found no adapter");
  return adapter;
}

/**
 * Mesa's Vulkan loader prints "XDG_RUNTIME_DIR is invalid" twice on stderr when the variable is unset (a
 * headless server, a CI job). It only needs a private directory to exist, so give it one before probing.
 */
function quietMesaRuntimeDirWarning(): void {
  try {
    if (Deno.env.get("XDG_RUNTIME_DIR")) return;
    Deno.env.set("XDG_RUNTIME_DIR", Deno.makeTempDirSync({ prefix: "edgering-runtime-" }));
  } catch {
    // without env or write permission the warning stays; nothing else depends on it
  }
}
