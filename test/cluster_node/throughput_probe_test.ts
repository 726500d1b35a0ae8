import assert from "node:assert/strict";
import { createReferenceBackend } from "../../src/backend/reference/reference_backend.ts";
import { decodeStreamBytes, probeDecodeThroughput } from "../../src/cluster_node/mod.ts";
import { prefill } from "../../src/engine/generate.ts";
import { loadModel } from "../../src/engine/loaded_model.ts";
import type { GgufTensorInfo } from "../../src/gguf/types.ts";
import { MODEL } from "./support/serve_process.ts";

const t = (name: string, byteSize: number) => ({ name, byteSize }) as GgufTensorInfo;

Deno.test("a decode step streams every weight but the embedding table, unless the head is tied to it", () => {
  const tensors = [t("token_embd.weight", 1000), t("blk.0.attn_q.weight", 100), t("output_norm.weight", 4)];
  assert.equal(decodeStreamBytes([...tensors, t("output.weight", 1000)], false), 1104);
  assert.equal(decodeStreamBytes(tensors, true), 1104, "the tied head reads the table");
  assert.equal(decodeStreamBytes([...tensors, t("rope_freqs.weight", 64)], true), 1104);
});

Deno.test("the probe reports weight bytes per second consistent with its own timing", async () => {
  const model = await loadModel(MODEL, createReferenceBackend(), { slots: 1, ctx: 64, maxBatch: 8 });
  try {
    await prefill(model, [1], 0);
    const probe = await probeDecodeThroughput(model);
    assert.equal(probe.streamBytes, decodeStreamBytes(model.file.header.tensors, model.cfg.tiedEmbeddings));
    assert.ok(probe.streamBytes > 0.8 * model.weights.bytes && probe.streamBytes <= model.weights.bytes);
    assert.ok(probe.tokens >= 3 && probe.tokens <= 32);
    assert.ok(Math.abs(probe.bytesPerSec - (probe.streamBytes * 1000) / probe.msPerToken) <= 1);
    assert.ok(probe.bytesPerSec > 1e6, `${probe.bytesPerSec} bytes/s`);
    // a clock that advances 2 ms per reading: every timed step takes exactly 2 ms
    let fake = 0;
    const fixed = await probeDecodeThroughput(model, () => (fake += 2));
    assert.equal(fixed.msPerToken, 2);
    assert.equal(fixed.bytesPerSec, Math.round(fixed.streamBytes * 500));
  } finally {
    model.close();
  }
});
