import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { Backend, KvCache } from "../../../src/backend/backend.ts";
import { createReferenceBackend } from "../../../src/backend/reference/reference_backend.ts";
import {
  attentionSplits,
  MAX_ATTENTION_SPLITS,
  SPLIT_ATTENTION_MAX_TOKENS,
  SPLIT_ATTENTION_MIN_CONTEXT,
} from "../../../src/backend/webgpu/split_attention.ts";
import { createWebGpuBackend } from "../../../src/backend/webgpu/webgpu_backend.ts";
import { createRng } from "../../../src/engine/sampler.ts";
import { testGpu } from "./gpu_test_device.ts";

Deno.test("attention is split only for decode-sized batches past the context threshold", () => {
  const at = (...pos: number[]) => Int32Array.from(pos);
  const table: [Int32Array, number, ReturnType<typeof attentionSplits>][] = [
    [at(SPLIT_ATTENTION_MIN_CONTEXT - 2), 1, undefined],
    [at(SPLIT_ATTENTION_MIN_CONTEXT - 1), 1, { splits: 4, span: 64 }],
    [at(1000), 1, { splits: 16, span: 64 }],
    [at(3, 700), 2, { splits: 11, span: 64 }], // the longest token decides; shorter ones get empty slices
    [at(100_000), 1, { splits: MAX_ATTENTION_SPLITS, span: 3136 }],
    [new Int32Array(SPLIT_ATTENTION_MAX_TOKENS + 1).fill(900), SPLIT_ATTENTION_MAX_TOKENS + 1, undefined],
    [at(), 0, undefined],
  ];
  for (const [pos, n, want] of table) {
    const got = attentionSplits(pos, n);
    assertEquals(got, want, `pos ${pos} n ${n}`);
    if (got) {
      const context = Math.max(...pos) + 1;
      assert(got.splits * got.span >= context && (got.splits - 1) * got.span < context, "slices cover it");
    }
  }
});

const { device, skipReason } = await testGpu();

/** Attention of tokens at `tokens` ([slot, pos]) over a KV history filled in one batch per slot. */
async function attend(
  b: Backend,
  tokens: [number, number][],
  nHeads: number,
  nKvHeads: number,
  headDim: number,
) {
  const rng = createRng(9);
  const values = (n: number) => Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1);
  const tensor = (v: Float32Array) => {
    const t = b.alloc(v.length);
    b.write(t, v);
    return t;
  };
  const kvDim = nKvHeads * headDim;
  const slots = 1 + Math.max(...tokens.map(([s]) => s));
  const ctx = 1 + Math.max(...tokens.map(([, p]) => p));
  const cache: KvCache = b.createKvCache({ layers: 1, slots, ctx, kvDim });
  for (let slot = 0; slot < slots; slot++) {
    const n = ctx;
    const at = { slot: new Int32Array(n).fill(slot), pos: Int32Array.from({ length: n }, (_, i) => i) };
    b.kvStore(cache, 0, tensor(values(n * kvDim)), tensor(values(n * kvDim)), n, at);
  }
  const n = tokens.length;
  const q = tensor(values(n * nHeads * headDim));
  const out = b.alloc(n * nHeads * headDim);
  const at = {
    slot: Int32Array.from(tokens.map(([s]) => s)),
    pos: Int32Array.from(tokens.map(([, p]) => p)),
  };
  b.attention(out, q, cache, 0, n, at, { nHeads, nKvHeads, headDim, scale: 1 / Math.sqrt(headDim) });
  return await b.read(out);
}

for (const f16 of [false, true]) {
  const ignore = !device || (f16 && !device.f16);
  Deno.test({
    name: `split attention (${f16 ? "f16" : "f32"} KV) matches the reference for long-context decode, ` +
      `empty slices included` + (ignore ? ` (skipped: ${skipReason ?? "no shader-f16"})` : ""),
    ignore,
    async fn() {
      const gpu = await createWebGpuBackend({ device, f16 });
      try {
        // token 0 reaches the threshold, token 1 (another slot) is short: most of its slices are empty
        const tokens: [number, number][] = [[0, 600], [1, 20], [0, SPLIT_ATTENTION_MIN_CONTEXT - 1]];
        const want = await attend(createReferenceBackend(), tokens, 4, 2, 32);
        const before = gpu.stats.dispatches;
        const got = await attend(gpu, tokens, 4, 2, 32);
        // kvStore × 2 slots, then slices + combine
        assertEquals(gpu.stats.dispatches - before, 4, "the split path ran (two dispatches)");
        const tolerance = f16 ? 3e-3 : 1e-5;
        let scale = 0;
        for (const v of want) scale = Math.max(scale, Math.abs(v));
        for (let i = 0; i < want.length; i++) {
          assert(Math.abs(got[i] - want[i]) <= tolerance * scale, `index ${i}: ${got[i]} vs ${want[i]}`);
        }
      } finally {
        gpu.dispose();
      }
    },
  });
}
