/**
 * A real HTTP server on 127.0.0.1 (port 0) serving bytes with Range support, or by mode without it,
 * for tests of everything that reads models over HTTP.
 */
export type RangeServerMode = "range" | "ignore-range" | "wrong-range" | "flaky";

export interface TestServer {
  readonly url: string;
  /** Range headers received, in order ("" when none) */
  readonly ranges: string[];
  /** body bytes the server produced (for the streamed full body of ignore-range) */
  produced: number;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 serving `bytes` with (or, by mode, without) Range support. */
export function serveBytes(
  bytes: Uint8Array,
  mode: RangeServerMode,
  fullBodyBytes = bytes.length,
): TestServer {
  const ranges: string[] = [];
  const state = { produced: 0 };
  let failuresLeft = mode === "flaky" ? 2 : 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const range = req.headers.get("range") ?? "";
    ranges.push(range);
    if (failuresLeft > 0) {
      failuresLeft--;
      return new Response("busy", { status: 503 });
    }
    if (mode === "ignore-range") {
      // a large full body, produced on demand, so the test can see that the client stopped pulling
      const chunk = 64 << 10;
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (state.produced >= fullBodyBytes) return controller.close();
            state.produced += chunk;
            controller.enqueue(new Uint8Array(chunk));
          },
        }),
        { status: 200, headers: { "content-length": String(fullBodyBytes) } },
      );
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(range);
    if (m === null) return new Response(bytes.slice(), { status: 200 });
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), bytes.length - 1);
    if (start >= bytes.length) {
      return new Response(null, { status: 416, headers: { "content-range": `bytes */${bytes.length}` } });
    }
    const claimedStart = mode === "wrong-range" && start > 0 ? start + 1 : start;
    return new Response(bytes.slice(start, end + 1), {
      status: 206,
      headers: { "content-range": `bytes ${claimedStart}-${end}/${bytes.length}` },
    });
  });
  const addr = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${addr.port}/model.gguf`,
    ranges,
    get produced() {
      return state.produced;
    },
    set produced(v) {
      state.produced = v;
    },
    close: () => server.shutdown(),
  };
}
