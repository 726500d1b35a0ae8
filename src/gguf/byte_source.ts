/**
 * Random-access bytes: a local file or an HTTP(S) URL read with Range requests. The GGUF reader and
 * tensor loader only ever ask for byte ranges, so a node holding layers 10–19 reads only those tensors.
 */
export interface ByteSource {
  /** total size in bytes */
  readonly size: number;
  /** human-readable origin (path or URL), used in error messages */
  readonly name: string;
  /** Reads exactly `length` bytes at `offset`; throws GgufError("truncated") past the end. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Optional: fills `into` with the bytes at `offset` (no allocation), with {@link read}'s errors. */
  readInto?(offset: number, into: Uint8Array): Promise<void>;
  close(): void;
}
