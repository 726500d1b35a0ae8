import assert from "node:assert/strict";
import {
  downloadFile,
  type DownloadProgress,
  parseContentRange,
  sha256FromEtag,
} from "../../src/model_store/download.ts";
import { DownloadError, IntegrityError } from "../../src/model_store/model_store_error.ts";
import { type FileServer, startFileServer, testBytes } from "./file_server.ts";

const SIZE = 300_000;

async function withServer(body: (server: FileServer, dir: string) => Promise<void>) {
  const server = startFileServer(testBytes(SIZE));
  const dir = await Deno.makeTempDir({ prefix: "edgering-download-test-" });
  try {
    await body(server, dir);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

const fast = { retryDelayMs: 1 };

Deno.test("a download follows the redirect, verifies the published sha256 and lands atomically", async () => {
  await withServer(async (server, dir) => {
    const dest = `${dir}/m.gguf`;
    const seen: DownloadProgress[] = [];
    const result = await downloadFile(`${server.url}/org/repo/resolve/main/m.gguf`, dest, {
      ...fast,
      onProgress: (p) => seen.push(p),
    });
    assert.deepEqual(await Deno.readFile(dest), server.data);
    assert.equal(result.sha256, server.sha256);
    assert.equal(result.verified, true);
    assert.equal(result.attempts, 1);
    assert.equal(await exists(`${dest}.part`), false);
    assert.equal(seen.at(-1)!.received, SIZE);
    assert.equal(seen.at(-1)!.total, SIZE);
    assert.ok(seen.every((p, i) => i === 0 || p.received >= seen[i - 1].received));
  });
});

Deno.test("a connection cut mid-file is resumed with a Range request", async () => {
  await withServer(async (server, dir) => {
    server.faults.cutAfter = 100_000;
    server.faults.cutTimes = 2;
    const dest = `${dir}/m.gguf`;
    const result = await downloadFile(`${server.url}/org/repo/resolve/main/m.gguf`, dest, fast);
    assert.deepEqual(await Deno.readFile(dest), server.data);
    assert.equal(result.attempts, 3);
    assert.deepEqual(server.ranges, [null, "bytes=100000-", "bytes=200000-"]);
    assert.equal(result.verified, true);
  });
});

Deno.test("a part file left by an earlier run is resumed, not downloaded again", async () => {
  await withServer(async (server, dir) => {
    const dest = `${dir}/m.gguf`;
    await Deno.writeFile(`${dest}.part`, server.data.subarray(0, 123_456));
    const result = await downloadFile(`${server.url}/plain/model.gguf`, dest, fast);
    assert.equal(result.resumedFrom, 123_456);
    assert.deepEqual(server.ranges, ["bytes=123456-"]);
    assert.deepEqual(await Deno.readFile(dest), server.data);
    assert.equal(result.verified, false); // this path publishes no sha256
  });
});

Deno.test("a server that ignores Range makes the download restart from zero", async () => {
  await withServer(async (server, dir) => {
    server.faults.ignoreRange = true;
    const dest = `${dir}/m.gguf`;
    await Deno.writeFile(`${dest}.part`, new Uint8Array(5000).fill(7)); // garbage that must not survive
    await downloadFile(`${server.url}/org/repo/resolve/main/m.gguf`, dest, fast);
    assert.deepEqual(await Deno.readFile(dest), server.data);
  });
});

Deno.test("a sha256 mismatch removes the partial file and leaves no file under the final name", async () => {
  await withServer(async (server, dir) => {
    server.faults.lieSha256 = "0".repeat(64);
    const dest = `${dir}/m.gguf`;
    await assert.rejects(
      downloadFile(`${server.url}/org/repo/resolve/main/m.gguf`, dest, fast),
      (e: unknown) => e instanceof IntegrityError && e.message.includes(server.sha256),
    );
    assert.equal(await exists(dest), false);
    assert.equal(await exists(`${dest}.part`), false);
  });
});

Deno.test("an expected size the server contradicts is refused before downloading", async () => {
  await withServer(async (server, dir) => {
    await assert.rejects(
      downloadFile(`${server.url}/plain/model.gguf`, `${dir}/m.gguf`, { ...fast, expectedSize: 10 }),
      /offers 300000 bytes but 10 were expected/,
    );
  });
});

Deno.test("404 fails at once; persistent 503 fails after the retries", async () => {
  await withServer(async (server, dir) => {
    await assert.rejects(
      downloadFile(`${server.url}/nothing-here.gguf`, `${dir}/a.gguf`, fast),
      (e: unknown) => e instanceof DownloadError && e.status === 404 && /not found/.test(e.message),
    );
    server.faults.status = 503;
    await assert.rejects(
      downloadFile(`${server.url}/plain/model.gguf`, `${dir}/b.gguf`, { ...fast, retries: 2 }),
      (e: unknown) => e instanceof DownloadError && /after 3 attempts: HTTP 503/.test(e.message),
    );
  });
});

Deno.test("an unreachable server fails with the connection error after the retries", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close(); // nothing listens there now
    await assert.rejects(
      downloadFile(`http://127.0.0.1:${port}/m.gguf`, `${dir}/m.gguf`, { ...fast, retries: 1 }),
      (e: unknown) => e instanceof DownloadError && /cannot connect/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("etag and content-range parsing", () => {
  const sha = "a".repeat(64);
  assert.equal(sha256FromEtag(`"${sha}"`), sha);
  assert.equal(sha256FromEtag(`W/"${sha.toUpperCase()}"`), sha);
  assert.equal(sha256FromEtag('"abc"'), undefined);
  assert.equal(sha256FromEtag(null), undefined);
  assert.deepEqual(parseContentRange("bytes 10-19/100"), { start: 10, end: 19, total: 100 });
  assert.deepEqual(parseContentRange("bytes 10-19/*"), { start: 10, end: 19, total: undefined });
  assert.equal(parseContentRange("bytes 20-10/100"), undefined);
  assert.equal(parseContentRange("items 1-2/3"), undefined);
});
