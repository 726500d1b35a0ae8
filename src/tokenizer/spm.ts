/**
 * SentencePiece-style BPE over token scores (`tokenizer.ggml.model = llama`), as llama.cpp's
 * llm_tokenizer_spm does it.
 *
 * The text (spaces already escaped to ▁) starts as one symbol per code point. Every adjacent pair whose
 * concatenation is a token is a candidate; the candidate whose token has the highest score merges first
 * (ties: leftmost). Merging creates new candidates with the neighbours; stale candidates (a side already
 * merged away) are skipped when popped. A final symbol that is not a token — a single character missing
 * from the vocabulary — is emitted as its UTF-8 bytes through the `<0xNN>` byte tokens.
 */
import { MinHeap } from "./min_heap.ts";
import { TokenizerError } from "./tokenizer_error.ts";
import { NO_TOKEN, type Vocab } from "./vocab.ts";

interface Bigram {
  readonly left: number;
  readonly right: number;
  readonly score: number;
  /** UTF-16 length of the merged text, to detect stale candidates */
  readonly size: number;
}

const before = (a: Bigram, b: Bigram) => a.score > b.score || (a.score === b.score && a.left < b.left);
const utf8 = new TextEncoder();

/** Token ids of the byte-fallback tokens, by byte value; built once per vocabulary. */
const byteTokenCache = new WeakMap<Vocab, Int32Array>();

function byteTokens(vocab: Vocab): Int32Array {
  let table = byteTokenCache.get(vocab);
  if (!table) {
    table = new Int32Array(256).fill(NO_TOKEN);
    for (let b = 0; b < 256; b++) {
      const hex = `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
      // Some vocabularies have the raw byte as a token instead of <0xNN>.
      table[b] = vocab.tokenToId.get(hex) ??
        (b < 0x80 ? vocab.tokenToId.get(String.fromCharCode(b)) : undefined) ??
        NO_TOKEN;
    }
    byteTokenCache.set(vocab, table);
  }
  return table;
}

/**
 * Appends the SPM tokens of `text` (already space-escaped) to `out`.
 *
 * @example
 * ```ts
 * const out: number[] = [];
 * encodeSpm(vocab, "▁Hello▁world", out); // out: [15043, 3186] with llama-spm
 * ```
 */
export function encodeSpm(vocab: Vocab, text: string, out: number[]): void {
  if (text.length === 0) return;
  // Symbols: [start, start+len) in UTF-16 units, linked as a list; len 0 = merged away.
  const start: number[] = [];
  const len: number[] = [];
  for (let i = 0; i < text.length;) {
    const c = text.charCodeAt(i);
    const n = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
    start.push(i);
    len.push(n);
    i += n;
  }
  const count = start.length;
  const prev = Int32Array.from({ length: count }, (_, i) => i - 1);
  const next = Int32Array.from({ length: count }, (_, i) => (i + 1 < count ? i + 1 : -1));

  const queue = new MinHeap<Bigram>(before);
  const tryAdd = (left: number, right: number) => {
    if (left < 0 || right < 0) return;
    const piece = text.slice(start[left], start[left] + len[left] + len[right]);
    const id = vocab.tokenToId.get(piece);
    if (id === undefined) return;
    queue.push({ left, right, score: vocab.scores[id], size: piece.length });
  };
  for (let i = 1; i < count; i++) tryAdd(i - 1, i);

  for (let b = queue.pop(); b !== undefined; b = queue.pop()) {
    if (len[b.left] === 0 || len[b.right] === 0 || len[b.left] + len[b.right] !== b.size) continue;
    len[b.left] += len[b.right];
    len[b.right] = 0;
    next[b.left] = next[b.right];
    if (next[b.right] >= 0) prev[next[b.right]] = b.left;
    tryAdd(prev[b.left], b.left);
    tryAdd(b.left, next[b.left]);
  }

  for (let i = 0; i !== -1; i = next[i]) {
    const piece = text.slice(start[i], start[i] + len[i]);
    const id = vocab.tokenToId.get(piece);
    if (id !== undefined) {
      out.push(id);
      continue;
    }
    const bytes = byteTokens(vocab);
    for (const b of utf8.encode(piece)) {
      const byteId = bytes[b] !== NO_TOKEN ? bytes[b] : vocab.unk;
      if (byteId === NO_TOKEN) {
        throw new TokenizerError(
          "bad-metadata",
          `cannot encode ${JSON.stringify(piece)}: no byte token <0x${
            b.toString(16).toUpperCase()
          }> and no unknown token`,
        );
      }
      out.push(byteId);
    }
  }
}
