/**
 * Greedy generation on the real stories260K model with the WebGPU backend matches the reference
 * engine token for token (ids recorded by the reference in ../shared/reference/stories260K.json),
 * in the f32 and the f16-KV variant. Each step is one forward call and one read of the logits.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { type ForwardContext, forwardTokens } from "../../../src/model/forward.ts";
import { createWebGpuBackend } from "../../../src/backend/webgpu/webgpu_backend.ts";
import { testGpu } from "./gpu_test_device.ts";
import { argmax, openStories, readReferenceRun } from "./stories_model.ts";

/** Greedy generation of `count` tokens after `prompt`, one forward and one logits read per token. */
async function generateGreedy(
  ctx: ForwardContext,
  prompt: readonly number[],
  count: number,
): Promise<number[]> {
  const out: number[] = [];
  let tokens = Int32Array.from(prompt);
  let pos = 0;
  while (out.length < count) {
    const n = tokens.length;
    const at = { slot: new Int32Array(n), pos: Int32Array.from({ length: n }, (_, i) => pos + i) };
    const logits = forwardTokens(ctx, tokens, at, Int32Array.of(n - 1));
    const next = argmax(await ctx.backend.read(logits, ctx.cfg.vocab));
    out.push(next);
    pos += n;
    tokens = Int32Array.of(next);
  }
  return out;
}

const { device, skipReason } = await testGpu();
const reference = await readReferenceRun();

for (const f16 of [false, true]) {
  const variant = f16 ? "f16 KV" : "f32";
  Deno.test({
    name: `webgpu ${variant} greedy generation on stories260K matches the reference token for token` +
      (device ? (f16 && !device.f16 ? " (skipped: no shader-f16)" : "") : ` (skipped: ${skipReason})`),
    ignore: !device || (f16 && !device.f16),
    async fn() {
      const backend = await createWebGpuBackend({ device, f16 });
      try {
        const ctx = await openStories(backend);
        const generated = await generateGreedy(ctx, reference.prompt_ids, reference.generated_ids.length);
        assertEquals(generated, reference.generated_ids);
      } finally {
        backend.dispose();
      }
    },
  });
}

Deno.test({
  name: "webgpu decode step is one submit and creates no pipeline or bind group once warm" +
    (device ? "" : ` (skipped: ${skipReason})`),
  ignore: !device,
  async fn() {
    const backend = await createWebGpuBackend({ device, f16: false });
    try {
      const ctx = await openStories(backend);
      const prompt = reference.prompt_ids;
      await generateGreedy(ctx, prompt, 2); // warm: prefill + one decode step
      const before = { ...backend.stats };
      const at = { slot: Int32Array.of(0), pos: Int32Array.of(prompt.length + 1) };
      const logits = forwardTokens(ctx, Int32Array.of(reference.generated_ids[1]), at, Int32Array.of(0));
      await backend.read(logits, ctx.cfg.vocab);
      const after = backend.stats;
      assertEquals(after.submits - before.submits, 1);
      assertEquals(after.readbacks - before.readbacks, 1);
      assertEquals(after.pipelinesCreated - before.pipelinesCreated, 0);
      assertEquals(after.bindGroupsCreated - before.bindGroupsCreated, 0);
      assert(
        after.dispatches - before.dispatches >= ctx.cfg.layers * 10,
        "every layer's ops were dispatched",
      );
    } finally {
      backend.dispose();
    }
  },
});
