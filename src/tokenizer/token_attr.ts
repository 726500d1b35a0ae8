/**
 * Token attributes (llama.cpp's `llama_token_attr` bits) and the GGUF token types they come from.
 */

/** Attribute bits of one token. */
export const TokenAttr = {
  UNDEFINED: 0,
  UNKNOWN: 1 << 0,
  UNUSED: 1 << 1,
  NORMAL: 1 << 2,
  CONTROL: 1 << 3,
  USER_DEFINED: 1 << 4,
  BYTE: 1 << 5,
  /** strip whitespace left of this token when it is split out of text */
  LSTRIP: 1 << 7,
  /** strip whitespace right of this token when it is split out of text */
  RSTRIP: 1 << 8,
} as const;

/** `tokenizer.ggml.token_type` values, as numbered in GGUF. */
export const GgufTokenType = {
  UNDEFINED: 0,
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

/** The attribute bits a GGUF token type stands for (unknown numbers read as UNDEFINED). */
export function attrFromTokenType(type: number): number {
  switch (type) {
    case GgufTokenType.NORMAL:
      return TokenAttr.NORMAL;
    case GgufTokenType.UNKNOWN:
      return TokenAttr.UNKNOWN;
    case GgufTokenType.CONTROL:
      return TokenAttr.CONTROL;
    case GgufTokenType.USER_DEFINED:
      return TokenAttr.USER_DEFINED;
    case GgufTokenType.UNUSED:
      return TokenAttr.UNUSED;
    case GgufTokenType.BYTE:
      return TokenAttr.BYTE;
    default:
      return TokenAttr.UNDEFINED;
  }
}

/** Tokens hidden from decoded text unless special tokens are rendered. */
export const ATTR_SPECIAL = TokenAttr.UNKNOWN | TokenAttr.CONTROL;
