/**
 * GGUF: parse headers, read tensors by byte range from files or URLs, write files.
 *
 * @example
 * ```ts
 * import { openGguf } from "./src/gguf/mod.ts";
 * const gguf = await openGguf("../shared/models/stories260K.gguf");
 * const w = await gguf.readTensorF32("blk.0.attn_q.weight");
 * ```
 */
export type { ByteSource } from "./byte_source.ts";
export * from "./types.ts";
export * from "./errors.ts";
export * from "./reader.ts";
export * from "./memory_source.ts";
export * from "./file_source.ts";
export * from "./http_source.ts";
export * from "./gguf_file.ts";
export * from "./kv.ts";
export * from "./writer.ts";
export * from "./metadata_reader.ts";
