/**
 * Splits raw text at occurrences of special tokens before the BPE/SPM pass, as llama.cpp's
 * tokenizer_st_partition does.
 *
 * Candidates are tried longest text first; each one is cut out of every remaining text fragment,
 * left to right. User-defined tokens are always cut out (Hugging Face treats added tokens that way);
 * control and unknown tokens only when `parseSpecial` is set. A token with the LSTRIP/RSTRIP attribute
 * also eats the ASCII whitespace next to it on that side.
 */
import { TokenAttr } from "./token_attr.ts";
import type { Vocab } from "./vocab.ts";

/** A piece of text still to tokenize, or a token id already decided. */
export type Fragment = string | number;

const isAsciiSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/**
 * Partitions `text` into text fragments and special token ids.
 *
 * @example
 * ```ts
 * partitionSpecial(vocab, "<s>Hi", true); // [1, "Hi"] with llama-spm
 * ```
 */
export function partitionSpecial(vocab: Vocab, text: string, parseSpecial: boolean): Fragment[] {
  if (text.length === 0) return [];
  let fragments: Fragment[] = [text];
  // Which UTF-16 units occur at all: most candidates can be skipped without a search.
  const present = new Uint8Array(0x10000);
  for (let i = 0; i < text.length; i++) present[text.charCodeAt(i)] = 1;

  for (const id of vocab.specialTokens) {
    const attr = vocab.attrs[id];
    if (!parseSpecial && (attr & (TokenAttr.CONTROL | TokenAttr.UNKNOWN))) continue;
    const needle = vocab.tokens[id];
    if (!present[needle.charCodeAt(0)]) continue;
    let changed = false;
    const next: Fragment[] = [];
    for (const fragment of fragments) {
      if (typeof fragment === "number" || !fragment.includes(needle)) {
        next.push(fragment);
        continue;
      }
      changed = true;
      let pos = 0;
      for (let at = fragment.indexOf(needle); at >= 0; at = fragment.indexOf(needle, pos)) {
        let leftEnd = at;
        if (attr & TokenAttr.LSTRIP) {
          while (leftEnd > pos && isAsciiSpace(fragment.charCodeAt(leftEnd - 1))) {
            leftEnd--;
          }
        }
        if (leftEnd > pos) next.push(fragment.slice(pos, leftEnd));
        next.push(id);
        pos = at + needle.length;
        if (attr & TokenAttr.RSTRIP) {
          while (pos < fragment.length && isAsciiSpace(fragment.charCodeAt(pos))) {
            pos++;
          }
        }
      }
      if (pos < fragment.length) next.push(fragment.slice(pos));
    }
    if (changed) fragments = next;
  }
  return fragments;
}
