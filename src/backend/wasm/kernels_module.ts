/**
 * The compiled kernels (wasm/edgering_kernels.wasm) as a WebAssembly.Module. The bytes come from a
 * generated TypeScript module, so they are part of the static module graph (and of a `deno compile`
 * binary or a `deno bundle` output) and nothing is read from disk at run time.
 */
import { KERNELS_WASM_BASE64 } from "./wasm_bytes.ts";

/** Decodes base64 to bytes. */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const kernelsModule: WebAssembly.Module = new WebAssembly.Module(decodeBase64(KERNELS_WASM_BASE64));
export default kernelsModule;
