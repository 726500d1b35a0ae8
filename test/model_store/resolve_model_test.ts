import assert from "node:assert/strict";
import {
  cachePath,
  DEFAULT_MODEL,
  describeRef,
  modelUrl,
  parseModelRef,
} from "../../src/model_store/model_ref.ts";
import { ModelStoreError, NoModelError } from "../../src/model_store/model_store_error.ts";
import { listCachedModels, resolveModel } from "../../src/model_store/resolve_model.ts";
import {
  createProgressReporter,
  describeProgress,
  formatBytes,
} from "../../src/model_store/progress_reporter.ts";
import { startFileServer, testBytes } from "./file_server.ts";

async function withDirs(body: (cacheDir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "edgering-resolve-test-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function closedPortUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `http://127.0.0.1:${port}`;
}

Deno.test("model references: files, URLs and hf:OWNER/REPO[@REV]/FILE", () => {
  assert.deepEqual(parseModelRef("models/a.gguf"), { kind: "file", path: "models/a.gguf" });
  assert.deepEqual(parseModelRef("https://x.org/m.gguf"), { kind: "url", url: "https://x.org/m.gguf" });
  assert.deepEqual(parseModelRef("hf:Org/Repo-GGUF/sub/m-q8_0.gguf"), {
    kind: "hf",
    owner: "Org",
    repo: "Repo-GGUF",
    revision: "main",
    file: "sub/m-q8_0.gguf",
  });
  const pinned = parseModelRef("hf:o/r@v1.0/m.gguf");
  assert.equal(pinned.kind === "hf" && pinned.revision, "v1.0");
  assert.equal(modelUrl(pinned as never, "http://mirror/"), "http://mirror/o/r/resolve/v1.0/m.gguf");
  for (
    const bad of [
      "hf:o/r",
      "hf:../r/m.gguf",
      "hf:o/r/../../etc/passwd",
      "hf:o/r@a@b/m.gguf",
      "hf:o/r/a b.gguf",
      "",
    ]
  ) {
    assert.throws(() => parseModelRef(bad), ModelStoreError, bad);
  }
  assert.equal(describeRef(parseModelRef("https://user:pw@x.org/m.gguf")), "https://x.org/m.gguf");
  assert.match(DEFAULT_MODEL, /^hf:HuggingFaceTB\/SmolLM2-135M-Instruct-GGUF\/.*q8_0\.gguf$/);
});

Deno.test("cache paths stay inside the cache directory", () => {
  assert.equal(cachePath(parseModelRef("hf:o/r/d/m.gguf") as never, "/c/"), "/c/models/hf/o/r/main/d/m.gguf");
  assert.equal(
    cachePath(parseModelRef("http://h:8/a/../b%2F..%2Fc.gguf?x=1") as never, "/c"),
    "/c/models/url/h_8/b_2F.._2Fc.gguf",
  );
});

Deno.test("a configured local file is used in place; a missing one is a clear error", async () => {
  await withDirs(async (cacheDir) => {
    const path = `${cacheDir}/local.gguf`;
    await Deno.writeFile(path, new Uint8Array(4));
    const found = await resolveModel({ model: path, cacheDir, offline: true });
    assert.deepEqual(found, { path, origin: "configured", description: path, downloaded: false });
    await assert.rejects(
      resolveModel({ model: `${cacheDir}/missing.gguf`, modelSource: "--model", cacheDir, offline: true }),
      /model file .*missing\.gguf \(from --model\) not found/,
    );
  });
});

Deno.test("an hf: model is downloaded into the cache once, then served from it offline", async () => {
  const server = startFileServer(testBytes(50_000, 3));
  await withDirs(async (cacheDir) => {
    const logs: string[] = [];
    const options = {
      model: "hf:org/repo/m.gguf",
      cacheDir,
      offline: false,
      hfEndpoint: server.url,
      log: (l: string) => logs.push(l),
    };
    const first = await resolveModel(options);
    assert.equal(first.downloaded, true);
    assert.equal(first.path, `${cacheDir}/models/hf/org/repo/main/m.gguf`);
    assert.deepEqual(await Deno.readFile(first.path), server.data);
    assert.ok(logs.some((l) => l.includes("verified")));
    await server.close();
    const second = await resolveModel({ ...options, offline: true });
    assert.equal(second.downloaded, false);
    assert.equal(second.path, first.path);
  });
});

Deno.test("without a configured model the most recently used cached model is chosen", async () => {
  await withDirs(async (cacheDir) => {
    const older = `${cacheDir}/models/hf/a/b/main/old.gguf`;
    const newer = `${cacheDir}/models/url/host/new.gguf`;
    for (const p of [older, newer]) {
      await Deno.mkdir(p.slice(0, p.lastIndexOf("/")), { recursive: true });
      await Deno.writeFile(p, new Uint8Array(8));
    }
    await Deno.writeFile(`${cacheDir}/models/url/host/partial.gguf.part`, new Uint8Array(8));
    await Deno.utime(older, new Date(2020, 1, 1), new Date(2020, 1, 1));
    await Deno.utime(newer, new Date(2021, 1, 1), new Date(2021, 1, 1));
    assert.deepEqual((await listCachedModels(cacheDir)).map((m) => m.path), [newer, older]);
    const found = await resolveModel({ cacheDir, offline: true });
    assert.equal(found.path, newer);
    assert.equal(found.origin, "cache");
  });
});

Deno.test("offline with nothing cached: one line saying what was tried and how to pass --model", async () => {
  await withDirs(async (cacheDir) => {
    await assert.rejects(resolveModel({ cacheDir, offline: true }), (e: unknown) => {
      assert.ok(e instanceof NoModelError);
      assert.equal(e.message.includes("\n"), false);
      assert.match(e.message, /no model configured/);
      assert.match(e.message, /no model in the cache/);
      assert.match(e.message, /offline/);
      assert.match(e.message, /--model FILE\.gguf/);
      return true;
    });
  });
});

Deno.test("no network and nothing cached: the failed default download is named in the one-line error", async () => {
  await withDirs(async (cacheDir) => {
    const endpoint = closedPortUrl();
    await assert.rejects(
      resolveModel({ cacheDir, offline: false, hfEndpoint: endpoint, retries: 0, retryDelayMs: 1 }),
      (e: unknown) =>
        e instanceof NoModelError &&
        e.message.includes(`downloading the default model ${DEFAULT_MODEL} failed`) &&
        e.message.includes("cannot connect") && !e.message.includes("\n"),
    );
  });
});

Deno.test("progress: a redrawn bar on a terminal, a line per tenth otherwise", () => {
  const p = (received: number) => ({ received, total: 1000, bytesPerSecond: 100, resumedFrom: 0 });
  let clock = 0;
  const bar: string[] = [];
  const terminal = createProgressReporter("m.gguf", (t) => bar.push(t), true, () => clock);
  terminal.onProgress(p(100));
  terminal.onProgress(p(150)); // within the redraw interval: skipped
  clock = 500;
  terminal.onProgress(p(1000));
  terminal.done();
  assert.equal(bar.length, 3);
  assert.ok(bar[0].startsWith("\r\x1b[2Km.gguf [===>"), bar[0]);
  assert.match(bar[1], /1000 B \/ 1000 B \(100\.0 %\)/);
  assert.equal(bar[2], "\n");
  const lines: string[] = [];
  const log = createProgressReporter("m.gguf", (t) => lines.push(t), false, () => 0);
  for (let r = 0; r <= 1000; r += 50) log.onProgress(p(r));
  assert.equal(lines.length, 11);
  assert.ok(lines.every((l) => l.startsWith("download m.gguf: ") && l.endsWith("\n")));
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.match(describeProgress(p(500)), /ETA 5 s/);
});
