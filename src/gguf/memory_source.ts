/**
 * A `ByteSource` over bytes already in memory: the in-memory twin of the file and HTTP sources, used by
 * tests, by the fuzz test and for GGUF files built on the fly with `encodeGguf`.
 *
 * @example
 * ```ts
 * const file = await GgufFile.open(memorySource(encodeGguf(spec)));
 * ```
 */
import type { ByteSource } from "./byte_source.ts";
import { GgufError } from "./errors.ts";

/** Checks a read request against a source of `size` bytes; shared by every source. */
export function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new GgufError("io", `${name}: invalid read of ${length} bytes at offset ${offset}`);
  }
  if (offset + length > size) {
    throw new GgufError(
      "truncated",
      `${name}: read of ${length} bytes at offset ${offset} passes the end (${size} bytes)`,
      {
        offset,
      },
    );
  }
}

/** A byte source reading from `bytes`; `read` returns copies, so callers may keep or modify them. */
export function memorySource(
  bytes: Uint8Array,
  name = "memory",
): ByteSource & { readonly bytesRead: number } {
  let closed = false;
  let bytesRead = 0;
  return {
    size: bytes.length,
    name,
    get bytesRead() {
      return bytesRead;
    },
    read(offset: number, length: number): Promise<Uint8Array> {
      try {
        if (closed) throw new GgufError("io", `${name}: read after close`);
        checkRange(name, bytes.length, offset, length);
      } catch (e) {
        return Promise.reject(e);
      }
      bytesRead += length;
      return Promise.resolve(bytes.slice(offset, offset + length));
    },
    close() {
      closed = true;
    },
  };
}
