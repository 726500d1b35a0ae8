/** wasm/edgering_kernels.wasm, compiled (not instantiated). */
declare const kernels: WebAssembly.Module;
export default kernels;
