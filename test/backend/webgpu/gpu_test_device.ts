/**
 * The GPU device the WebGPU tests share, probed once per test process: opening a device per test and
 * recompiling every pipeline on a software adapter would cost seconds each; pipelines are cached per
 * device, so sharing one keeps the suite fast.
 *
 * Software adapters are accepted (that is how this machine and CI run the backend). When no adapter at
 * all exists, `skipReason` says why and the tests register as ignored with that reason.
 *
 * @example
 * ```ts
 * const { device, skipReason } = await testGpu();
 * Deno.test({ name: "…", ignore: !device, fn: async () => { … } });
 * ```
 */
import { type GpuDevice, openGpuDevice } from "../../../src/backend/webgpu/gpu_device.ts";

/** The shared device, or the reason there is none. */
export interface TestGpu {
  readonly device?: GpuDevice;
  readonly skipReason?: string;
}

let probe: Promise<TestGpu> | undefined;

/** Opens (once) the device the tests share. */
export function testGpu(): Promise<TestGpu> {
  probe ??= openGpuDevice({ allowFallback: true }).then(
    (device) => ({ device }),
    (e) => ({ skipReason: `no WebGPU adapter: ${(e as Error).message}` }),
  );
  return probe;
}
