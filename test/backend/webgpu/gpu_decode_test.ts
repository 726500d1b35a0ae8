import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { decodeOnGpu, type GpuDecodeSummary } from "../../../src/backend/webgpu/gpu_decode.ts";
import { createWebGpuBackend } from "../../../src/backend/webgpu/webgpu_backend.ts";
import type { ForwardContext } from "../../../src/model/forward.ts";
import { testGpu } from "./gpu_test_device.ts";
import { openStories, readReferenceRun } from "./stories_model.ts";

const { device, skipReason } = await testGpu();
const reference = await readReferenceRun();

async function collect(run: AsyncGenerator<number, GpuDecodeSummary>): Promise<[number[], GpuDecodeSummary]> {
  const tokens: number[] = [];
  for (;;) {
    const step = await run.next();
    if (step.done) return [tokens, step.value];
    tokens.push(step.value);
  }
}

function gpuTest(name: string, fn: (ctx: ForwardContext) => Promise<void>, f16 = false): void {
  const reason = !device ? skipReason : f16 && !device.f16 ? "the adapter lacks shader-f16" : undefined;
  Deno.test({
    name: reason ? `${name} (skipped: ${reason})` : name,
    ignore: reason !== undefined,
    async fn() {
      const backend = await createWebGpuBackend({ device, f16 });
      try {
        await fn(await openStories(backend));
      } finally {
        backend.dispose();
      }
    },
  });
}

for (const f16 of [false, true]) {
  gpuTest(
    `GPU-resident greedy decode (${
      f16 ? "f16 KV" : "f32"
    }) matches the reference with one readback per 8 tokens`,
    async (ctx) => {
      const [tokens, summary] = await collect(decodeOnGpu(ctx, reference.prompt_ids, { maxTokens: 32 }));
      assertEquals(tokens, reference.generated_ids);
      assertEquals(summary.finishReason, "length");
      assertEquals(summary.steps, 31, "no step runs past the token budget");
      assert(summary.readbacks <= 32 / 8, `${summary.readbacks} readbacks for 32 tokens`);
      assertEquals(summary.submits, summary.readbacks, "one submit per chunk");
      assertEquals(summary.readbacksPerToken, summary.readbacks / 32);
    },
    f16,
  );
}

gpuTest("a stop token ends GPU decoding at its chunk and the overshoot is discarded", async (ctx) => {
  const stopAt = 10; // the 11th generated token ends the run
  const stop = reference.generated_ids[stopAt];
  const first = reference.generated_ids.indexOf(stop);
  const [tokens, summary] = await collect(
    decodeOnGpu(ctx, reference.prompt_ids, { maxTokens: 32, stopTokens: [stop] }),
  );
  assertEquals(tokens, reference.generated_ids.slice(0, first));
  assertEquals(summary.finishReason, "stop");
  assert(summary.steps >= first && summary.steps < 32, `${summary.steps} steps`);
});

gpuTest("seeded GPU sampling is reproducible and a new seed changes the text", async (ctx) => {
  const options = { maxTokens: 12, temperature: 1, seed: 42 };
  const [a] = await collect(decodeOnGpu(ctx, reference.prompt_ids, options));
  const [b] = await collect(decodeOnGpu(ctx, reference.prompt_ids, options));
  const [c] = await collect(decodeOnGpu(ctx, reference.prompt_ids, { ...options, seed: 7 }));
  assertEquals(a, b);
  assert(a.length === 12 && a.every((t) => t >= 0 && t < ctx.cfg.vocab));
  assert(a.join() !== c.join(), "different seeds draw different tokens");
});

gpuTest("an aborted GPU decode stops after the chunk in hand", async (ctx) => {
  const abort = new AbortController();
  const run = decodeOnGpu(ctx, reference.prompt_ids, { maxTokens: 32, signal: abort.signal });
  const first = await run.next();
  assertEquals(first.value, reference.generated_ids[0]);
  abort.abort();
  const [rest, summary] = await collect(run);
  assertEquals(summary.finishReason, "abort");
  assert(rest.length < 31, `${rest.length} more tokens after abort`);
});
