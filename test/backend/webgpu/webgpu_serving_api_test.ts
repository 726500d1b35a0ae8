/**
 * The OpenAI-compatible API served from the WebGPU backend (the real adapter; lavapipe here) through a
 * real socket: streamed completions decoded GPU-resident give the reference backend's text.
 */
import assert from "node:assert/strict";
import { createApiHandler } from "../../../src/api/app.ts";
import { NodeState } from "../../../src/api/node_state.ts";
import { createServedModel } from "../../../src/api/served_model.ts";
import { createServeMetrics } from "../../../src/api/serve_metrics.ts";
import type { Backend } from "../../../src/backend/backend.ts";
import { createReferenceBackend } from "../../../src/backend/reference/reference_backend.ts";
import { createWebGpuBackend } from "../../../src/backend/webgpu/webgpu_backend.ts";
import { loadModel } from "../../../src/engine/loaded_model.ts";
import type { SchedulerStats } from "../../../src/engine/scheduler.ts";
import { testGpu } from "./gpu_test_device.ts";

const { device, skipReason } = await testGpu();
const MODEL = "../shared/models/stories260K.gguf";
const PROMPTS = ["Once upon a time", "The cat"];
const MAX_TOKENS = 40;

/** Streams `prompt` as SSE from /v1/completions and joins the text of its events. */
async function streamCompletion(url: string, prompt: string): Promise<string> {
  const response = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "stories", prompt, max_tokens: MAX_TOKENS, temperature: 0, stream: true }),
  });
  assert.equal(response.status, 200);
  let text = "";
  let buffered = "";
  const decoder = new TextDecoder();
  for await (const chunk of response.body!) {
    buffered += decoder.decode(chunk, { stream: true });
    const events = buffered.split("\n\n");
    buffered = events.pop()!;
    for (const event of events) {
      const data = event.replace(/^data: /, "");
      if (data === "[DONE]") continue;
      text += JSON.parse(data).choices[0].text;
    }
  }
  return text;
}

/** The texts of PROMPTS requested concurrently from a server on `backend`, and its scheduler's stats. */
async function serveAll(backend: Backend): Promise<{ texts: string[]; stats: SchedulerStats }> {
  const model = await loadModel(MODEL, backend, { slots: PROMPTS.length, ctx: 128, maxBatch: 16 });
  const served = createServedModel(model, { id: "stories", queueSize: 4, prefillChunk: 16 });
  const handler = createApiHandler({
    state: NodeState.ready(served),
    metrics: createServeMetrics(() => served.scheduler.stats()),
    options: { apiKeys: [], maxBodyBytes: 1 << 16, defaultMaxTokens: 16, retryAfterSeconds: 1 },
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  try {
    const url = `http://127.0.0.1:${server.addr.port}`;
    const texts = await Promise.all(PROMPTS.map((p) => streamCompletion(url, p)));
    return { texts, stats: served.scheduler.stats() };
  } finally {
    await served.scheduler.close();
    await server.shutdown();
    model.close();
  }
}

Deno.test({
  name: "streamed completions served GPU-resident match the reference backend's text" +
    (device ? "" : ` (skipped: ${skipReason})`),
  ignore: !device,
  sanitizeOps: false, // the shared device's poll loop outlives the test
  sanitizeResources: false,
  async fn() {
    const expected = await serveAll(createReferenceBackend());
    const got = await serveAll(await createWebGpuBackend({ device, f16: false }));
    assert.deepEqual(got.texts, expected.texts);
    assert.ok(got.texts.every((t) => t.length > 40), "each stream carries a story");
    assert.ok(got.stats.gpuChunks! > 0, "decoded in GPU chunks");
    assert.ok(
      got.stats.readbacksPerToken! <= 1 / 4,
      `${got.stats.readbacks} readbacks for ${got.stats.generatedTokens} tokens`,
    );
  },
});
