/**
 * Resumable, verified, atomic downloads of large files (models of hundreds of MB to many GB).
 *
 * Mechanism: bytes go to `DEST.part`. Each attempt asks for the missing tail with `Range: bytes=N-`
 * (and `If-Range` with the strong ETag of the first answer, so a file that changed on the server restarts
 * from zero instead of being spliced); a 206 answer is appended, a 200 answer (server ignores ranges or the
 * file changed) truncates and restarts. A connection cut mid-body or a 5xx is retried after a backoff,
 * resuming at the current size of the part file; the retry budget counts consecutive attempts that made
 * no progress, so a long download over a flaky link still finishes. Redirects are followed by hand so the
 * `X-Linked-Size` and `X-Linked-Etag` (the sha256 of the file) that Hugging Face puts on its first answer
 * are seen. When every byte is there the size and sha256 are checked and the part file is renamed to
 * DEST in one step: DEST is either absent or complete, never half written.
 */
import { createHash } from "node:crypto";
import { DownloadError, IntegrityError } from "./model_store_error.ts";

/** Progress of one download, reported after every received chunk. */
export interface DownloadProgress {
  /** bytes present in the part file, including those of earlier attempts */
  readonly received: number;
  /** file size in bytes, once known */
  readonly total?: number;
  /** receive rate over this call, bytes per second */
  readonly bytesPerSecond: number;
  /** bytes that were already present when this call started */
  readonly resumedFrom: number;
}

/** Options of {@link downloadFile}. */
export interface DownloadOptions {
  readonly fetch?: typeof fetch;
  /** extra request headers (e.g. authorization) */
  readonly headers?: HeadersInit;
  /** expected size in bytes; checked before the rename */
  readonly expectedSize?: number;
  /** expected sha256, hex; when absent, the server's X-Linked-Etag is used if it is a sha256 */
  readonly sha256?: string;
  readonly onProgress?: (progress: DownloadProgress) => void;
  readonly signal?: AbortSignal;
  /** consecutive attempts without progress before giving up (default {@link DEFAULT_DOWNLOAD_RETRIES}) */
  readonly retries?: number;
  /** wait before the first retry, ms; doubles each time up to {@link MAX_RETRY_DELAY_MS} */
  readonly retryDelayMs?: number;
}

/** What {@link downloadFile} did. */
export interface DownloadResult {
  readonly path: string;
  readonly bytes: number;
  /** sha256 of the file, hex */
  readonly sha256: string;
  /** bytes found in a part file from an earlier run */
  readonly resumedFrom: number;
  /** HTTP attempts (1 without interruptions) */
  readonly attempts: number;
  /** whether the sha256 was compared with an expected value */
  readonly verified: boolean;
}

/** Attempts without progress before a download fails: rides out a short outage, not a dead server. */
export const DEFAULT_DOWNLOAD_RETRIES = 5;
/** First retry delay, ms. */
export const DEFAULT_RETRY_DELAY_MS = 500;
/** Longest wait between attempts, ms. */
export const MAX_RETRY_DELAY_MS = 15_000;
/** Redirect hops followed (Hugging Face uses one or two: resolve → CDN). */
export const MAX_REDIRECTS = 10;
/** Read size while hashing, bytes. */
const HASH_CHUNK_BYTES = 1 << 20;

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The sha256 carried in an ETag-like header value (`"abc…"`, `W/"abc…"`), if it is one. */
export function sha256FromEtag(value: string | null): string | undefined {
  if (!value) return undefined;
  const bare = value.replace(/^W\//, "").replaceAll('"', "").trim().toLowerCase();
  return SHA256_HEX.test(bare) ? bare : undefined;
}

/** sha256 of a file, hex, read in chunks. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(HASH_CHUNK_BYTES);
  for (;;) {
    const n = await file.read(buffer);
    if (n === null) break;
    hash.update(buffer.subarray(0, n));
  }
  return hash.digest("hex");
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
}

interface Answer {
  readonly response: Response;
  readonly linkedSize?: number;
  readonly linkedSha256?: string;
}

/** Sends GET, following redirects by hand to collect the X-Linked-* headers of every hop. */
async function getFollowing(
  doFetch: typeof fetch,
  url: string,
  headers: Headers,
  signal: AbortSignal | undefined,
): Promise<Answer> {
  let current = url;
  let linkedSize: number | undefined;
  let linkedSha256: string | undefined;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const response = await doFetch(current, { headers, redirect: "manual", signal });
    const size = Number(response.headers.get("x-linked-size") ?? NaN);
    if (Number.isSafeInteger(size) && size >= 0) linkedSize = size;
    linkedSha256 = sha256FromEtag(response.headers.get("x-linked-etag")) ?? linkedSha256;
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      current = new URL(location, current).href;
      continue;
    }
    return { response, linkedSize, linkedSha256 };
  }
  throw new DownloadError(url, `download of ${url} failed: more than ${MAX_REDIRECTS} redirects`);
}

/** Parses `Content-Range: bytes START-END/TOTAL` (TOTAL may be `*`). */
export function parseContentRange(
  value: string | null,
): { start: number; end: number; total?: number } | undefined {
  const match = value?.match(/^bytes (\d+)-(\d+)\/(\d+|\*)$/);
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = Number(match[2]);
  const total = match[3] === "*" ? undefined : Number(match[3]);
  if (end < start || (total !== undefined && end >= total)) return undefined;
  return { start, end, total };
}

/** Appends a response body to an open file; returns bytes written. Throws what the body stream throws. */
async function appendBody(
  body: ReadableStream<Uint8Array>,
  file: Deno.FsFile,
  onChunk: (bytes: number) => void,
): Promise<void> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      let written = 0;
      while (written < value.length) written += await file.write(value.subarray(written));
      onChunk(value.length);
    }
  } finally {
    reader.releaseLock();
  }
}

function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (error instanceof DOMException && error.name === "AbortError");
}

/**
 * Downloads `url` to `dest`, resuming `dest.part` left by an earlier attempt or run.
 *
 * @example
 * ```ts
 * const result = await downloadFile("https://example.com/m.gguf", "/tmp/m.gguf", {
 *   onProgress: (p) => console.log(p.received, p.total),
 * });
 * result.sha256;
 * ```
 */
export async function downloadFile(
  url: string,
  dest: string,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  const doFetch = options.fetch ?? fetch;
  const part = `${dest}.part`;
  const dir = dest.includes("/") ? dest.slice(0, dest.lastIndexOf("/")) : ".";
  if (dir !== "") await Deno.mkdir(dir, { recursive: true });
  const retries = options.retries ?? DEFAULT_DOWNLOAD_RETRIES;
  const started = performance.now();
  const resumedFrom = await fileSize(part);
  let total = options.expectedSize;
  let serverSha256: string | undefined;
  let etag: string | undefined;
  let attempts = 0;
  let failuresWithoutProgress = 0;
  let lastError = "";

  const progress = (received: number) => {
    const seconds = (performance.now() - started) / 1000;
    options.onProgress?.({
      received,
      total,
      bytesPerSecond: seconds > 0 ? (received - resumedFrom) / seconds : 0,
      resumedFrom,
    });
  };

  for (;;) {
    if (failuresWithoutProgress > retries) {
      throw new DownloadError(url, `download of ${url} failed after ${attempts} attempts: ${lastError}`);
    }
    if (failuresWithoutProgress > 0) {
      const delay = Math.min(
        MAX_RETRY_DELAY_MS,
        (options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS) * 2 ** (failuresWithoutProgress - 1),
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    options.signal?.throwIfAborted();
    let offset = await fileSize(part);
    if (total !== undefined && offset > total) {
      await Deno.remove(part);
      offset = 0;
    }
    if (total !== undefined && offset === total) break;
    attempts++;
    const headers = new Headers(options.headers);
    if (offset > 0) {
      headers.set("range", `bytes=${offset}-`);
      if (etag) headers.set("if-range", etag);
    }
    let answer: Answer;
    try {
      answer = await getFollowing(doFetch, url, headers, options.signal);
    } catch (error) {
      if (isAbort(error, options.signal)) throw error;
      if (error instanceof DownloadError) throw error;
      lastError = `cannot connect: ${(error as Error).message ?? error}`;
      failuresWithoutProgress++;
      continue;
    }
    const { response } = answer;
    serverSha256 = answer.linkedSha256 ?? serverSha256;
    const status = response.status;
    if (status === 416 && offset > 0) {
      // the part file already holds everything the server has (or more): check against its size
      const range = response.headers.get("content-range")?.match(/^bytes \*\/(\d+)$/);
      await response.body?.cancel();
      if (range && Number(range[1]) === offset) {
        total ??= offset;
        break;
      }
      await Deno.remove(part);
      lastError = "server refused the resume range";
      failuresWithoutProgress++;
      continue;
    }
    if (status >= 500 || status === 408 || status === 429) {
      await response.body?.cancel();
      lastError = `HTTP ${status}`;
      failuresWithoutProgress++;
      continue;
    }
    if (status !== 200 && status !== 206) {
      await response.body?.cancel();
      const reason = status === 404
        ? "not found"
        : status === 401 || status === 403
        ? "access denied"
        : "refused";
      throw new DownloadError(url, `download of ${url} failed: HTTP ${status} (${reason})`, status);
    }
    let append = false;
    let answerTotal: number | undefined;
    if (status === 206) {
      const range = parseContentRange(response.headers.get("content-range"));
      if (!range || range.start !== offset) {
        // a range we did not ask for: drop what we have and start over
        await response.body?.cancel();
        await Deno.remove(part).catch(() => {});
        lastError = `unexpected Content-Range "${response.headers.get("content-range")}"`;
        failuresWithoutProgress++;
        continue;
      }
      append = true;
      answerTotal = range.total;
    } else {
      const length = Number(response.headers.get("content-length") ?? NaN);
      if (Number.isSafeInteger(length) && response.headers.get("content-encoding") === null) {
        answerTotal = length;
      }
    }
    answerTotal ??= answer.linkedSize;
    if (answerTotal !== undefined) {
      if (options.expectedSize !== undefined && answerTotal !== options.expectedSize) {
        await response.body?.cancel();
        throw new IntegrityError(
          `download of ${url}: the server offers ${answerTotal} bytes but ${options.expectedSize} were expected`,
        );
      }
      total = answerTotal;
    }
    const responseEtag = response.headers.get("etag");
    if (responseEtag && !responseEtag.startsWith("W/")) etag = responseEtag;
    if (!response.body) {
      lastError = "empty answer";
      failuresWithoutProgress++;
      continue;
    }
    const before = append ? offset : 0;
    let received = before;
    try {
      using file = await Deno.open(
        part,
        append ? { write: true, append: true } : { write: true, create: true, truncate: true },
      );
      await appendBody(response.body, file, (bytes) => {
        received += bytes;
        progress(received);
      });
    } catch (error) {
      if (isAbort(error, options.signal)) throw error;
      lastError = `connection lost at byte ${received}: ${(error as Error).message ?? error}`;
      failuresWithoutProgress = received > before ? 1 : failuresWithoutProgress + 1;
      continue;
    }
    if (total === undefined) {
      total = received; // no length announced: the end of the body is the end of the file
      break;
    }
    if (received >= total) break;
    lastError = `connection closed at byte ${received} of ${total}`;
    failuresWithoutProgress = received > before ? 1 : failuresWithoutProgress + 1;
  }

  const bytes = await fileSize(part);
  if (total !== undefined && bytes !== total) {
    await Deno.remove(part);
    throw new IntegrityError(
      `download of ${url}: got ${bytes} bytes, expected ${total}; removed the partial file`,
    );
  }
  const sha256 = await sha256File(part);
  const expected = options.sha256?.toLowerCase() ?? serverSha256;
  if (expected !== undefined && sha256 !== expected) {
    await Deno.remove(part);
    throw new IntegrityError(
      `download of ${url}: sha256 ${sha256} does not match the expected ${expected}; removed the file`,
    );
  }
  await Deno.rename(part, dest);
  return { path: dest, bytes, sha256, resumedFrom, attempts, verified: expected !== undefined };
}
