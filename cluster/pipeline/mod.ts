/**
 * The layer pipeline between nodes: the binary frames stages exchange, and the stream framer.
 *
 * @module
 */
export * from "./frames.ts";
export * from "./frames_reader.ts";
