/**
 * The layer pipeline between nodes: the binary frames stages exchange, their codec and the stream framer.
 *
 * @module
 */
export * from "./frames.ts";
export * from "./frames_encode.ts";
export * from "./frames_decode.ts";
export * from "./frames_reader.ts";
