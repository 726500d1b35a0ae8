/**
 * The bytes each token stands for when decoding, as llama.cpp's token_to_piece computes them.
 *
 * - control, unknown and user-defined tokens: their text as written in the vocabulary;
 * - normal tokens: SPM turns ▁ back into spaces; byte-level BPE maps each byte character to its byte;
 * - byte tokens `<0xNN>`: the byte NN;
 * - unused/undefined tokens: nothing.
 *
 * Pieces are computed on first use and cached: a 150k vocabulary costs nothing until tokens are decoded.
 */
import { byteCharsToBytes } from "./byte_unicode.ts";
import { TokenAttr } from "./token_attr.ts";
import type { Vocab } from "./vocab.ts";

const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();
const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/** Lazily computed pieces of one vocabulary. */
export class TokenPieces {
  private readonly cache: (Uint8Array | undefined)[];
  constructor(private readonly vocab: Vocab) {
    this.cache = new Array(vocab.tokens.length);
  }

  /** The bytes of token `id` with special tokens rendered as their text (id must be in range). */
  bytes(id: number): Uint8Array {
    let piece = this.cache[id];
    if (piece === undefined) {
      piece = this.compute(id);
      this.cache[id] = piece;
    }
    return piece;
  }

  private compute(id: number): Uint8Array {
    const attr = this.vocab.attrs[id];
    const text = this.vocab.tokens[id];
    if (attr & (TokenAttr.CONTROL | TokenAttr.UNKNOWN | TokenAttr.USER_DEFINED)) return utf8.encode(text);
    if (attr & TokenAttr.NORMAL) {
      return this.vocab.model === "llama"
        ? utf8.encode(text.replaceAll("\u2581", " "))
        : byteCharsToBytes(text);
    }
    if (attr & TokenAttr.BYTE) {
      const m = BYTE_TOKEN.exec(text);
      return m ? Uint8Array.of(parseInt(m[1], 16)) : utf8.encode(text);
    }
    return EMPTY;
  }
}

/**
 * llama.cpp's clean_up_tokenization_spaces: drops the space in " ?", " !", " .", " ,", around a lone
 * " ' ", and before the contractions 's 'm 're 've. Only ASCII is involved, so working on UTF-16 units
 * is the same as llama.cpp working on bytes.
 *
 * @example
 * ```ts
 * cleanUpSpaces("Hello , world . It 's"); // "Hello, world. It's"
 * ```
 */
export function cleanUpSpaces(input: string): string {
  let text = input.split("");
  // pass 1: " ?" " !" " ." " ,"
  let out: string[] = text.length ? [text[0]] : [];
  for (let i = 1; i < text.length; i++) {
    const x = text[i];
    if (text[i - 1] === " " && (x === "?" || x === "!" || x === "." || x === ",")) out.pop();
    out.push(x);
  }
  // pass 2: a single apostrophe between spaces loses both spaces
  text = out;
  out = text.length ? [text[0]] : [];
  for (let i = 1; i < text.length; i++) {
    const x = text[i];
    if (x === "'" && i + 1 < text.length && text[i - 1] === " " && text[i + 1] === " ") {
      out.pop();
      text[++i] = "\0"; // the space after is skipped, and hides this position from the next match
    }
    out.push(x);
  }
  // pass 3: " 's" " 'm" " 're" " 've"
  text = out;
  out = text.length ? [text[0]] : [];
  for (let i = 1; i < text.length; i++) {
    const x = text[i];
    if (text[i - 1] === " " && x === "'" && i + 1 < text.length) {
      const x1 = text[i + 1];
      const x2 = i + 2 < text.length ? text[i + 2] : "";
      if (x1 === "s" || x1 === "m" || ((x1 === "r" || x1 === "v") && x2 === "e")) out.pop();
    }
    out.push(x);
  }
  return out.join("");
}
