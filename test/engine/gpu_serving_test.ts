/**
 * The scheduler on the WebGPU backend (the real adapter; lavapipe here): GPU-resident decode chunks
 * give the reference backend's greedy text, alone and batched, with few readbacks per token.
 */
import assert from "node:assert/strict";
import { createReferenceBackend } from "../../src/backend/reference/reference_backend.ts";
import { decodeOnGpu } from "../../src/backend/webgpu/gpu_decode.ts";
import { createWebGpuBackend } from "../../src/backend/webgpu/webgpu_backend.ts";
import { type LoadedModel, loadModel } from "../../src/engine/loaded_model.ts";
import { defaultSamplingParams, type SamplingParams } from "../../src/engine/sampler.ts";
import { Scheduler, type SchedulerOptions, type SequenceStream } from "../../src/engine/scheduler.ts";
import { testGpu } from "../backend/webgpu/gpu_test_device.ts";
import { STORIES_MODEL } from "../api/test_model.ts";

const { device, skipReason } = await testGpu();
/** Positions per slot: the prompts plus 64 generated tokens, with room to spare. */
const CTX = 128;
const PROMPTS = ["Once upon a time", "The cat", "Lily saw a big"];

function gpuTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: device ? name : `${name} (skipped: ${skipReason})`,
    ignore: !device,
    // the shared device's poll loop and pipeline cache outlive a test
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

async function withModel(
  backend: "reference" | "webgpu",
  slots: number,
  body: (model: LoadedModel) => Promise<void>,
): Promise<void> {
  const b = backend === "webgpu"
    ? await createWebGpuBackend({ device, f16: false })
    : createReferenceBackend();
  const model = await loadModel(STORIES_MODEL, b, { slots, ctx: CTX, maxBatch: 16 });
  try {
    await body(model);
  } finally {
    model.close();
  }
}

async function collect(stream: SequenceStream): Promise<{ text: string; tokens: number[] }> {
  let text = "";
  const tokens: number[] = [];
  for await (const piece of stream) {
    text += piece.text;
    tokens.push(piece.token);
  }
  return { text: text + (await stream.done).tail, tokens };
}

const greedy: SamplingParams = { ...defaultSamplingParams(), temperature: 0, seed: 1 };

/** Texts of `prompts` submitted together to a scheduler on `backend`. */
async function serve(
  backend: "reference" | "webgpu",
  prompts: readonly string[],
  request: { maxTokens: number; sampling?: SamplingParams; stop?: string[] },
  check?: (scheduler: Scheduler) => void,
  gpuDecode: SchedulerOptions["gpuDecode"] = true,
): Promise<string[]> {
  let texts: string[] = [];
  await withModel(backend, prompts.length, async (model) => {
    const scheduler = new Scheduler(model, { queueSize: 4, prefillChunk: 16, gpuDecode });
    try {
      const streams = prompts.map((p) =>
        scheduler.submit({
          prompt: model.tokenizer.encode(p),
          maxTokens: request.maxTokens,
          sampling: request.sampling ?? greedy,
          stop: request.stop,
        })
      );
      texts = (await Promise.all(streams.map(collect))).map((r) => r.text);
      check?.(scheduler);
    } finally {
      await scheduler.close();
    }
  });
  return texts;
}

gpuTest(
  "one GPU-served greedy sequence gives the reference text with at most 1/8 readback per token",
  async () => {
    const expected = await serve("reference", PROMPTS.slice(0, 1), { maxTokens: 64 });
    const got = await serve("webgpu", PROMPTS.slice(0, 1), { maxTokens: 64 }, (scheduler) => {
      const stats = scheduler.stats();
      assert.equal(stats.generatedTokens, 64);
      assert.ok(stats.gpuChunks! >= 2, `${stats.gpuChunks} GPU chunks`);
      assert.ok(stats.readbacksPerToken! <= 1 / 8, `${stats.readbacks} readbacks for 64 tokens`);
      assert.ok(stats.submitsPerToken! <= 1 / 8, `${stats.submits} submits for 64 tokens`);
    });
    assert.equal(got[0], expected[0]);
    assert.ok(expected[0].length > 100, "the run is long enough to mean something");
  },
);

gpuTest("three concurrent GPU-served greedy sequences each give their reference text", async () => {
  const expected = await serve("reference", PROMPTS, { maxTokens: 48 });
  const got = await serve("webgpu", PROMPTS, { maxTokens: 48 }, (scheduler) => {
    const stats = scheduler.stats();
    // three rows per step: readbacks are shared by the batch
    assert.ok(stats.readbacksPerToken! <= 1 / 8, `${stats.readbacks} readbacks for ${stats.generatedTokens}`);
  });
  assert.deepEqual(got, expected);
  assert.equal(new Set(got).size, 3, "the prompts give different stories");
});

gpuTest("a GPU-served sequence draws the same seeded tokens alone, batched, and as decodeOnGpu", async () => {
  const sampling: SamplingParams = { ...defaultSamplingParams(), temperature: 0.9, seed: 42 };
  const penalized: SamplingParams = { ...sampling, seed: 7, repetitionPenalty: 1.3, presencePenalty: 0.2 };
  await withModel("webgpu", 3, async (model) => {
    const scheduler = new Scheduler(model, { queueSize: 4, prefillChunk: 16 });
    const prompt = model.tokenizer.encode(PROMPTS[0]);
    const run = (params: SamplingParams, p = prompt) =>
      collect(scheduler.submit({ prompt: p, maxTokens: 40, sampling: params }));
    try {
      const alone = await run(sampling);
      const alonePenalized = await run(penalized);
      const [batched, , batchedPenalized] = await Promise.all([
        run(sampling),
        run(greedy, model.tokenizer.encode(PROMPTS[1])),
        run(penalized),
      ]);
      assert.deepEqual(batched.tokens, alone.tokens);
      assert.deepEqual(batchedPenalized.tokens, alonePenalized.tokens);
      assert.notDeepEqual(alone.tokens, alonePenalized.tokens);
      // the scheduler's convention is decodeOnGpu's: token j draws with seed + j
      const direct: number[] = [];
      for await (const token of decodeOnGpu(model.forward, prompt, { maxTokens: 40, ...sampling })) {
        direct.push(token);
      }
      assert.deepEqual(alone.tokens, direct.slice(0, alone.tokens.length));
    } finally {
      await scheduler.close();
    }
  });
});

gpuTest("a stop string cuts GPU-served text exactly where the reference backend cuts it", async () => {
  const [full] = await serve("reference", PROMPTS.slice(0, 1), { maxTokens: 48 });
  const words = full.trim().split(/\s+/);
  const stop = ` ${words[Math.floor(words.length / 2)]}`; // a word in the middle of the story
  const at = full.indexOf(stop);
  assert.ok(at > 0, `stop string ${JSON.stringify(stop)} occurs`);
  const [expected] = await serve("reference", PROMPTS.slice(0, 1), { maxTokens: 48, stop: [stop] });
  const [got] = await serve("webgpu", PROMPTS.slice(0, 1), { maxTokens: 48, stop: [stop] });
  assert.equal(expected, full.slice(0, at));
  assert.equal(got, expected);
});

gpuTest(
  "cancelling a GPU-served sequence frees its slot at the chunk boundary for a waiting request",
  async () => {
    await withModel("webgpu", 1, async (model) => {
      const scheduler = new Scheduler(model, { queueSize: 4, prefillChunk: 16 });
      try {
        const controller = new AbortController();
        const first = scheduler.submit({
          prompt: model.tokenizer.encode(PROMPTS[0]),
          maxTokens: 100,
          sampling: { ...defaultSamplingParams(), seed: 3 },
          signal: controller.signal,
        });
        let seen = 0;
        for await (const _ of first) if (++seen === 6) break; // into the GPU chunks
        const waiting = scheduler.submit({
          prompt: model.tokenizer.encode(PROMPTS[1]),
          maxTokens: 8,
          sampling: greedy,
        });
        assert.equal(scheduler.stats().queued, 1, "the second request waits for the only slot");
        controller.abort();
        const summary = await first.done;
        assert.equal(summary.finishReason, "cancelled");
        assert.ok(summary.generatedTokens < 100, `${summary.generatedTokens} tokens before the cancel`);
        const second = await collect(waiting);
        assert.equal(second.tokens.length, 8);
        assert.equal((await waiting.done).finishReason, "length");
        // a finished sequence leaves at the end of its chunk session, a few event-loop turns later
        const deadline = performance.now() + 2_000;
        while (scheduler.stats().active > 0 && performance.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        assert.equal(scheduler.stats().active, 0);
        assert.equal(scheduler.stats().kvTokens, 0);
      } finally {
        await scheduler.close();
      }
    });
  },
);

gpuTest(
  "sampling parameters beyond GPU sampling fall back to per-step CPU sampling with the same text",
  async () => {
    // the CPU sampler takes any top-k; the GPU kernel's is a u32
    const wide: SamplingParams = { ...greedy, topK: 2 ** 33 };
    const expected = await serve("reference", PROMPTS.slice(0, 2), { maxTokens: 24 });
    const got = await serve("webgpu", PROMPTS.slice(0, 2), { maxTokens: 24, sampling: wide }, (scheduler) => {
      const stats = scheduler.stats();
      assert.equal(stats.gpuChunks, 0, "no GPU chunk ran");
      assert.equal(stats.readbacks, 24, "one logits readback per step");
    });
    assert.deepEqual(got, expected);
  },
);

gpuTest("chunks recorded before the previous readback is awaited give the same texts and stops", async () => {
  // lavapipe's submit runs the work itself, so the measured mode never overlaps here: force it
  const request = { maxTokens: 48, stop: [" and"] };
  const expected = await serve("reference", PROMPTS, request);
  const got = await serve("webgpu", PROMPTS, request, (scheduler) => {
    assert.ok(scheduler.stats().gpuChunks! >= 2, `${scheduler.stats().gpuChunks} GPU chunks`);
  }, { overlap: "always" });
  assert.deepEqual(got, expected);
  assert.ok(expected.some((t) => t.length < 100), "a stop string ended some story early");
});
