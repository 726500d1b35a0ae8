/**
 * GPT-2's reversible byte ↔ character mapping for byte-level BPE.
 *
 * Byte-level vocabularies store tokens as strings of "byte characters": every byte 0–255 is shown as one
 * printable code point, so a token's text never holds raw spaces or control bytes. Printable Latin-1
 * bytes (`!`..`~`, `¡`..`¬`, `®`..`ÿ`) stand for themselves; the other 68 bytes, in increasing order, map
 * to U+0100, U+0101, …  (so a space, byte 0x20, is `Ġ` U+0120 and a newline is `Ċ` U+010A).
 *
 * @example
 * ```ts
 * BYTE_TO_CHAR[0x20]; // "Ġ"
 * CHAR_TO_BYTE.get("Ġ"); // 32
 * ```
 */

function buildByteToChar(): readonly string[] {
  const chars: string[] = new Array(256);
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    chars[b] = String.fromCharCode(printable(b) ? b : 256 + next++);
  }
  return chars;
}

/** `BYTE_TO_CHAR[b]` is the one-code-unit string standing for byte `b`. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** Inverse of `BYTE_TO_CHAR`. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** Byte values by char code, -1 where the code unit stands for no byte (all codes are < 0x144). */
const CODE_TO_BYTE: Int16Array = (() => {
  const table = new Int16Array(0x144).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => table[c.charCodeAt(0)] = b);
  return table;
})();

/** Encodes UTF-8 bytes as a byte-character string. */
export function bytesToByteChars(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

/**
 * Decodes a byte-character string back to bytes. A code point that stands for no byte (only possible in
 * a malformed vocabulary) is kept as its own UTF-8 bytes, so nothing is silently lost.
 */
export function byteCharsToBytes(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    const b = code < CODE_TO_BYTE.length ? CODE_TO_BYTE[code] : -1;
    if (b >= 0) out.push(b);
    else for (const x of new TextEncoder().encode(ch)) out.push(x);
  }
  return Uint8Array.from(out);
}
