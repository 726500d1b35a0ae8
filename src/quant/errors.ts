/**
 * The error type of the quantisation codecs: an unsupported type, or a value count / byte length that does
 * not fit the type's block geometry.
 *
 * @example
 * ```ts
 * try {
 *   quantize(GgmlType.Q4_0, new Float32Array(33));
 * } catch (e) {
 *   if (e instanceof QuantError) console.error(e.kind); // "bad_length"
 * }
 * ```
 */
export type QuantErrorKind =
  /** a type the codec cannot (de)quantise */
  | "unsupported_type"
  /** a value count that is not whole blocks, or too few bytes / too small an output for the count */
  | "bad_length";

/** A typed codec failure; the message names the type and the offending length. */
export class QuantError extends Error {
  readonly kind: QuantErrorKind;

  constructor(kind: QuantErrorKind, message: string) {
    super(message);
    this.name = "QuantError";
    this.kind = kind;
  }
}
