// @ts-self-types="./relaxed_module.d.ts"
// The relaxed-SIMD integer loops as a WebAssembly.Module. Imported dynamically (with a literal specifier,
// so it still belongs to the module graph) and only after WebAssembly.validate has confirmed that this
// engine knows relaxed SIMD: on an engine without it, compiling this module would fail.
import source relaxed from "../../../wasm/relaxed_dot.wasm";

export default relaxed;
