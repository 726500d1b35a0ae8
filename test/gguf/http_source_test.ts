import assert from "node:assert/strict";
import { GgufError } from "../../src/gguf/errors.ts";
import { GgufFile, openGguf } from "../../src/gguf/gguf_file.ts";
import { openHttpSource, parseContentRange } from "../../src/gguf/http_source.ts";
import { parseGgufHeaderBytes } from "../../src/gguf/reader.ts";

import { serveBytes } from "../support/range_server.ts";

const STORIES = "../shared/models/stories260K.gguf";

Deno.test("openGguf over HTTP reads the same header and tensors as from disk, by range", async () => {
  const bytes = await Deno.readFile(STORIES);
  const server = serveBytes(bytes, "range");
  try {
    const remote = await openGguf(server.url);
    const local = await openGguf(STORIES);
    try {
      assert.deepEqual(remote.header, local.header);
      for (const name of ["token_embd.weight", "blk.3.ffn_down.weight", "output_norm.weight"]) {
        assert.deepEqual(await remote.readTensorF32(name), await local.readTensorF32(name), name);
      }
      assert.ok(server.ranges.every((r) => r.startsWith("bytes=")), "every request is a Range request");
      assert.equal(server.ranges[0], "bytes=0-0", "the size comes from a one-byte probe");
    } finally {
      remote.close();
      local.close();
    }
  } finally {
    await server.close();
  }
});

Deno.test("small reads are served from the read-ahead block; large reads fetch exactly their range", async () => {
  const bytes = await Deno.readFile(STORIES);
  const server = serveBytes(bytes, "range");
  try {
    const source = await openHttpSource(server.url, { readAheadBytes: 64 << 10 });
    try {
      assert.equal(source.size, bytes.length);
      for (let o = 0; o < 60_000; o += 1000) {
        assert.deepEqual(await source.read(o, 100), bytes.subarray(o, o + 100));
      }
      assert.equal(source.requests, 2, "probe + one read-ahead block");
      const big = await source.read(500_000, 300_000);
      assert.deepEqual(big, bytes.subarray(500_000, 800_000));
      assert.equal(server.ranges.at(-1), "bytes=500000-799999");
      assert.equal(source.bytesFetched, (64 << 10) + 300_000);
      const tail = await source.read(bytes.length - 10, 10);
      assert.deepEqual(tail, bytes.subarray(bytes.length - 10));
      await assert.rejects(
        source.read(bytes.length - 10, 11),
        (e) => e instanceof GgufError && e.kind === "truncated",
      );
    } finally {
      source.close();
    }
    await assert.rejects(source.read(0, 1), (e) => e instanceof GgufError && e.kind === "io");
  } finally {
    await server.close();
  }
});

Deno.test("a server that ignores Range is refused with range_unsupported, without downloading the body", async () => {
  const full = 64 << 20;
  const server = serveBytes(new Uint8Array(0), "ignore-range", full);
  try {
    await assert.rejects(openGguf(server.url), (e) => {
      assert.ok(e instanceof GgufError, String(e));
      assert.equal(e.kind, "range_unsupported");
      assert.ok(e.message.includes(server.url));
      return true;
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(server.produced < full / 2, `the server produced ${server.produced} of ${full} bytes`);
  } finally {
    await server.close();
  }
});

Deno.test("an answer for the wrong range is an io error", async () => {
  const bytes = await Deno.readFile(STORIES);
  const server = serveBytes(bytes, "wrong-range");
  try {
    const source = await openHttpSource(server.url, { readAheadBytes: 1024 });
    try {
      await assert.rejects(source.read(10, 10), (e) => e instanceof GgufError && e.kind === "io");
    } finally {
      source.close();
    }
  } finally {
    await server.close();
  }
});

Deno.test("5xx answers are retried, and a missing file is an io error naming the URL", async () => {
  const bytes = await Deno.readFile(STORIES);
  const flaky = serveBytes(bytes, "flaky");
  try {
    const gguf = await GgufFile.open(await openHttpSource(flaky.url, { retries: 2 }));
    assert.equal(gguf.tensors.length, 48);
    assert.equal(flaky.ranges[0], flaky.ranges[2], "the probe was sent three times");
    gguf.close();
  } finally {
    await flaky.close();
  }
  const missing = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("no", { status: 404 }),
  );
  try {
    const url = `http://127.0.0.1:${(missing.addr as Deno.NetAddr).port}/gone.gguf`;
    await assert.rejects(
      openHttpSource(url),
      (e) =>
        e instanceof GgufError && e.kind === "io" && e.message.includes("gone.gguf") &&
        e.message.includes("404"),
    );
  } finally {
    await missing.shutdown();
  }
});

Deno.test("a server that is not there is an io error after the retries", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // nothing listens on this port now
  await assert.rejects(
    openHttpSource(`http://127.0.0.1:${port}/x.gguf`, { retries: 1 }),
    (e) => e instanceof GgufError && e.kind === "io",
  );
});

Deno.test("Content-Range headers parse strictly", () => {
  assert.deepEqual(parseContentRange("bytes 0-0/1185376"), { start: 0, end: 0, total: 1185376 });
  assert.deepEqual(parseContentRange("bytes 10-19/*"), { start: 10, end: 19, total: undefined });
  assert.deepEqual(parseContentRange("bytes */42"), { total: 42 });
  for (const bad of [null, "", "bytes 5-4/10", "bytes 0-10/10", "items 0-1/2", "bytes 0-1/x"]) {
    assert.equal(parseContentRange(bad), undefined, String(bad));
  }
});

Deno.test("the header of a served file parses identically with the default read-ahead", async () => {
  const bytes = await Deno.readFile(STORIES);
  const server = serveBytes(bytes, "range");
  try {
    const gguf = await GgufFile.open(await openHttpSource(server.url));
    assert.deepEqual(gguf.header, parseGgufHeaderBytes(bytes));
    assert.equal(server.ranges.length, 2, "probe + one read covering the header");
    gguf.close();
  } finally {
    await server.close();
  }
});
