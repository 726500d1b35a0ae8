/**
 * Incremental detokenization for streaming: tokens in, complete UTF-8 text out.
 *
 * A character can be split across tokens (byte-fallback tokens, byte-level BPE pieces of an emoji);
 * `push` returns only the text whose bytes are complete and holds the partial character until the
 * bytes that finish it arrive. Bytes that can never form a character come out as U+FFFD, like any
 * lenient UTF-8 decoder. `flush` ends the stream and returns what is left (an unfinished character
 * becomes U+FFFD); the decoder can then be reused.
 *
 * Unlike `Tokenizer.decode`, no leading space is stripped: a stream decodes the continuation of a
 * prompt, where a word's leading space is real text.
 *
 * @example
 * ```ts
 * const stream = tokenizer.createStreamDecoder();
 * let text = "";
 * for (const id of ids) text += stream.push(id);
 * text += stream.flush();
 * ```
 */
import type { TokenPieces } from "./token_pieces.ts";
import { ATTR_SPECIAL } from "./token_attr.ts";
import { TokenizerError } from "./tokenizer_error.ts";

/** Options of a stream decoder. */
export interface StreamDecoderOptions {
  /** leave control and unknown tokens out of the text (default true) */
  readonly skipSpecial?: boolean;
}

/** Turns a stream of token ids into text, one token at a time. */
export class StreamDecoder {
  private readonly utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  private readonly skipSpecial: boolean;

  constructor(
    private readonly pieces: TokenPieces,
    private readonly attrs: Uint16Array,
    options: StreamDecoderOptions = {},
  ) {
    this.skipSpecial = options.skipSpecial ?? true;
  }

  /** Adds token `id`; returns the text completed by it (possibly ""). */
  push(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.attrs.length) {
      throw new TokenizerError(
        "bad-token-id",
        `token id ${id} is outside the vocabulary of ${this.attrs.length}`,
      );
    }
    if (this.skipSpecial && (this.attrs[id] & ATTR_SPECIAL)) return "";
    return this.utf8.decode(this.pieces.bytes(id), { stream: true });
  }

  /** Ends the stream: returns held bytes (as U+FFFD if they never completed a character). */
  flush(): string {
    return this.utf8.decode();
  }
}
