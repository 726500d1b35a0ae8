/**
 * Unicode general-category flags of a code point, as llama.cpp's pre-tokenizers see them.
 *
 * llama.cpp precomputes, for every code point, one category bit (\p{N}, \p{L}, \p{Z}, \p{M}, \p{P},
 * \p{S}, \p{C}; unassigned code points count as \p{C}) plus a White_Space bit. We derive the same bits
 * from the JS engine's Unicode property escapes and cache them per code point, so each code point is
 * classified once per process. The exact bit values matter: the regex-splitting fallback maps a code
 * point to a stand-in character by its category bit.
 */

/** \p{N} */
export const FLAG_NUMBER = 0x0002;
/** \p{L} */
export const FLAG_LETTER = 0x0004;
/** \p{Z} */
export const FLAG_SEPARATOR = 0x0008;
/** \p{M} */
export const FLAG_ACCENT_MARK = 0x0010;
/** \p{P} */
export const FLAG_PUNCTUATION = 0x0020;
/** \p{S} */
export const FLAG_SYMBOL = 0x0040;
/** \p{C}, unassigned code points included */
export const FLAG_CONTROL = 0x0080;
/** the category bits above */
export const MASK_CATEGORIES = 0x00fe;
/** Unicode White_Space (25 code points; \s in Python/Rust regex, not JS's \s, which adds U+FEFF) */
export const FLAG_WHITESPACE = 0x0100;

/** Flags of a position outside the text: no bit set, so every "is it X" test is false. */
export const FLAGS_NONE = 0;

/** Highest code point plus one. */
const MAX_CODEPOINTS = 0x110000;
/** Marks a cache entry as computed (a computed entry may legitimately have no category bit). */
const COMPUTED = 0x8000;

const CATEGORY_TESTS: ReadonlyArray<readonly [RegExp, number]> = [
  [/^\p{N}$/u, FLAG_NUMBER],
  [/^\p{L}$/u, FLAG_LETTER],
  [/^\p{Z}$/u, FLAG_SEPARATOR],
  [/^\p{M}$/u, FLAG_ACCENT_MARK],
  [/^\p{P}$/u, FLAG_PUNCTUATION],
  [/^\p{S}$/u, FLAG_SYMBOL],
  [/^\p{C}$/u, FLAG_CONTROL],
];
const WHITESPACE_TEST = /^\p{White_Space}$/u;

// 2 bytes per code point (2.2 MB), filled lazily: text only ever touches a small part of Unicode.
const cache = new Uint16Array(MAX_CODEPOINTS);

function compute(cpt: number): number {
  // Surrogate code points cannot stand alone in a well-formed string; llama.cpp classes them as \p{C}.
  if (cpt >= 0xd800 && cpt <= 0xdfff) return FLAG_CONTROL;
  const ch = String.fromCodePoint(cpt);
  let flags = 0;
  for (const [re, bit] of CATEGORY_TESTS) {
    if (re.test(ch)) {
      flags |= bit;
      break;
    }
  }
  if (WHITESPACE_TEST.test(ch)) flags |= FLAG_WHITESPACE;
  return flags;
}

/**
 * The flags of code point `cpt` (0 ≤ cpt < 0x110000).
 *
 * @example
 * ```ts
 * (codepointFlags(0x41) & FLAG_LETTER) !== 0; // true: "A"
 * (codepointFlags(0x3000) & FLAG_WHITESPACE) !== 0; // true: ideographic space
 * ```
 */
export function codepointFlags(cpt: number): number {
  if (cpt < 0 || cpt >= MAX_CODEPOINTS) return FLAG_CONTROL;
  const cached = cache[cpt];
  if (cached !== 0) return cached & ~COMPUTED;
  const flags = compute(cpt);
  cache[cpt] = flags | COMPUTED;
  return flags;
}

/** Lower-case mapping of one code point (the first code point of its lower-case form). */
export function toLowerCodepoint(cpt: number): number {
  if (cpt < 0x80) return cpt >= 0x41 && cpt <= 0x5a ? cpt + 32 : cpt;
  return String.fromCodePoint(cpt).toLowerCase().codePointAt(0) ?? cpt;
}

/** Splits a well-formed string into its code points. */
export function toCodepoints(text: string): Uint32Array {
  const out = new Uint32Array(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out[n++] = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        i++;
        continue;
      }
    }
    out[n++] = c;
  }
  return out.subarray(0, n);
}
