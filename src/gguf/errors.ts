/**
 * The one error type of the GGUF layer. Every malformed, truncated or hostile file, every failed read and
 * every wrong metadata lookup surfaces as a `GgufError` whose `kind` says which rule was broken, so callers
 * (the CLI, the model loader, the cluster) can translate it once at their edge.
 *
 * @example
 * ```ts
 * try {
 *   await openGguf("model.gguf");
 * } catch (e) {
 *   if (e instanceof GgufError && e.kind === "bad_magic") console.error("not a GGUF file");
 * }
 * ```
 */
export type GgufErrorKind =
  /** the first four bytes are not "GGUF" */
  | "bad_magic"
  /** a version other than 2 or 3 */
  | "unsupported_version"
  /** a big-endian GGUF file (version field byte-swapped); edgering reads little-endian only */
  | "big_endian"
  /** the file (or the bytes given) ends before a value it declares */
  | "truncated"
  /** a count (tensors, metadata, array length, dims) beyond a limit or beyond the bytes left */
  | "absurd_count"
  /** a string length beyond the string limit */
  | "absurd_string"
  /** the whole header is larger than the header limit */
  | "header_too_large"
  /** a metadata value type code outside the GGUF table */
  | "bad_value_type"
  /** a value that breaks its type's rules (bool byte not 0/1, arrays nested too deep, …) */
  | "bad_value"
  /** a tensor entry that breaks a rule (dims, name, row length not whole blocks, misaligned offset) */
  | "bad_tensor"
  /** two tensors with the same name */
  | "duplicate_tensor"
  /** tensor data reaching past the end of the file */
  | "tensor_out_of_bounds"
  /** a tensor type edgering cannot decode */
  | "unknown_tensor_type"
  /** `general.alignment` not a sane power of two, or not a u32 */
  | "bad_alignment"
  /** the same metadata key twice */
  | "duplicate_key"
  /** a metadata key looked up but absent */
  | "missing_key"
  /** a metadata key present with another type than asked for */
  | "wrong_type"
  /** a tensor looked up by a name the file does not have */
  | "missing_tensor"
  /** an HTTP server that answers Range requests with the whole body */
  | "range_unsupported"
  /** a failed read: file system or network error, or a closed source */
  | "io";

/** Options of a `GgufError`: the underlying cause and the byte offset where the problem was found. */
export interface GgufErrorOptions {
  readonly cause?: unknown;
  /** absolute byte offset in the file, when the error is about a place in it */
  readonly offset?: number;
}

/** A typed GGUF failure; `kind` names the broken rule, `message` what was attempted and the bad value. */
export class GgufError extends Error {
  readonly kind: GgufErrorKind;
  /** absolute byte offset in the file, when known */
  readonly offset?: number;

  constructor(kind: GgufErrorKind, message: string, options: GgufErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GgufError";
    this.kind = kind;
    if (options.offset !== undefined) this.offset = options.offset;
  }
}
