/**
 * GPU sampling (kernels/penalize.wgsl, kernels/sample.wgsl) against the CPU sampler on fixed logits:
 * the set of tokens that may be drawn and their probabilities match `penalizedLogits` and the CPU
 * filters (top_k.ts, top_p.ts), greedy-with-penalties picks the CPU's token exactly, and the
 * GPU-resident decode loop with penalties matches the CPU sampler on stories260K.
 */
import { deepStrictEqual as assertEquals, ok as assert, rejects, throws } from "node:assert/strict";
import { createReferenceBackend } from "../../../src/backend/reference/reference_backend.ts";
import { decodeOnGpu } from "../../../src/backend/webgpu/gpu_decode.ts";
import { createWebGpuBackend, type WebGpuBackend } from "../../../src/backend/webgpu/webgpu_backend.ts";
import { WebGpuError } from "../../../src/backend/webgpu/webgpu_error.ts";
import { createRng, penalizedLogits, sample, type SamplingParams } from "../../../src/engine/sampler.ts";
import { topKIds } from "../../../src/engine/sampling/top_k.ts";
import { keptBy, topPCutoff } from "../../../src/engine/sampling/top_p.ts";
import { forwardTokens } from "../../../src/model/forward.ts";
import { testGpu } from "./gpu_test_device.ts";
import { openStories, readReferenceRun } from "./stories_model.ts";

const { device, skipReason } = await testGpu();
const VOCAB = 300;
/** f32 reductions on the GPU against f64 sums on the CPU. */
const PROB_TOLERANCE = 1e-5;

function gpuTest(name: string, fn: (b: WebGpuBackend) => Promise<void>): void {
  Deno.test({
    name: device ? name : `${name} (skipped: ${skipReason})`,
    ignore: !device,
    async fn() {
      const backend = await createWebGpuBackend({ device, f16: false });
      try {
        await fn(backend);
      } finally {
        backend.dispose();
      }
    },
  });
}

const neutral: SamplingParams = {
  temperature: 1,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
  frequencyPenalty: 0,
  presencePenalty: 0,
  penaltyLastN: -1,
};

/** Seeded logits in [-4, 4); `step` > 0 rounds them to multiples of it, making ties. */
function logitsOf(seed: number, step = 0): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: VOCAB }, () => {
    const v = rng.nextFloat() * 8 - 4;
    return step > 0 ? Math.round(v / step) * step : v;
  });
}

/** The CPU sampler's kept distribution (its filters, as in sampler.ts's `sample`), 0 elsewhere. */
function cpuDistribution(logits: Float32Array, history: number[], p: SamplingParams): Float64Array {
  const work = penalizedLogits(logits, history, p);
  let max = -Infinity;
  for (const v of work) max = Math.max(max, v);
  const pool = p.topK > 0 && p.topK < work.length ? topKIds(work, p.topK) : null;
  const minLogit = p.minP > 0 ? max + Math.log(p.minP) : -Infinity;
  let cutoff = -1;
  if (p.topP < 1) {
    if (pool) {
      let z = 0;
      for (const id of pool) z += Math.exp(work[id] - max);
      let mass = 0;
      cutoff = pool[pool.length - 1];
      for (const id of pool) {
        mass += Math.exp(work[id] - max);
        if (mass >= p.topP * z) {
          cutoff = id;
          break;
        }
      }
    } else cutoff = topPCutoff(work, max, p.topP);
  }
  const inPool = new Set(pool ?? []);
  const out = new Float64Array(work.length);
  let total = 0;
  for (let i = 0; i < work.length; i++) {
    const kept = (!pool || inPool.has(i)) && work[i] >= minLogit && (cutoff < 0 || keptBy(work, i, cutoff));
    if (kept) total += out[i] = Math.exp((work[i] - max) / p.temperature);
  }
  return out.map((w) => w / total);
}

/** The GPU's kept distribution for one row: sample with writeProbs and read the rewritten logits. */
async function gpuDistribution(
  b: WebGpuBackend,
  logits: Float32Array,
  history: number[],
  p: SamplingParams,
): Promise<Float32Array> {
  const x = b.alloc(VOCAB);
  b.write(x, logits);
  const ids = b.createTokenIds(history.length + 1);
  b.writeTokenIds(ids, 0, Int32Array.from(history));
  b.sampleTokens(ids, history.length, x, 1, VOCAB, {
    ...p,
    history: { ids, start: 0, count: history.length },
    writeProbs: true,
  });
  const probs = await b.read(x);
  b.destroyTokenIds(ids);
  return probs;
}

const HISTORY = [3, 17, 17, 42, 250, 3, 17, 299, 0];
const FILTER_CASES: { label: string; params: Partial<SamplingParams>; step?: number }[] = [
  { label: "top-k", params: { topK: 20 } },
  { label: "top-p", params: { topP: 0.6 } },
  { label: "top-p 0 keeps only the best", params: { topP: 0 } },
  { label: "top-k then top-p within its pool", params: { topK: 40, topP: 0.5 } },
  { label: "min-p", params: { minP: 0.3 } },
  { label: "top-k among tied logits keeps the lowest ids", params: { topK: 25 }, step: 0.5 },
  { label: "top-p among tied logits", params: { topP: 0.3, temperature: 0.7 }, step: 0.5 },
  {
    label: "penalties then every filter",
    params: {
      topK: 50,
      topP: 0.9,
      minP: 0.05,
      temperature: 0.8,
      repetitionPenalty: 1.5,
      frequencyPenalty: 0.3,
      presencePenalty: 0.2,
    },
  },
  {
    label: "penalties over the last 4 tokens only",
    params: { repetitionPenalty: 2, topK: 10, penaltyLastN: 4 },
  },
];

for (const [i, c] of FILTER_CASES.entries()) {
  gpuTest(`GPU sampling keeps the CPU sampler's candidates with its probabilities: ${c.label}`, async (b) => {
    const params = { ...neutral, ...c.params };
    const logits = logitsOf(100 + i, c.step);
    const lastN = params.penaltyLastN ?? 64;
    const window = lastN < 0 ? HISTORY : HISTORY.slice(Math.max(0, HISTORY.length - lastN));
    const want = cpuDistribution(logits, HISTORY, params);
    // the GPU takes the window as a range of the token buffer
    const got = await gpuDistribution(b, logits, window, params);
    const keptWant = [...want.keys()].filter((j) => want[j] > 0);
    const keptGot = [...got.keys()].filter((j) => got[j] > 0);
    assertEquals(keptGot, keptWant, "the kept ids");
    for (let j = 0; j < VOCAB; j++) {
      assert(Math.abs(got[j] - want[j]) <= PROB_TOLERANCE, `id ${j}: ${got[j]} vs ${want[j]}`);
    }
  });
}

gpuTest("greedy with penalties picks exactly the CPU sampler's token, lowest id on ties", async (b) => {
  const ids = b.createTokenIds(64);
  for (let seed = 0; seed < 8; seed++) {
    const logits = logitsOf(seed, seed % 2 ? 0.25 : 0);
    // the history repeats the best tokens, so the penalties change the winner
    const best = [...logits.keys()].sort((a, c) => logits[c] - logits[a] || a - c).slice(0, 3);
    const history = [...best, best[0], 5, best[1]];
    const params = {
      ...neutral,
      temperature: 0,
      repetitionPenalty: 1.3,
      frequencyPenalty: 0.25,
      presencePenalty: 0.1,
    };
    const x = b.alloc(VOCAB);
    b.write(x, logits);
    b.writeTokenIds(ids, 0, Int32Array.from(history));
    b.sampleTokens(ids, history.length, x, 1, VOCAB, {
      ...params,
      history: { ids, start: 0, count: history.length },
    });
    const [got] = await b.readTokenIds(ids, 1, history.length);
    assertEquals(got, sample(logits, history, params, createRng(0)), `seed ${seed}`);
  }
});

gpuTest("out-of-range sampling parameters are refused with a typed error", async (b) => {
  const x = b.alloc(VOCAB);
  const ids = b.createTokenIds(4);
  for (
    const bad of [{ topK: -1 }, { topK: 1.5 }, { topP: 1.5 }, { minP: -0.1 }, { repetitionPenalty: 0 }, {
      temperature: -1,
    }, { frequencyPenalty: NaN }]
  ) {
    throws(() => b.sampleTokens(ids, 0, x, 1, VOCAB, bad), WebGpuError, JSON.stringify(bad));
  }
  const history = { ids, start: 0, count: 1 };
  throws(() => b.sampleTokens(ids, 0, x, 2, VOCAB / 2, { repetitionPenalty: 1.2, history }), WebGpuError);
  throws(() =>
    b.sampleTokens(ids, 0, x, 1, VOCAB, { presencePenalty: 1, history: { ids, start: 2, count: 9 } })
  );
  await b.read(x); // the backend still works
});

gpuTest("GPU-resident greedy decode with penalties matches the CPU sampler on stories260K", async (b) => {
  const reference = await readReferenceRun();
  const params = {
    ...neutral,
    temperature: 0,
    repetitionPenalty: 2,
    frequencyPenalty: 1,
    presencePenalty: 1,
    penaltyLastN: 16,
  };
  const count = 24;
  // the CPU: the reference backend's logits and the CPU sampler, prompt included in the history
  const cpu = await openStories(createReferenceBackend());
  const history = [...reference.prompt_ids];
  let tokens = Int32Array.from(history);
  let pos = 0;
  while (history.length < reference.prompt_ids.length + count) {
    const n = tokens.length;
    const at = { slot: new Int32Array(n), pos: Int32Array.from({ length: n }, (_, i) => pos + i) };
    const logits = await cpu.backend.read(
      forwardTokens(cpu, tokens, at, Int32Array.of(n - 1)),
      cpu.cfg.vocab,
    );
    const next = sample(logits, history, params, createRng(0));
    history.push(next);
    pos += n;
    tokens = Int32Array.of(next);
  }
  const want = history.slice(reference.prompt_ids.length);
  assert(want.join() !== reference.generated_ids.slice(0, count).join(), "the penalties change the text");

  const ctx = await openStories(b);
  const got: number[] = [];
  const run = decodeOnGpu(ctx, reference.prompt_ids, { ...params, maxTokens: count });
  for await (const token of run) got.push(token);
  assertEquals(got, want);
  await rejects(async () => {
    for await (const _ of decodeOnGpu(ctx, reference.prompt_ids, { maxTokens: 4, penaltyLastN: -2 })) {
      // never reached
    }
  }, WebGpuError);
});
