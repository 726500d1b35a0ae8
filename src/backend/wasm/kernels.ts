/**
 * Loading and instantiating the kernel modules, on the main thread and in every worker.
 *
 * wasm/edgering_kernels.wasm imports the shared memory (`env.memory`), eight integer-dot loops and the F32
 * product tiles (`relaxed.*`). With relaxed SIMD those come from wasm/relaxed_dot.wasm, instantiated on the
 * same memory; without it they are stubs that throw, and the host never sets the flag that would call them.
 *
 * @example
 * ```ts
 * const relaxed = await loadRelaxedModule(); // null when the engine lacks relaxed SIMD
 * const k = instantiateKernels(kernelsModule, relaxed, mem.memory);
 * k.run(descPtr, 0, 1);
 * ```
 */
import kernelsModule from "./kernels_module.ts";
import { WasmBackendError } from "./errors.ts";

export { kernelsModule };

/** The kernel instance's exports (wasm/src/*.rs `#[no_mangle]` functions). */
export interface KernelExports {
  /** runs thread `tid`'s share of the job at `desc`; 0 on success */
  run(desc: number, tid: number, nth: number): number;
  /** repacks GGUF Q4_0/Q8_0 rows from `src` to `dst`; returns 1 when some quant byte is −128 */
  repack_q(src: number, dst: number, rows: number, nb: number, quantBytes: number): number;
  /** bytes of one repacked Q4_0/Q8_0 row */
  repacked_row_bytes(nb: number, quantBytes: number): number;
  /** count of f16 values with an all-ones exponent (inf/NaN) */
  f16_nonfinite(ptr: number, count: number): number;
  /** read-only pass over `bytes` at `ptr` (bandwidth probe); returns a checksum */
  probe_sum(ptr: number, bytes: number): number;
  /** this instance's shadow-stack pointer (grows down) */
  __stack_pointer: WebAssembly.Global;
  /** first byte after the kernels' static area */
  __heap_base: WebAssembly.Global;
}

/** Names of the integer-dot loops the kernels import from module `relaxed`. */
export const RELAXED_FUNCTIONS = [
  "q4_0_1",
  "q4_0_4",
  "q8_0_1",
  "q8_0_4",
  "q4_k_1",
  "q4_k_4",
  "q6_k_1",
  "q6_k_4",
  "f32_rows",
] as const;

/**
 * `(module (func (param v128) (result v128) (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get 0)
 * (local.get 0) (local.get 0))))`: validates only where the engine has relaxed SIMD.
 */
const RELAXED_PROBE = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00,
  0x01,
  0x06,
  0x01,
  0x60,
  0x01,
  0x7b,
  0x01,
  0x7b,
  0x03,
  0x02,
  0x01,
  0x00,
  0x0a,
  0x0d,
  0x01,
  0x0b,
  0x00,
  0x20,
  0x00,
  0x20,
  0x00,
  0x20,
  0x00,
  0xfd,
  0x93,
  0x02,
  0x0b,
]);

/** True when this engine accepts `i32x4.relaxed_dot_i8x16_i7x16_add_s`. */
export function relaxedSimdSupported(): boolean {
  return WebAssembly.validate(RELAXED_PROBE);
}

/** The compiled relaxed-SIMD module, or null when the engine cannot run it. */
export async function loadRelaxedModule(): Promise<WebAssembly.Module | null> {
  if (!relaxedSimdSupported()) return null;
  return (await import("./relaxed_module.ts")).default;
}

/** Instantiates the kernels (and the relaxed loops, when given) on `memory`. */
export function instantiateKernels(
  kernels: WebAssembly.Module,
  relaxed: WebAssembly.Module | null,
  memory: WebAssembly.Memory,
): KernelExports {
  let relaxedImports: WebAssembly.ModuleImports;
  if (relaxed !== null) {
    relaxedImports = new WebAssembly.Instance(relaxed, { env: { memory } })
      .exports as WebAssembly.ModuleImports;
  } else {
    relaxedImports = {};
    for (const name of RELAXED_FUNCTIONS) {
      relaxedImports[name] = () => {
        throw new WasmBackendError(
          "kernel_failed",
          `relaxed-SIMD loop ${name} called on an engine without it`,
        );
      };
    }
  }
  const instance = new WebAssembly.Instance(kernels, { env: { memory }, relaxed: relaxedImports });
  return instance.exports as unknown as KernelExports;
}
