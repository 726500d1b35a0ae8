/**
 * The one error type of the tokenizer: unsupported vocabularies or pre-tokenizers, broken metadata, and
 * token ids outside the vocabulary. The message names the offending key or value.
 *
 * @example
 * ```ts
 * try {
 *   Tokenizer.fromMetadata(meta);
 * } catch (e) {
 *   if (e instanceof TokenizerError) console.error(e.kind, e.message);
 * }
 * ```
 */

/** What went wrong, for callers that branch on it. */
export type TokenizerErrorKind =
  /** `tokenizer.ggml.model` names a vocabulary type edgering does not implement */
  | "unsupported-model"
  /** `tokenizer.ggml.pre` names a pre-tokenizer edgering does not implement */
  | "unsupported-pre-tokenizer"
  /** a tokenizer key is missing, has the wrong type, or is inconsistent */
  | "bad-metadata"
  /** a token id outside `[0, vocabSize)` was given to decode */
  | "bad-token-id";

/** A tokenizer failure; `kind` says which. */
export class TokenizerError extends Error {
  override name = "TokenizerError";
  constructor(readonly kind: TokenizerErrorKind, message: string) {
    super(message);
  }
}
