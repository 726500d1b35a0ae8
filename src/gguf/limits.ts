/**
 * Limits of the GGUF reader (and writer), each with its reason. Every count and length in a file is checked
 * against these before anything is allocated, so a hostile file cannot make the reader allocate gigabytes.
 *
 * @example
 * ```ts
 * if (nameBytes > MAX_TENSOR_NAME_BYTES) throw new Error("tensor name too long");
 * ```
 */

/** "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
/** Alignment of the data section when `general.alignment` is absent, in bytes. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** Largest accepted `general.alignment`, in bytes: real files use 32; a larger value only wastes space. */
export const MAX_ALIGNMENT = 1 << 20;
/** Largest accepted string, in bytes: chat templates, the longest real strings, are ~100 KB. */
export const MAX_STRING_BYTES = 16 << 20;
/** Largest accepted key, in bytes (the GGUF spec's limit, 2^16 - 1). */
export const MAX_KEY_BYTES = 65535;
/** Largest accepted tensor name, in bytes (the GGUF spec's limit). */
export const MAX_TENSOR_NAME_BYTES = 64;
/** Largest accepted array, in elements: the biggest real arrays are vocabularies and merges (~10^6). */
export const MAX_ARRAY_LENGTH = 1 << 24;
/** Deepest accepted array nesting: real files nest at most once; the limit bounds recursion. */
export const MAX_ARRAY_DEPTH = 8;
/** Most tensors accepted: the largest real models have a few thousand. */
export const MAX_TENSOR_COUNT = 1 << 20;
/** Most metadata key/values accepted: real files have under a hundred. */
export const MAX_METADATA_COUNT = 1 << 16;
/** Most tensor dimensions (ggml's GGML_MAX_DIMS). */
export const MAX_DIMS = 4;
/** Largest accepted header, in bytes: big vocabularies make headers of ~10 MB; more is not a model. */
export const MAX_HEADER_BYTES = 256 << 20;
/** First header read, in bytes: covers the header of most models in one read. */
export const INITIAL_HEADER_READ_BYTES = 256 << 10;
