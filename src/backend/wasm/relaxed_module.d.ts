/** wasm/relaxed_dot.wasm, compiled (not instantiated). */
declare const relaxed: WebAssembly.Module;
export default relaxed;
