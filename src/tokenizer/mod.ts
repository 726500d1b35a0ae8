/**
 * Tokenizers built from GGUF metadata: SentencePiece-style ("llama") and byte-level BPE ("gpt2") with
 * llama.cpp's pre-tokenizers, plus a streaming detokenizer.
 *
 * @example
 * ```ts
 * import { Tokenizer } from "./src/tokenizer/mod.ts";
 * const tok = Tokenizer.fromMetadata(file.header.metadata);
 * const ids = tok.encode("Hello world");
 * const stream = tok.createStreamDecoder();
 * for (const id of ids) console.log(stream.push(id));
 * ```
 */
export { type DecodeOptions, type EncodeOptions, Tokenizer, WORD_CACHE_LIMIT } from "./tokenizer.ts";
export { StreamDecoder, type StreamDecoderOptions } from "./stream_decoder.ts";
export { TokenizerError, type TokenizerErrorKind } from "./tokenizer_error.ts";
export { SUPPORTED_PRE_TOKENIZERS } from "./pre_tokenizer.ts";
export { NO_TOKEN } from "./vocab.ts";
