/**
 * A `ByteSource` over an http(s) URL, read with Range requests, so a node can load a model (or only its
 * share of the layers) straight from a web server without downloading the whole file.
 *
 * Opening sends `Range: bytes=0-0` and takes the size from the 206 answer's Content-Range. A server that
 * answers 200 (it ignores Range and would send everything) is refused with GgufError("range_unsupported")
 * and the body is cancelled. Small reads, like the header parser's, fetch at least `readAheadBytes` and are
 * served from a few cached blocks; large reads (tensors) fetch exactly their range. Transient failures
 * (network errors, 5xx) are retried a few times.
 *
 * @example
 * ```ts
 * const source = await openHttpSource("https://example.com/model.gguf", { headers: { authorization: "Bearer …" } });
 * const gguf = await GgufFile.open(source);
 * ```
 */
import type { ByteSource } from "./byte_source.ts";
import { GgufError } from "./errors.ts";
import { checkRange } from "./memory_source.ts";

/** Default read-ahead for small reads, in bytes: one request covers the header of most models. */
export const DEFAULT_READ_AHEAD_BYTES = 256 << 10;
/** Default number of cached read-ahead blocks. */
export const DEFAULT_CACHE_BLOCKS = 4;
/** Default retries of a failed request (network error or 5xx); each waits twice as long as the last. */
export const DEFAULT_RETRIES = 2;
/** Wait before the first retry, in milliseconds. */
const RETRY_BASE_DELAY_MS = 100;

/** Options of `openHttpSource`. */
export interface HttpSourceOptions {
  /** extra request headers (e.g. authorization) */
  readonly headers?: HeadersInit;
  /** fetch implementation (default: the global fetch) */
  readonly fetch?: typeof fetch;
  /** bytes fetched at least per small read, cached for the reads after it (default 256 KiB) */
  readonly readAheadBytes?: number;
  /** read-ahead blocks kept (default 4) */
  readonly cacheBlocks?: number;
  /** retries of a request that failed with a network error or 5xx (default 2) */
  readonly retries?: number;
}

/** An HTTP byte source; counts requests and bytes for tests and load metrics. */
export interface HttpSource extends ByteSource {
  /** HTTP requests sent, including the size probe */
  readonly requests: number;
  /** body bytes received */
  readonly bytesFetched: number;
}

/** Opens `url` for ranged reads; throws GgufError("range_unsupported") when the server ignores Range. */
export async function openHttpSource(url: string, options: HttpSourceOptions = {}): Promise<HttpSource> {
  const source = new RangedHttp(url, options);
  await source.probe();
  return source;
}

interface CachedBlock {
  readonly start: number;
  readonly bytes: Uint8Array;
}

class RangedHttp implements HttpSource {
  size = 0;
  requests = 0;
  bytesFetched = 0;
  readonly name: string;
  readonly #fetch: typeof fetch;
  readonly #headers: Headers;
  readonly #readAhead: number;
  readonly #cacheBlocks: number;
  readonly #retries: number;
  readonly #abort = new AbortController();
  /** most recently used last */
  #cache: CachedBlock[] = [];
  #closed = false;

  constructor(readonly url: string, options: HttpSourceOptions) {
    this.name = url;
    this.#fetch = options.fetch ?? fetch;
    this.#headers = new Headers(options.headers);
    this.#readAhead = Math.max(0, options.readAheadBytes ?? DEFAULT_READ_AHEAD_BYTES);
    this.#cacheBlocks = Math.max(0, options.cacheBlocks ?? DEFAULT_CACHE_BLOCKS);
    this.#retries = Math.max(0, options.retries ?? DEFAULT_RETRIES);
  }

  async probe(): Promise<void> {
    const res = await this.#request("bytes=0-0");
    if (res.status === 206) {
      const range = parseContentRange(res.headers.get("content-range"));
      await res.body?.cancel();
      if (range === undefined || range.total === undefined) {
        throw new GgufError("io", `${this.name}: 206 answer without a usable Content-Range`);
      }
      this.size = range.total;
      return;
    }
    if (res.status === 416) {
      // nothing to serve at offset 0: an empty file, if the server says so
      const range = parseContentRange(res.headers.get("content-range"));
      await res.body?.cancel();
      if (range?.total === 0) return;
      throw new GgufError("io", `${this.name}: the server refused the first byte (416)`);
    }
    await res.body?.cancel();
    if (res.status === 200) {
      throw new GgufError(
        "range_unsupported",
        `${this.name}: the server ignores Range requests (200 instead of 206); ranged loading needs a server that supports them`,
      );
    }
    throw new GgufError("io", `${this.name}: HTTP ${res.status} ${res.statusText} when probing the size`);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (this.#closed) throw new GgufError("io", `${this.name}: read after close`);
    checkRange(this.name, this.size, offset, length);
    if (length === 0) return new Uint8Array(0);
    const cached = this.#fromCache(offset, length);
    if (cached !== undefined) return cached;
    if (length >= this.#readAhead || this.#cacheBlocks === 0) {
      return await this.#fetchRange(offset, offset + length);
    }
    const end = Math.min(this.size, offset + this.#readAhead);
    const block = { start: offset, bytes: await this.#fetchRange(offset, end) };
    this.#cache.push(block);
    if (this.#cache.length > this.#cacheBlocks) this.#cache.shift();
    return block.bytes.slice(0, length);
  }

  #fromCache(offset: number, length: number): Uint8Array | undefined {
    for (let i = this.#cache.length - 1; i >= 0; i--) {
      const b = this.#cache[i];
      if (offset >= b.start && offset + length <= b.start + b.bytes.length) {
        if (i !== this.#cache.length - 1) this.#cache.push(...this.#cache.splice(i, 1));
        return b.bytes.slice(offset - b.start, offset - b.start + length);
      }
    }
    return undefined;
  }

  /** Fetches bytes [start, end) with one Range request, checking the answer covers exactly that range. */
  async #fetchRange(start: number, end: number): Promise<Uint8Array> {
    const res = await this.#request(`bytes=${start}-${end - 1}`);
    if (res.status !== 206) {
      await res.body?.cancel();
      if (res.status === 200) {
        throw new GgufError(
          "range_unsupported",
          `${this.name}: the server answered a Range request with the whole body`,
        );
      }
      throw new GgufError(
        "io",
        `${this.name}: HTTP ${res.status} ${res.statusText} reading bytes ${start}..${end}`,
      );
    }
    const range = parseContentRange(res.headers.get("content-range"));
    if (range === undefined || range.start !== start || range.end !== end - 1) {
      await res.body?.cancel();
      throw new GgufError(
        "io",
        `${this.name}: asked for bytes ${start}..${end}, got Content-Range "${
          res.headers.get("content-range")
        }"`,
      );
    }
    if (range.total !== undefined && range.total !== this.size) {
      await res.body?.cancel();
      throw new GgufError(
        "io",
        `${this.name}: the file changed size on the server (${this.size} → ${range.total})`,
      );
    }
    return await this.#readBody(res, end - start, start);
  }

  /** Reads exactly `length` body bytes into one buffer, refusing a longer or shorter body. */
  async #readBody(res: Response, length: number, start: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    let done = 0;
    const reader = res.body?.getReader();
    try {
      if (reader === undefined) throw new Error("no body");
      for (;;) {
        const { done: finished, value } = await reader.read();
        if (finished) break;
        if (done + value.length > length) {
          await reader.cancel();
          throw new GgufError(
            "io",
            `${this.name}: body of bytes ${start}.. is longer than the ${length} asked for`,
          );
        }
        out.set(value, done);
        done += value.length;
      }
    } catch (e) {
      if (e instanceof GgufError) throw e;
      throw new GgufError("io", `${this.name}: reading bytes ${start}.. failed: ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (done !== length) {
      throw new GgufError(
        "truncated",
        `${this.name}: body of bytes ${start}.. ended after ${done} of ${length} bytes`,
      );
    }
    this.bytesFetched += length;
    return out;
  }

  /** One GET with a Range header; retries network errors and 5xx answers. */
  async #request(range: string): Promise<Response> {
    const headers = new Headers(this.#headers);
    headers.set("range", range);
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.#retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, RETRY_BASE_DELAY_MS * 2 ** (attempt - 1)));
      if (this.#closed) break;
      this.requests++;
      try {
        const res = await this.#fetch(this.url, { headers, signal: this.#abort.signal });
        if (res.status < 500 || attempt === this.#retries) return res;
        await res.body?.cancel();
        lastError = new Error(`HTTP ${res.status}`);
      } catch (e) {
        lastError = e;
      }
    }
    throw new GgufError(
      "io",
      `${this.name}: request for ${range} failed: ${(lastError as Error)?.message ?? "closed"}`,
      {
        cause: lastError,
      },
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cache = [];
    this.#abort.abort();
  }
}

/** Parses `bytes START-END/TOTAL` (TOTAL may be `*`) or `bytes * /TOTAL`; undefined when malformed. */
export function parseContentRange(
  header: string | null,
): { start?: number; end?: number; total?: number } | undefined {
  if (header === null) return undefined;
  const m = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)\s*$/i.exec(header);
  if (m === null) return undefined;
  const total = m[3] === "*" ? undefined : Number(m[3]);
  if (m[1] === undefined) return { total };
  const start = Number(m[1]), end = Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return undefined;
  if (total !== undefined && (!Number.isSafeInteger(total) || end >= total)) return undefined;
  return { start, end, total };
}
