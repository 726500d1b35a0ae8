// @ts-self-types="./kernels_module.d.ts"
// The compiled kernels as a WebAssembly.Module, through a static source-phase import so that the bytes
// are part of the module graph (and of a `deno compile` binary). Plain JS because TypeScript does not
// parse `import source` yet; the types come from kernels_module.d.ts.
import source kernels from "../../../wasm/edgering_kernels.wasm";

export default kernels;
