/**
 * Pre-tokenization: splits text into "words" with an ordered list of regexes, exactly as llama.cpp's
 * `unicode_regex_split` does.
 *
 * Each regex refines the current segmentation: inside every segment, each match becomes a piece and so
 * does every stretch between matches. Regexes are written in llama.cpp's dialect and run in one of three
 * ways, chosen the way llama.cpp chooses:
 *
 * 1. The GPT-2 and Llama-3 regexes run as hand-written walks (custom_split.ts).
 * 2. A regex using Unicode categories (`\p{L}` …) runs on a "collapsed" text: every non-ASCII code point
 *    is replaced by one stand-in character for its category (U+00D1 number, U+00D2 letter, U+00D3
 *    punctuation, U+00D4 mark, U+00D5 symbol, U+00D0 anything else, U+000B for whitespace), and each
 *    `\p{X}` becomes a class of that stand-in plus the category's ASCII members. The quirks of that trick
 *    (e.g. `~` is in no ASCII category map) are part of the behaviour the fixtures pin down.
 * 3. Any other regex runs on the code points, with non-ASCII whitespace replaced by U+000B and `\s`
 *    meaning ASCII whitespace, like C++'s std::wregex in the C locale.
 *
 * Pieces are measured in code points throughout.
 */
import { GPT2_REGEX, LLAMA3_REGEXES, splitGpt2, splitLlama3 } from "./custom_split.ts";
import { TokenizerError } from "./tokenizer_error.ts";
import {
  codepointFlags,
  FLAG_ACCENT_MARK,
  FLAG_LETTER,
  FLAG_NUMBER,
  FLAG_PUNCTUATION,
  FLAG_SYMBOL,
  FLAG_WHITESPACE,
  MASK_CATEGORIES,
  toCodepoints,
} from "./unicode_flags.ts";

/** Stand-in for a non-ASCII whitespace code point (vertical tab, which every `\s` matches). */
const WHITESPACE_STAND_IN = "\u000b";
/** Stand-in for a non-ASCII code point whose category has none of its own. */
const OTHER_STAND_IN = "\u00d0";

/** Per category: the stand-in character and the category's ASCII members as regex class source. */
const CATEGORY_CLASSES: ReadonlyMap<number, { readonly standIn: string; readonly ascii: string }> = new Map([
  [FLAG_NUMBER, { standIn: "\u00d1", ascii: "0-9" }],
  [FLAG_LETTER, { standIn: "\u00d2", ascii: "A-Za-z" }],
  [FLAG_PUNCTUATION, { standIn: "\u00d3", ascii: String.raw`!-#%-*,-/:-;?-@\[-\]_\{\}` }],
  [FLAG_ACCENT_MARK, { standIn: "\u00d4", ascii: "" }],
  [FLAG_SYMBOL, { standIn: "\u00d5", ascii: String.raw`\$\+<->^` + "`" + String.raw`\|` }],
]);

/** The `\p{…}` names llama.cpp knows, with the category each stands for (subcategories widen to L). */
const PROPERTY_CATEGORIES: ReadonlyMap<string, number> = new Map([
  ["N", FLAG_NUMBER],
  ["L", FLAG_LETTER],
  ["P", FLAG_PUNCTUATION],
  ["M", FLAG_ACCENT_MARK],
  ["S", FLAG_SYMBOL],
  ["Lu", FLAG_LETTER],
  ["Ll", FLAG_LETTER],
  ["Lt", FLAG_LETTER],
  ["Lm", FLAG_LETTER],
  ["Lo", FLAG_LETTER],
]);

const PROPERTY_RE = /\\p\{(N|L|P|M|S|Lu|Ll|Lt|Lm|Lo)\}/;

/** How one regex of a pre-tokenizer runs. */
export type CompiledSplit =
  | { readonly kind: "gpt2" }
  | { readonly kind: "llama3" }
  | { readonly kind: "collapsed"; readonly re: RegExp }
  | { readonly kind: "codepoints"; readonly re: RegExp };

/** Rewrites `\p{X}` into collapsed-text classes, tracking whether we are inside `[...]`. */
function collapseRegex(expr: string): string {
  for (const ch of expr) {
    if (ch.codePointAt(0)! >= 0x80) {
      throw new TokenizerError(
        "unsupported-pre-tokenizer",
        `pre-tokenizer regex mixes Unicode categories and non-ASCII characters: ${expr}`,
      );
    }
  }
  let out = "";
  let inside = false;
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i];
    if (ch === "[" && (i === 0 || expr[i - 1] !== "\\")) {
      out += "[";
      inside = true;
      continue;
    }
    if (inside && ch === "]" && expr[i - 1] !== "\\") {
      out += "]";
      inside = false;
      continue;
    }
    if (ch === "\\" && expr[i + 1] === "p" && expr[i + 2] === "{") {
      const close = expr.indexOf("}", i + 3);
      const category = close >= 0 ? PROPERTY_CATEGORIES.get(expr.slice(i + 3, close)) : undefined;
      if (category !== undefined) {
        const cls = CATEGORY_CLASSES.get(category)!;
        out += (inside ? "" : "[") + cls.standIn + cls.ascii + (inside ? "" : "]");
        i = close;
        continue;
      }
    }
    out += ch;
  }
  return out;
}

/** Rewrites `\s` / `\S` to ASCII whitespace only (std::wregex in the C locale). */
function asciiWhitespaceRegex(expr: string): string {
  let out = "";
  let inside = false;
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i];
    if (ch === "\\" && i + 1 < expr.length) {
      const next = expr[i + 1];
      if (next === "s") out += inside ? String.raw`\t-\r ` : String.raw`[\t-\r ]`;
      else if (next === "S" && !inside) out += String.raw`[^\t-\r ]`;
      else if (next === "S") {
        throw new TokenizerError(
          "unsupported-pre-tokenizer",
          `pre-tokenizer regex has \\S inside a class: ${expr}`,
        );
      } else out += ch + next;
      i++;
      continue;
    }
    if (ch === "[") inside = true;
    else if (ch === "]") inside = false;
    out += ch;
  }
  return out;
}

/** Compiles one regex of llama.cpp's dialect; throws TokenizerError when JS cannot run it. */
export function compileSplit(expr: string): CompiledSplit {
  if (expr === GPT2_REGEX) return { kind: "gpt2" };
  if (LLAMA3_REGEXES.includes(expr)) return { kind: "llama3" };
  try {
    if (PROPERTY_RE.test(expr)) return { kind: "collapsed", re: new RegExp(collapseRegex(expr), "g") };
    return { kind: "codepoints", re: new RegExp(asciiWhitespaceRegex(expr), "gu") };
  } catch (e) {
    if (e instanceof TokenizerError) throw e;
    throw new TokenizerError("unsupported-pre-tokenizer", `cannot compile pre-tokenizer regex ${expr}: ${e}`);
  }
}

/** The text in the forms the regex paths need, built once per call and only when needed. */
class SplitText {
  private collapsedText?: string;
  private codepointText?: { text: string; utf16ToCp: Int32Array; cpToUtf16: Int32Array };
  private flagArray?: Uint16Array;
  constructor(readonly cpts: Uint32Array) {}

  get flags(): Uint16Array {
    if (!this.flagArray) {
      const f = new Uint16Array(this.cpts.length);
      for (let i = 0; i < f.length; i++) f[i] = codepointFlags(this.cpts[i]);
      this.flagArray = f;
    }
    return this.flagArray;
  }

  /** One UTF-16 unit per code point, so string indices are code point indices. */
  get collapsed(): string {
    if (this.collapsedText === undefined) {
      const flags = this.flags;
      const parts: string[] = new Array(this.cpts.length);
      for (let i = 0; i < this.cpts.length; i++) {
        const c = this.cpts[i];
        if (c < 0x80) parts[i] = String.fromCharCode(c);
        else if (flags[i] & FLAG_WHITESPACE) parts[i] = WHITESPACE_STAND_IN;
        else parts[i] = CATEGORY_CLASSES.get(flags[i] & MASK_CATEGORIES)?.standIn ?? OTHER_STAND_IN;
      }
      this.collapsedText = parts.join("");
    }
    return this.collapsedText;
  }

  /** The code points as a string (non-ASCII whitespace → U+000B) with index maps both ways. */
  get codepoints(): { text: string; utf16ToCp: Int32Array; cpToUtf16: Int32Array } {
    if (!this.codepointText) {
      const n = this.cpts.length;
      const cpToUtf16 = new Int32Array(n + 1);
      const parts: string[] = new Array(n);
      let u = 0;
      for (let i = 0; i < n; i++) {
        const c = this.cpts[i];
        cpToUtf16[i] = u;
        parts[i] = c >= 0x80 && (this.flags[i] & FLAG_WHITESPACE)
          ? WHITESPACE_STAND_IN
          : String.fromCodePoint(c);
        u += parts[i].length;
      }
      cpToUtf16[n] = u;
      const utf16ToCp = new Int32Array(u + 1);
      for (let i = 0; i <= n; i++) utf16ToCp[cpToUtf16[i]] = i;
      this.codepointText = { text: parts.join(""), utf16ToCp, cpToUtf16 };
    }
    return this.codepointText;
  }
}

/** Runs a global regex over `[start, end)` of `text` and appends match and gap lengths to `out`. */
function splitByRegex(
  re: RegExp,
  text: string,
  start: number,
  end: number,
  toIndex: (utf16: number) => number,
  out: number[],
): void {
  const sub = text.slice(start, end);
  const base = toIndex(start);
  const last = toIndex(end) - base;
  re.lastIndex = 0;
  let prev = 0;
  for (let m = re.exec(sub); m !== null; m = re.exec(sub)) {
    if (m[0].length === 0) {
      re.lastIndex++; // empty matches carry no text; step over them
      continue;
    }
    const from = toIndex(start + m.index) - base;
    const to = toIndex(start + m.index + m[0].length) - base;
    if (from > prev) out.push(from - prev);
    out.push(to - from);
    prev = to;
  }
  if (prev < last) out.push(last - prev);
}

/**
 * Splits `text` into words with the compiled regexes, in order.
 *
 * @example
 * ```ts
 * splitWords("Hello world", [compileSplit(GPT2_REGEX)]); // ["Hello", " world"]
 * ```
 */
export function splitWords(text: string, splits: readonly CompiledSplit[]): string[] {
  const st = new SplitText(toCodepoints(text));
  const n = st.cpts.length;
  let offsets: number[] = n > 0 ? [n] : [];
  for (const split of splits) {
    const next: number[] = [];
    let start = 0;
    for (const len of offsets) {
      const end = start + len;
      switch (split.kind) {
        case "gpt2":
          splitGpt2(st.cpts, st.flags, start, end, next);
          break;
        case "llama3":
          splitLlama3(st.cpts, st.flags, start, end, next);
          break;
        case "collapsed":
          splitByRegex(split.re, st.collapsed, start, end, (i) => i, next);
          break;
        case "codepoints": {
          const cp = st.codepoints;
          splitByRegex(
            split.re,
            cp.text,
            cp.cpToUtf16[start],
            cp.cpToUtf16[end],
            (i) => cp.utf16ToCp[i],
            next,
          );
          break;
        }
      }
      start = end;
    }
    offsets = next;
  }
  // Cut the original text (not a stand-in form) at the piece boundaries.
  const words: string[] = new Array(offsets.length);
  let cp = 0;
  let u = 0;
  for (let w = 0; w < offsets.length; w++) {
    const from = u;
    for (let k = 0; k < offsets[w]; k++) u += st.cpts[cp++] > 0xffff ? 2 : 1;
    words[w] = text.slice(from, u);
  }
  return words;
}
