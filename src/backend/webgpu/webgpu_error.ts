/**
 * The error type of the WebGPU backend: what was attempted and the offending value, with a kind callers
 * can branch on (e.g. `no_adapter` → fall back to the wasm backend).
 *
 * @example
 * ```ts
 * try {
 *   await createWebGpuBackend();
 * } catch (e) {
 *   if (e instanceof WebGpuError && e.kind === "no_adapter") useCpu();
 * }
 * ```
 */
export type WebGpuErrorKind =
  /** navigator.gpu is missing or no adapter (or only a refused fallback adapter) was found */
  | "no_adapter"
  /** f16 was required but the adapter lacks `shader-f16` */
  | "no_f16"
  /** a buffer would exceed the adapter's maxStorageBufferBindingSize or maxBufferSize */
  | "too_large"
  /** a weight type without a GPU decoder, or a shape the kernels cannot take */
  | "unsupported"
  /** an argument out of range: lengths, token ids, slots, positions, aliasing of an output */
  | "bad_input"
  /** the GPU reported a validation or out-of-memory error, or the device was lost */
  | "gpu"
  /** the backend was used after dispose() */
  | "disposed";

/** A typed failure of the WebGPU backend. */
export class WebGpuError extends Error {
  override name = "WebGpuError";
  constructor(readonly kind: WebGpuErrorKind, message: string) {
    super(message);
  }
}
