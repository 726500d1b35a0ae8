/**
 * A local HTTP file server for download tests, shaped like Hugging Face: `/OWNER/REPO/resolve/REV/FILE`
 * redirects to `/cdn/FILE` with X-Linked-Size and X-Linked-Etag (the sha256), and the CDN answers Range
 * requests with 206. Faults on demand: cut the connection after N bytes, ignore Range, fail with a status.
 */
import { createHash } from "node:crypto";

/** Per-server fault switches; change them between requests. */
export interface Faults {
  /** cut the body after this many bytes, for the next `cutTimes` requests */
  cutAfter?: number;
  cutTimes?: number;
  /** answer 200 with the whole file even when a Range is asked */
  ignoreRange?: boolean;
  /** answer every request with this status */
  status?: number;
  /** publish this sha256 instead of the real one */
  lieSha256?: string;
}

/** A running file server. */
export interface FileServer {
  readonly url: string;
  readonly data: Uint8Array;
  readonly sha256: string;
  readonly faults: Faults;
  /** Range header of each request to the CDN path, null when absent */
  readonly ranges: (string | null)[];
  close(): Promise<void>;
}

/** Seeded pseudo-random bytes (so a spliced file could never pass for the real one). */
export function testBytes(length: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

/** Starts the server on 127.0.0.1, port chosen by the OS. */
export function startFileServer(data: Uint8Array<ArrayBuffer>): FileServer {
  const sha256 = createHash("sha256").update(data).digest("hex");
  const faults: Faults = {};
  const ranges: (string | null)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const path = new URL(request.url).pathname;
    if (faults.status) return new Response("fault", { status: faults.status });
    const resolve = path.match(/^\/[^/]+\/[^/]+\/resolve\/[^/]+\/(.+)$/);
    if (resolve) {
      return new Response(null, {
        status: 302,
        headers: {
          location: `/cdn/${resolve[1]}`,
          "x-linked-size": String(data.length),
          "x-linked-etag": `"${faults.lieSha256 ?? sha256}"`,
        },
      });
    }
    if (!path.startsWith("/cdn/") && path !== "/plain/model.gguf") {
      return new Response("not found", { status: 404 });
    }
    const range = request.headers.get("range");
    ranges.push(range);
    let start = 0;
    const match = range?.match(/^bytes=(\d+)-$/);
    if (match && !faults.ignoreRange) start = Number(match[1]);
    if (start >= data.length && match) {
      return new Response(null, { status: 416, headers: { "content-range": `bytes */${data.length}` } });
    }
    let body: Uint8Array | ReadableStream<Uint8Array> = data.subarray(start);
    if (faults.cutAfter !== undefined && (faults.cutTimes ?? 1) > 0) {
      faults.cutTimes = (faults.cutTimes ?? 1) - 1;
      const part = data.subarray(start, start + faults.cutAfter);
      body = new ReadableStream({
        start(controller) {
          controller.enqueue(part);
          setTimeout(() => controller.close(), 20); // shorter than its Content-Length: the connection is cut
        },
      });
    }
    const headers: Record<string, string> = {
      etag: `"v1-${sha256.slice(0, 8)}"`,
      "content-length": String(data.length - start),
    };
    if (start > 0) headers["content-range"] = `bytes ${start}-${data.length - 1}/${data.length}`;
    return new Response(body as BodyInit, { status: start > 0 ? 206 : 200, headers });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    data,
    sha256,
    faults,
    ranges,
    close: () => server.shutdown(),
  };
}
