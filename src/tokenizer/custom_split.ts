/**
 * Hand-written equivalents of the two most common pre-tokenizer regexes, as llama.cpp runs them.
 *
 * llama.cpp does not run the GPT-2 and Llama-3 regexes through a regex engine: it walks the code points
 * with their category flags. Those walks are the reference the test fixtures were checked against, so we
 * reproduce them step for step (including their corner cases, e.g. `\s+(?!\S)` giving back exactly one
 * whitespace before a non-space, and `'s` contractions being case-sensitive for GPT-2 only).
 *
 * Both functions split the code points `[start, end)` of one segment and append the lengths (in code
 * points) of the pieces to `out`; the pieces cover the segment exactly.
 */
import { FLAG_LETTER, FLAG_NUMBER, FLAG_WHITESPACE, FLAGS_NONE, toLowerCodepoint } from "./unicode_flags.ts";

/** Code point value standing for "outside the segment". */
const OUT_OF_RANGE = -1;
const APOSTROPHE = 0x27;
const SPACE = 0x20;
const CR = 0x0d;
const LF = 0x0a;

/** GPT-2's `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`. */
export const GPT2_REGEX = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`;

/** Llama-3's regex (case-insensitive contractions, digits in groups of at most 3), two spellings. */
export const LLAMA3_REGEXES: readonly string[] = [
  String
    .raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
  String
    .raw`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
];

/** A view of one segment: code point and flags by absolute position, "none" outside the segment. */
class Segment {
  constructor(
    private readonly cpts: Uint32Array,
    private readonly flags: Uint16Array,
    readonly start: number,
    readonly end: number,
  ) {}
  cpt(pos: number): number {
    return pos >= this.start && pos < this.end ? this.cpts[pos] : OUT_OF_RANGE;
  }
  flag(pos: number): number {
    return pos >= this.start && pos < this.end ? this.flags[pos] : FLAGS_NONE;
  }
}

/** Emits pieces as positions advance: `cut(end)` closes the piece that began at the previous cut. */
class Cutter {
  private prev: number;
  constructor(start: number, private readonly out: number[]) {
    this.prev = start;
  }
  cut(end: number): number {
    const len = end - this.prev;
    if (len > 0) this.out.push(len);
    this.prev = end;
    return len;
  }
}

/** True for code points that are neither whitespace, letter nor number, and inside the segment. */
function isOther(f: number): boolean {
  return (f & (FLAG_WHITESPACE | FLAG_LETTER | FLAG_NUMBER)) === 0 && f !== FLAGS_NONE;
}

/** Contraction length (2 or 3) at `pos`, or 0; `lower` folds case for the Llama-3 variant. */
function contraction(seg: Segment, pos: number, lower: boolean): number {
  if (seg.cpt(pos) !== APOSTROPHE || pos + 1 >= seg.end) return 0;
  const fold = (c: number) => (lower && c >= 0 ? toLowerCodepoint(c) : c);
  const a = fold(seg.cpt(pos + 1));
  if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) return 2; // s t m d
  if (pos + 2 < seg.end) {
    const b = fold(seg.cpt(pos + 2));
    if ((a === 0x72 && b === 0x65) || (a === 0x76 && b === 0x65) || (a === 0x6c && b === 0x6c)) return 3; // re ve ll
  }
  return 0;
}

/** Splits `[start, end)` the way llama.cpp's GPT-2 walk does. */
export function splitGpt2(
  cpts: Uint32Array,
  flags: Uint16Array,
  start: number,
  end: number,
  out: number[],
): void {
  const seg = new Segment(cpts, flags, start, end);
  const cutter = new Cutter(start, out);
  let pos = start;
  while (pos < end) {
    const cpt = seg.cpt(pos);
    const f = seg.flag(pos);
    const c = contraction(seg, pos, false);
    if (c > 0) {
      pos += cutter.cut(pos + c);
      continue;
    }
    // " ?X+" patterns look through one leading space.
    let f2 = cpt === SPACE ? seg.flag(pos + 1) : f;
    if (f2 & FLAG_LETTER) {
      if (cpt === SPACE) pos++;
      while (f2 & FLAG_LETTER) f2 = seg.flag(++pos);
      cutter.cut(pos);
      continue;
    }
    if (f2 & FLAG_NUMBER) {
      if (cpt === SPACE) pos++;
      while (f2 & FLAG_NUMBER) f2 = seg.flag(++pos);
      cutter.cut(pos);
      continue;
    }
    if (isOther(f2)) {
      if (cpt === SPACE) pos++;
      while (isOther(f2)) f2 = seg.flag(++pos);
      cutter.cut(pos);
      continue;
    }
    let spaces = 0;
    while (seg.flag(pos + spaces) & FLAG_WHITESPACE) spaces++;
    if (spaces > 1 && seg.cpt(pos + spaces) !== OUT_OF_RANGE) {
      // \s+(?!\S): leave the last whitespace to prefix the next word
      pos += spaces - 1;
      cutter.cut(pos);
      continue;
    }
    if (spaces > 0) {
      pos += spaces;
      cutter.cut(pos);
      continue;
    }
    cutter.cut(++pos);
  }
}

/** Splits `[start, end)` the way llama.cpp's Llama-3 walk does. */
export function splitLlama3(
  cpts: Uint32Array,
  flags: Uint16Array,
  start: number,
  end: number,
  out: number[],
): void {
  const seg = new Segment(cpts, flags, start, end);
  const cutter = new Cutter(start, out);
  let pos = start;
  while (pos < end) {
    const cpt = seg.cpt(pos);
    const f = seg.flag(pos);
    const c = contraction(seg, pos, true);
    if (c > 0) {
      pos += cutter.cut(pos + c);
      continue;
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (!(cpt === CR || cpt === LF || (f & FLAG_NUMBER))) {
      if ((f & FLAG_LETTER) || (seg.flag(pos + 1) & FLAG_LETTER)) {
        pos++;
        while (seg.flag(pos) & FLAG_LETTER) pos++;
        cutter.cut(pos);
        continue;
      }
    }
    // \p{N}{1,3}
    if (f & FLAG_NUMBER) {
      let ini = pos;
      while (seg.flag(pos) & FLAG_NUMBER) {
        if (++pos - ini >= 3) {
          cutter.cut(pos);
          ini = pos;
        }
      }
      cutter.cut(pos);
      continue;
    }
    // " ?[^\s\p{L}\p{N}]+[\r\n]*" (llama.cpp tests the unshifted flags for "inside the segment")
    let f2 = cpt === SPACE ? seg.flag(pos + 1) : f;
    if ((f2 & (FLAG_WHITESPACE | FLAG_LETTER | FLAG_NUMBER)) === 0 && f !== FLAGS_NONE) {
      if (cpt === SPACE) pos++;
      while (isOther(f2)) f2 = seg.flag(++pos);
      let c2 = seg.cpt(pos);
      while (c2 === CR || c2 === LF) c2 = seg.cpt(++pos);
      cutter.cut(pos);
      continue;
    }
    let spaces = 0;
    let lastNewlineEnd = 0;
    while (seg.flag(pos + spaces) & FLAG_WHITESPACE) {
      const c2 = seg.cpt(pos + spaces);
      if (c2 === CR || c2 === LF) lastNewlineEnd = pos + spaces + 1;
      spaces++;
    }
    // \s*[\r\n]+
    if (lastNewlineEnd > 0) {
      pos = lastNewlineEnd;
      cutter.cut(pos);
      continue;
    }
    if (spaces > 1 && seg.cpt(pos + spaces) !== OUT_OF_RANGE) {
      pos += spaces - 1;
      cutter.cut(pos);
      continue;
    }
    if (spaces > 0) {
      pos += spaces;
      cutter.cut(pos);
      continue;
    }
    cutter.cut(++pos);
  }
}
