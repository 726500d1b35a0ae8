/**
 * Errors of the wasm backend. Index errors (token ids, KV placements) are `RangeError`s, as in the
 * reference backend; everything else is a {@link WasmBackendError} with a kind.
 *
 * @example
 * ```ts
 * try {
 *   backend.alloc(2 ** 31);
 * } catch (e) {
 *   if (e instanceof WasmBackendError && e.kind === "out_of_memory") console.error(e.message);
 * }
 * ```
 */
export type WasmBackendErrorKind =
  /** linear memory would pass wasm32's 4 GiB */
  | "out_of_memory"
  /** shapes or sizes that do not fit the op */
  | "bad_argument"
  /** a kernel trapped or reported failure (a bug, not an input error) */
  | "kernel_failed"
  /** the backend was used after dispose() */
  | "disposed"
  /** the engine lacks a required feature (shared memory, SIMD) */
  | "unsupported";

/** A failure of the wasm backend; `kind` says which. */
export class WasmBackendError extends Error {
  override name = "WasmBackendError";
  constructor(readonly kind: WasmBackendErrorKind, message: string) {
    super(message);
  }
}
