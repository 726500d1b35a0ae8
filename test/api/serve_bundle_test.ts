/**
 * Compile-readiness: `deno bundle src/main.ts` makes one file, and that file alone — run from an empty
 * folder, with an empty Deno cache in cached-only mode, no config file and read access to the model only —
 * serves a request. So `deno compile` needs nothing outside the module graph (no run-time reads of
 * source files, no npm packages fetched at run time).
 */
import assert from "node:assert/strict";
import { tinyModelPath } from "./test_model.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

Deno.test("the bundle of src/main.ts serves a completion on its own", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgering-bundle-test-" });
  try {
    const bundle = `${dir}/edgering.js`;
    const built = await new Deno.Command(Deno.execPath(), { args: ["bundle", MAIN, "-o", bundle] }).output();
    assert.equal(built.code, 0, new TextDecoder().decode(built.stderr));
    const model = await tinyModelPath();
    const modelDir = model.slice(0, model.lastIndexOf("/"));
    await Deno.mkdir(`${dir}/deno-cache`);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-config",
        "--cached-only",
        `--allow-read=${modelDir},${dir}`,
        "--allow-net=127.0.0.1",
        "--allow-env",
        bundle,
        "serve",
        // Worker modules (the gossip worker, the wasm pool's workers) are separate entry points that
        // `deno bundle` does not inline (`deno compile` takes them with --include): run without them.
        "--no-cluster",
        "--threads",
        "1",
        "--model",
        model,
        "--model-name",
        "tiny",
        "--port",
        "0",
        "--offline",
        "--ctx",
        "128",
        "--cache-dir",
        `${dir}/models`,
      ],
      cwd: dir,
      env: { DENO_DIR: `${dir}/deno-cache`, NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let log = "";
    let url: string | undefined;
    while (url === undefined) {
      const { done, value } = await reader.read();
      if (done) break;
      log += value;
      url = log.match(/serving tiny on (http:\/\/\S+)/)?.[1];
    }
    try {
      assert.ok(url, `the bundle did not start: ${log}`);
      const response = await fetch(`${url}/v1/completions`, {
        method: "POST",
        body: JSON.stringify({ model: "tiny", prompt: "Hello", max_tokens: 4, temperature: 0 }),
      });
      assert.equal(response.status, 200);
      const body = await response.json();
      assert.equal(body.usage.completion_tokens, 4);
      assert.equal(body.choices[0].finish_reason, "length");
    } finally {
      child.kill("SIGTERM");
      const drain = (async () => {
        while (!(await reader.read()).done) { /* discard the rest of the log */ }
      })();
      assert.equal((await child.status).code, 0);
      await drain;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
