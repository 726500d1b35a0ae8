/**
 * The tokenizer of a GGUF model: text ↔ token ids, built from the file's `tokenizer.*` metadata.
 *
 * Two vocabulary types are supported, chosen by `tokenizer.ggml.model`: "llama" (SentencePiece-style
 * BPE over scores, spm.ts) and "gpt2" (byte-level BPE over ranked merges, bpe.ts, after the regex
 * pre-tokenizer named by `tokenizer.ggml.pre`). Encoding first cuts special tokens out of the text
 * (special_partition.ts), then runs the model on each remaining fragment — the same pipeline as
 * llama.cpp's llama_tokenize, whose outputs the test fixtures pin down.
 *
 * Decoding follows llama.cpp's llama_detokenize with two documented choices:
 * - the SPM space prefix: when the vocabulary adds a space before the text, the first token's piece
 *   loses one leading space (whatever that first token is, so a leading BOS "uses up" the strip and the
 *   space after it stays — exactly llama.cpp's behaviour);
 * - clean-up of spaces before punctuation (llama.cpp's `clean_spaces`) is off by default, so that
 *   decode(encode(text)) == text and `decode` agrees with the stream decoder; ask for it with
 *   `{ cleanSpaces: true }` to get llama.cpp's exact output for vocabularies that enable it.
 */
import { BYTE_TO_CHAR } from "./byte_unicode.ts";
import { encodeBpeWord } from "./bpe.ts";
import type { Metadata } from "./vocab.ts";
import { type CompiledSplit, compileSplit, splitWords } from "./regex_split.ts";
import { partitionSpecial } from "./special_partition.ts";
import { encodeSpm } from "./spm.ts";
import { StreamDecoder, type StreamDecoderOptions } from "./stream_decoder.ts";
import { ATTR_SPECIAL, TokenAttr } from "./token_attr.ts";
import { cleanUpSpaces, TokenPieces } from "./token_pieces.ts";
import { TokenizerError } from "./tokenizer_error.ts";
import { loadVocab, NO_TOKEN, type Vocab } from "./vocab.ts";

/** Options of `encode`. */
export interface EncodeOptions {
  /** put BOS first (default: the vocabulary's `addBos`) */
  readonly addBos?: boolean;
  /** put EOS last (default: the vocabulary's `addEos`, false for nearly all models) */
  readonly addEos?: boolean;
  /** turn control-token texts such as "<|im_end|>" into their ids (default false: plain text) */
  readonly parseSpecial?: boolean;
}

/** Options of `decode`. */
export interface DecodeOptions {
  /** leave control and unknown tokens (BOS, EOS, …) out of the text (default true) */
  readonly skipSpecial?: boolean;
  /** apply llama.cpp's clean-up of spaces before punctuation where the vocabulary enables it (default false) */
  readonly cleanSpaces?: boolean;
}

/** Most distinct words memoized by the BPE encoder before the memo is cleared (bounds memory). */
export const WORD_CACHE_LIMIT = 1 << 16;

const SPM_SPACE = "\u2581";

/** UTF-8 bytes of `word` as GPT-2 byte characters. */
function toByteChars(word: string): string {
  let out = "";
  for (let i = 0; i < word.length; i++) {
    let c = word.charCodeAt(i);
    if (c < 0x80) {
      out += BYTE_TO_CHAR[c];
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < word.length) {
      c = 0x10000 + ((c - 0xd800) << 10) + (word.charCodeAt(++i) - 0xdc00);
    }
    if (c < 0x800) {
      out += BYTE_TO_CHAR[0xc0 | (c >> 6)] + BYTE_TO_CHAR[0x80 | (c & 0x3f)];
    } else if (c < 0x10000) {
      out += BYTE_TO_CHAR[0xe0 | (c >> 12)] + BYTE_TO_CHAR[0x80 | ((c >> 6) & 0x3f)] +
        BYTE_TO_CHAR[0x80 | (c & 0x3f)];
    } else {
      out += BYTE_TO_CHAR[0xf0 | (c >> 18)] + BYTE_TO_CHAR[0x80 | ((c >> 12) & 0x3f)] +
        BYTE_TO_CHAR[0x80 | ((c >> 6) & 0x3f)] + BYTE_TO_CHAR[0x80 | (c & 0x3f)];
    }
  }
  return out;
}

/**
 * Text ↔ token ids for one vocabulary.
 *
 * @example
 * ```ts
 * const file = await openGguf("../shared/models/stories260K.gguf");
 * const tok = Tokenizer.fromMetadata(file.header.metadata);
 * tok.encode("Once upon a time"); // [1, 403, 407, 261, 378] (BOS added: the vocabulary asks for it)
 * tok.decode([403, 407, 261, 378]); // "Once upon a time"
 * ```
 */
export class Tokenizer {
  /** number of tokens (the logits width) */
  readonly vocabSize: number;
  /** beginning-of-sequence id; -1 when the vocabulary has none */
  readonly bosId: number;
  /** end-of-sequence id; -1 when the vocabulary has none */
  readonly eosId: number;
  /** end-of-turn id (chat models), when there is one */
  readonly eotId?: number;
  /** unknown-token id, when there is one */
  readonly unkId?: number;
  /** padding id, when there is one */
  readonly padId?: number;
  /** whether `encode` puts BOS first by default */
  readonly addBos: boolean;
  /** whether `encode` puts EOS last by default */
  readonly addEos: boolean;
  /** `tokenizer.ggml.model`: "llama" (SentencePiece) or "gpt2" (byte-level BPE) */
  readonly model: "llama" | "gpt2";
  /** the pre-tokenizer in use (byte-level BPE only) */
  readonly preTokenizer?: string;

  private readonly pieces: TokenPieces;
  private readonly splits: readonly CompiledSplit[];
  private readonly wordCache = new Map<string, readonly number[]>();

  private constructor(private readonly vocab: Vocab) {
    this.vocabSize = vocab.tokens.length;
    this.bosId = vocab.bos;
    this.eosId = vocab.eos;
    if (vocab.eot !== NO_TOKEN) this.eotId = vocab.eot;
    if (vocab.unk !== NO_TOKEN) this.unkId = vocab.unk;
    if (vocab.pad !== NO_TOKEN) this.padId = vocab.pad;
    this.addBos = vocab.addBos;
    this.addEos = vocab.addEos;
    this.model = vocab.model;
    this.preTokenizer = vocab.pre?.type;
    this.pieces = new TokenPieces(vocab);
    this.splits = (vocab.pre?.regexes ?? []).map(compileSplit);
  }

  /** Builds the tokenizer from a GGUF metadata map; throws TokenizerError on unsupported or broken metadata. */
  static fromMetadata(meta: Metadata): Tokenizer {
    return new Tokenizer(loadVocab(meta));
  }

  /** Token ids of `text`. Lone surrogates are encoded as U+FFFD. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const { vocab } = this;
    const addBos = options.addBos ?? vocab.addBos;
    const addEos = options.addEos ?? vocab.addEos;
    if (addBos && vocab.bos === NO_TOKEN) {
      throw new TokenizerError("bad-metadata", "BOS requested, but the vocabulary has none");
    }
    if (addEos && vocab.eos === NO_TOKEN) {
      throw new TokenizerError("bad-metadata", "EOS requested, but the vocabulary has none");
    }
    const out: number[] = [];
    if (addBos) out.push(vocab.bos);
    const fragments = partitionSpecial(vocab, text.toWellFormed(), options.parseSpecial ?? false);
    if (vocab.model === "llama") {
      // The space prefix goes before the text and again after every special token.
      let afterSpecial = true;
      for (const fragment of fragments) {
        if (typeof fragment === "number") {
          out.push(fragment);
          afterSpecial = true;
          continue;
        }
        const prefixed = vocab.addSpacePrefix && afterSpecial ? " " + fragment : fragment;
        encodeSpm(vocab, prefixed.replaceAll(" ", SPM_SPACE), out);
        afterSpecial = false;
      }
    } else {
      for (const fragment of fragments) {
        if (typeof fragment === "number") out.push(fragment);
        else this.encodeBpe(fragment, out);
      }
    }
    if (addEos) out.push(vocab.eos);
    return out;
  }

  private encodeBpe(text: string, out: number[]): void {
    const ignoreMerges = this.vocab.pre?.ignoreMerges ?? false;
    for (const word of splitWords(text, this.splits)) {
      let ids = this.wordCache.get(word);
      if (ids === undefined) {
        const fresh: number[] = [];
        encodeBpeWord(this.vocab, toByteChars(word), ignoreMerges, fresh);
        if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
        this.wordCache.set(word, fresh);
        ids = fresh;
      }
      for (const id of ids) out.push(id);
    }
  }

  /** Text of token ids (see the file comment for the leading-space and clean-up rules). */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const skipSpecial = options.skipSpecial ?? true;
    const parts: Uint8Array[] = [];
    let total = 0;
    let stripSpace = this.vocab.addSpacePrefix;
    for (const id of ids) {
      this.checkId(id);
      let piece = skipSpecial && (this.vocab.attrs[id] & ATTR_SPECIAL)
        ? new Uint8Array(0)
        : this.pieces.bytes(id);
      if (stripSpace && piece.length > 0 && piece[0] === 0x20) piece = piece.subarray(1);
      stripSpace = false;
      parts.push(piece);
      total += piece.length;
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    const text = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true }).decode(bytes);
    return options.cleanSpaces && this.vocab.cleanSpaces ? cleanUpSpaces(text) : text;
  }

  /** Raw bytes token `id` decodes to, special tokens rendered as their text. */
  tokenBytes(id: number): Uint8Array {
    this.checkId(id);
    return this.pieces.bytes(id).slice();
  }

  /** The token's text as stored in the vocabulary (e.g. "▁Hello", "ĠHello", "<0x0A>"). */
  tokenText(id: number): string {
    this.checkId(id);
    return this.vocab.tokens[id];
  }

  /** The id of a token by its vocabulary text (e.g. "<|im_end|>"), or undefined. */
  tokenId(text: string): number | undefined {
    return this.vocab.tokenToId.get(text);
  }

  /** Every end-of-generation token id (EOS, EOT and the like), e.g. for a GPU-side stop check. */
  get endOfGenerationIds(): readonly number[] {
    return [...this.vocab.eogIds];
  }

  /** True for tokens that end generation: EOS, EOT and the other end-of-turn tokens of the vocabulary. */
  isEndOfGeneration(id: number): boolean {
    return this.vocab.eogIds.has(id);
  }

  /** True for control tokens (BOS, EOS, chat markers), which decode to "" unless rendered. */
  isControl(id: number): boolean {
    return id >= 0 && id < this.vocabSize && (this.vocab.attrs[id] & TokenAttr.CONTROL) !== 0;
  }

  /** A fresh incremental decoder for a stream of generated tokens. */
  createStreamDecoder(options: StreamDecoderOptions = {}): StreamDecoder {
    return new StreamDecoder(this.pieces, this.vocab.attrs, options);
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new TokenizerError(
        "bad-token-id",
        `token id ${id} is outside the vocabulary of ${this.vocabSize}`,
      );
    }
  }
}
