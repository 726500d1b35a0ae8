/**
 * The SIMD WebAssembly CPU backend (kernels built from wasm/ by wasm/build.sh).
 *
 * @example
 * ```ts
 * import { createWasmBackend } from "./src/backend/wasm/mod.ts";
 * const backend = await createWasmBackend({ threads: 2 });
 * console.log(backend.description); // "wasm simd128 + relaxed SIMD, 2 threads"
 * backend.dispose();
 * ```
 */
export { createWasmBackend, WasmBackend, type WasmBackendOptions } from "./wasm_backend.ts";
export { WasmBackendError, type WasmBackendErrorKind } from "./errors.ts";
export { relaxedSimdSupported } from "./kernels.ts";
