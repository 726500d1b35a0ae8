/**
 * Byte-level BPE with ranked merges (`tokenizer.ggml.model = gpt2`), as llama.cpp's
 * llm_tokenizer_bpe does it, one pre-tokenized word at a time.
 *
 * A word arrives as GPT-2 byte characters (one per UTF-8 byte). Adjacent symbol pairs listed in
 * `tokenizer.ggml.merges` are candidates; the lowest-ranked merges first (ties: leftmost), stale
 * candidates (a side has changed since) are skipped when popped. Each final symbol is its token; one
 * that is not a token falls back to its single byte characters (llama.cpp drops the ones that are not
 * tokens either; so do we).
 */
import { MinHeap } from "./min_heap.ts";
import type { Vocab } from "./vocab.ts";

interface Bigram {
  readonly left: number;
  readonly right: number;
  readonly rank: number;
  /** lengths of both sides when queued: a side whose length changed has become different text */
  readonly leftLen: number;
  readonly rightLen: number;
}

const before = (a: Bigram, b: Bigram) => a.rank < b.rank || (a.rank === b.rank && a.left < b.left);

/**
 * Appends the tokens of one byte-character word to `out`.
 *
 * @example
 * ```ts
 * const out: number[] = [];
 * encodeBpeWord(vocab, "ĠHello", false, out); // [18435] with gpt-2
 * ```
 */
export function encodeBpeWord(vocab: Vocab, word: string, ignoreMerges: boolean, out: number[]): void {
  if (word.length === 0) return;
  if (ignoreMerges) {
    const whole = vocab.tokenToId.get(word);
    if (whole !== undefined) {
      out.push(whole);
      return;
    }
  }
  // Symbols: byte characters are single UTF-16 units (U+0021..U+0143), so symbol i starts at index i.
  const count = word.length;
  const len = new Int32Array(count).fill(1);
  const ids = new Int32Array(count); // token id of each symbol, -1 when its text is not a token
  for (let i = 0; i < count; i++) ids[i] = vocab.tokenToId.get(word[i]) ?? -1;
  const prev = Int32Array.from({ length: count }, (_, i) => i - 1);
  const next = Int32Array.from({ length: count }, (_, i) => (i + 1 < count ? i + 1 : -1));
  const textOf = (i: number) => word.slice(i, i + len[i]);
  const merges = vocab.merges;

  const queue = new MinHeap<Bigram>(before);
  const tryAdd = (left: number, right: number) => {
    if (left < 0 || right < 0) return;
    const rank = ids[left] >= 0 && ids[right] >= 0
      ? merges.rankOfIds(ids[left], ids[right])
      : merges.rankOfTexts(textOf(left), textOf(right));
    if (rank === undefined) return;
    queue.push({ left, right, rank, leftLen: len[left], rightLen: len[right] });
  };
  for (let i = 1; i < count; i++) tryAdd(i - 1, i);

  for (let b = queue.pop(); b !== undefined; b = queue.pop()) {
    if (len[b.left] !== b.leftLen || len[b.right] !== b.rightLen) continue;
    len[b.left] += len[b.right];
    len[b.right] = 0;
    ids[b.left] = merges.resultId(b.rank);
    next[b.left] = next[b.right];
    if (next[b.right] >= 0) prev[next[b.right]] = b.left;
    tryAdd(prev[b.left], b.left);
    tryAdd(b.left, next[b.left]);
  }

  for (let i = 0; i !== -1; i = next[i]) {
    if (ids[i] >= 0) {
      out.push(ids[i]);
      continue;
    }
    for (const ch of textOf(i)) {
      const byteId = vocab.tokenToId.get(ch);
      if (byteId !== undefined) out.push(byteId);
    }
  }
}
