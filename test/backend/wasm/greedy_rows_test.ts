/**
 * The wasm backend's greedy picks against the sampler's temperature-0 pick (the rule they replace in a
 * decode step): highest logit, lowest id on ties, NaN never chosen, −1 where the sampler finds nothing;
 * and the scheduler's steps that use them against generate(), which reads the logits and samples.
 */
import assert from "node:assert/strict";
import { createWasmBackend } from "../../../src/backend/wasm/mod.ts";
import { generate } from "../../../src/engine/generate.ts";
import { loadModel } from "../../../src/engine/loaded_model.ts";
import {
  createRng,
  defaultSamplingParams,
  sample,
  SamplerError,
  type SamplingParams,
} from "../../../src/engine/sampler.ts";
import { Scheduler } from "../../../src/engine/scheduler.ts";
import { createInputRng, freshSeed, normals, tensorOf } from "./helpers.ts";

const GREEDY = { ...defaultSamplingParams(), temperature: 0 };
const STORIES = new URL("../../../../shared/models/stories260K.gguf", import.meta.url).pathname;

/** The sampler's pick, or −1 where it refuses (only −∞ and NaN). */
function samplerPick(row: Float32Array): number {
  try {
    return sample(row, [], GREEDY, createRng(1));
  } catch (error) {
    if (error instanceof SamplerError) return -1;
    throw error;
  }
}

/** Rows of `length` logits, each with a twist the picker must get right. */
function trickyRows(rng: ReturnType<typeof createInputRng>, length: number): Float32Array[] {
  const plain = () => normals(rng, length);
  const rows: Float32Array[] = [plain()];
  // the maximum three times, in different SIMD lanes and the scalar tail: the first one wins
  const tie = plain();
  const top = 10;
  tie[Math.min(length - 1, 5)] = top;
  tie[Math.min(length - 1, 2)] = top;
  tie[length - 1] = top;
  rows.push(tie);
  // NaN everywhere but a few values; NaN at the front
  const nan = new Float32Array(length).fill(NaN);
  nan[length - 1] = -5;
  nan[Math.floor(length / 2)] = -7;
  rows.push(nan);
  rows.push(new Float32Array(length).fill(-Infinity)); // nothing to pick
  rows.push(new Float32Array(length).fill(NaN)); // nothing to pick
  // −0 before +0 and nothing higher: −0 equals +0, so the first wins
  const zeros = new Float32Array(length).fill(-1);
  zeros[Math.min(length - 1, 3)] = 0;
  zeros[Math.min(length - 1, 1)] = -0;
  rows.push(zeros);
  // +∞ in the scalar tail, a huge value before it
  const inf = plain();
  inf[0] = 3e38;
  inf[length - 1] = Infinity;
  rows.push(inf);
  return rows;
}

Deno.test("greedyRows picks what the temperature-0 sampler picks, on one and two threads", async () => {
  const seed = freshSeed();
  for (const threads of [1, 2]) {
    const b = await createWasmBackend({ threads });
    try {
      // lengths around the 4-lane steps, and a vocabulary big enough to split over the threads
      for (const length of [1, 3, 4, 7, 33, 32000]) {
        const rng = createInputRng(seed + length);
        const rows = trickyRows(rng, length);
        const logits = new Float32Array(rows.length * length);
        rows.forEach((row, i) => logits.set(row, i * length));
        const into = new Int32Array(rows.length + 2).fill(99);
        const ids = b.greedyRows(tensorOf(b, logits), rows.length, length, into);
        assert.equal(ids, into);
        assert.deepEqual(
          Array.from(ids.subarray(0, rows.length)),
          rows.map(samplerPick),
          `length ${length}, ${threads} thread(s), seed ${seed}`,
        );
        assert.deepEqual(Array.from(into.subarray(rows.length)), [99, 99], "writes past `rows`");
      }
    } finally {
      b.dispose();
    }
  }
});

Deno.test("greedyRows refuses shapes that do not fit", async () => {
  const b = await createWasmBackend({ threads: 1 });
  try {
    const t = b.alloc(10);
    assert.throws(() => b.greedyRows(t, 2, 6, new Int32Array(2)), /greedyRows logits/);
    assert.throws(() => b.greedyRows(t, 2, 5, new Int32Array(1)), /room for 1 ids, 2 rows/);
    assert.throws(() => b.greedyRows(t, -1, 5, new Int32Array(1)), /non-negative integer/);
    assert.deepEqual(Array.from(b.greedyRows(t, 0, 5, new Int32Array(0))), []);
  } finally {
    b.dispose();
  }
});

Deno.test("the scheduler's greedy steps on wasm give generate()'s tokens, beside a sampled sequence", async () => {
  const backend = await createWasmBackend({ threads: 2 });
  let picks = 0; // steps that took their tokens from greedyRows
  const greedyRows = backend.greedyRows.bind(backend);
  backend.greedyRows = (...args) => (picks++, greedyRows(...args));
  const model = await loadModel(STORIES, backend, { slots: 4, ctx: 96 });
  const scheduler = new Scheduler(model, { queueSize: 4, prefillChunk: 16 });
  try {
    const greedy = { temperature: 0 };
    const prompts = ["Once upon a time", "The cat", "Lily and Ben went to the park"]
      .map((text) => model.tokenizer.encode(text));
    const expected: number[][] = [];
    for (const prompt of prompts) {
      const ids: number[] = [];
      for await (const piece of generate(model, prompt, { maxTokens: 24, sampling: greedy })) {
        ids.push(piece.token);
      }
      expected.push(ids);
    }
    const tokensOf = async (stream: AsyncIterable<{ token: number }>) => {
      const ids: number[] = [];
      for await (const piece of stream) ids.push(piece.token);
      return ids;
    };
    const submit = (prompt: number[], sampling: Partial<SamplingParams>) =>
      scheduler.submit({ prompt, maxTokens: 24, sampling: { ...defaultSamplingParams(), ...sampling } });
    // all greedy (picked on the backend), then with a sampled batch-mate (every step reads the logits)
    assert.deepEqual(await Promise.all(prompts.map((p) => tokensOf(submit(p, greedy)))), expected);
    assert.ok(picks > 0, "no step picked its tokens on the backend");
    const mixed = await Promise.all([
      ...prompts.map((p) => tokensOf(submit(p, greedy))),
      tokensOf(submit(prompts[0], { temperature: 1, seed: 7 })),
    ]);
    assert.deepEqual(mixed.slice(0, 3), expected);
  } finally {
    await scheduler.close();
    model.close();
  }
});
