/**
 * Reassembles length-prefixed frames from a byte stream (a TCP connection's `readable`, or any async
 * iterable of chunks), where one chunk may hold part of a frame, several frames, or both.
 *
 * Bytes are appended to one growable buffer; a frame is decoded once all of its bytes are present.
 * The buffer stays within about twice `maxFrameBytes` plus one incoming chunk (it doubles when it
 * grows), because a length over the limit is rejected as soon as its 4 header bytes arrive. After a frame whose payload is malformed (or of an
 * unknown type) the reader has consumed exactly that frame, so the next `read()` continues in step; a
 * bad length or a stream that ends inside a frame leaves the stream unusable and every later `read()`
 * throws the same error.
 *
 * @example
 * ```ts
 * const reader = new FrameReader(conn.readable);
 * for (let frame = await reader.read(); frame; frame = await reader.read()) handle(frame);
 * ```
 *
 * @module
 */

import { decodeFramePayload, peekFrameHeader } from "./frames_decode.ts";
import { type Frame, FRAME_HEADER_BYTES, FRAME_MAX_BYTES, FrameError } from "./frames.ts";

/** Initial buffer size, bytes: enough for a decode-step FORWARD of a 4096-wide model in f16. */
const INITIAL_BUFFER_BYTES = 16 * 1024;

export interface FrameReaderOptions {
  /** largest frame accepted (type + payload), bytes; default FRAME_MAX_BYTES */
  readonly maxFrameBytes?: number;
}

/** Pulls frames out of a chunked byte stream. Not safe for concurrent `read()` calls. */
export class FrameReader implements AsyncIterable<Frame> {
  readonly #chunks: AsyncIterator<Uint8Array>;
  readonly #maxFrameBytes: number;
  #buffer = new Uint8Array(INITIAL_BUFFER_BYTES);
  /** valid bytes are #buffer[#start, #end) */
  #start = 0;
  #end = 0;
  #done = false;
  #failure: FrameError | undefined;

  constructor(source: AsyncIterable<Uint8Array>, options: FrameReaderOptions = {}) {
    this.#chunks = source[Symbol.asyncIterator]();
    this.#maxFrameBytes = options.maxFrameBytes ?? FRAME_MAX_BYTES;
  }

  /**
   * The next frame, or null when the stream ended cleanly between frames. Throws FrameError for a
   * malformed frame (the reader stays usable unless the framing itself is broken, see the module doc).
   */
  async read(): Promise<Frame | null> {
    if (this.#failure) throw this.#failure;
    for (;;) {
      let header: { size: number; type: number } | undefined;
      try {
        header = peekFrameHeader(this.#buffer.subarray(this.#start, this.#end), this.#maxFrameBytes);
      } catch (e) {
        throw this.#fail(e as FrameError);
      }
      if (header && this.#end - this.#start >= header.size) {
        const payload = this.#buffer.subarray(this.#start + FRAME_HEADER_BYTES, this.#start + header.size);
        this.#start += header.size; // consumed whether or not the payload decodes
        return decodeFramePayload(header.type, payload);
      }
      if (this.#done) {
        if (this.#start === this.#end) return null;
        throw this.#fail(
          new FrameError(
            "truncated",
            `stream ended inside a frame (${this.#end - this.#start} bytes pending)`,
          ),
        );
      }
      await this.#pull();
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Frame> {
    for (let frame = await this.read(); frame; frame = await this.read()) yield frame;
  }

  /** Stops reading and releases the source (e.g. cancels the ReadableStream). */
  async cancel(): Promise<void> {
    this.#done = true;
    await this.#chunks.return?.();
  }

  #fail(error: FrameError): FrameError {
    this.#failure = error;
    return error;
  }

  async #pull(): Promise<void> {
    const next = await this.#chunks.next();
    if (next.done) {
      this.#done = true;
      return;
    }
    const chunk = next.value;
    if (this.#end + chunk.length > this.#buffer.length) this.#makeRoom(chunk.length);
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** Moves pending bytes to the front, growing the buffer (doubling) when they still do not fit. */
  #makeRoom(incoming: number): void {
    const pending = this.#end - this.#start;
    const need = pending + incoming;
    let target = this.#buffer;
    if (need > this.#buffer.length) {
      let size = this.#buffer.length * 2;
      while (size < need) size *= 2;
      target = new Uint8Array(size);
    }
    target.set(this.#buffer.subarray(this.#start, this.#end), 0);
    this.#buffer = target;
    this.#start = 0;
    this.#end = pending;
  }
}
