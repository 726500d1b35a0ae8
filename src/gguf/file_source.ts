/**
 * A `ByteSource` over a local file, read by byte range with seek + read: opening a 40 GB model costs one
 * header read, and a node serving layers 10–19 reads only those tensors. Reads are serialised because a
 * `Deno.FsFile` has one file position.
 *
 * @example
 * ```ts
 * const source = await openFileSource("../shared/models/stories260K.gguf");
 * const magic = await source.read(0, 4); // "GGUF"
 * source.close();
 * ```
 */
import type { ByteSource } from "./byte_source.ts";
import { GgufError } from "./errors.ts";
import { checkRange } from "./memory_source.ts";

/** A file byte source that also counts what it read (for tests and load metrics). */
export interface FileSource extends ByteSource {
  /** total bytes returned by `read` so far */
  readonly bytesRead: number;
}

/** Opens `path` for ranged reads; throws GgufError("io") when it cannot be opened. */
export async function openFileSource(path: string): Promise<FileSource> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    throw new GgufError("io", `cannot open ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const info = await file.stat();
    if (!info.isFile) throw new Error("not a regular file");
    return new RangedFile(file, info.size, path);
  } catch (e) {
    file.close();
    throw new GgufError("io", `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

class RangedFile implements FileSource {
  #file: Deno.FsFile;
  #closed = false;
  #bytesRead = 0;
  /** tail of the read queue: each read waits for the previous one, as seek + read share the file position */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(file: Deno.FsFile, readonly size: number, readonly name: string) {
    this.#file = file;
  }

  get bytesRead(): number {
    return this.#bytesRead;
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    const run = this.#queue.then(() => this.#readNow(offset, length));
    this.#queue = run.catch(() => {});
    return run;
  }

  readInto(offset: number, into: Uint8Array): Promise<void> {
    const run = this.#queue.then(() => this.#fill(offset, into));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #readNow(offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    await this.#fill(offset, out);
    return out;
  }

  async #fill(offset: number, out: Uint8Array): Promise<void> {
    const length = out.length;
    if (this.#closed) throw new GgufError("io", `${this.name}: read after close`);
    checkRange(this.name, this.size, offset, length);
    try {
      await this.#file.seek(offset, Deno.SeekMode.Start);
      let done = 0;
      while (done < length) {
        const n = await this.#file.read(out.subarray(done));
        if (n === null) {
          throw new GgufError(
            "truncated",
            `${this.name}: file ended at byte ${offset + done} (it shrank while open)`,
          );
        }
        done += n;
      }
    } catch (e) {
      if (e instanceof GgufError) throw e;
      throw new GgufError(
        "io",
        `${this.name}: read of ${length} bytes at ${offset} failed: ${(e as Error).message}`,
        {
          cause: e,
          offset,
        },
      );
    }
    this.#bytesRead += length;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
  }
}
