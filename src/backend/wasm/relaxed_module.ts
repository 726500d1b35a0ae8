/**
 * The relaxed-SIMD integer loops (wasm/relaxed_dot.wasm) as a WebAssembly.Module. Imported dynamically,
 * and only after WebAssembly.validate has confirmed that this engine knows relaxed SIMD: on an engine
 * without it, compiling this module would fail.
 */
import { decodeBase64 } from "./kernels_module.ts";
import { RELAXED_WASM_BASE64 } from "./wasm_bytes.ts";

const relaxedModule: WebAssembly.Module = new WebAssembly.Module(decodeBase64(RELAXED_WASM_BASE64));
export default relaxedModule;
