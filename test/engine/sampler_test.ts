import assert from "node:assert/strict";
import {
  argmax,
  createRng,
  defaultSamplingParams,
  penalizedLogits,
  sample,
  Sampler,
  SamplerError,
  type SamplingParams,
} from "../../src/engine/sampler.ts";

/** Parameters with every filter off, for tests that switch on one thing at a time. */
const PLAIN: SamplingParams = {
  temperature: 1,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
  frequencyPenalty: 0,
  presencePenalty: 0,
  penaltyLastN: 64,
};
const GREEDY: SamplingParams = { ...PLAIN, temperature: 0 };

function randomLogits(n: number, seed: number, scale = 4): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => (rng.nextFloat() * 2 - 1) * scale);
}

function softmax(logits: readonly number[], temperature = 1): number[] {
  const max = Math.max(...logits);
  const w = logits.map((l) => Math.exp((l - max) / temperature));
  const z = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / z);
}

/** Draw counts per id over `n` draws with one seeded RNG. */
function histogram(logits: Float32Array, params: SamplingParams, n: number, seed = 99): number[] {
  const rng = createRng(seed);
  const counts = new Array(logits.length).fill(0);
  for (let i = 0; i < n; i++) counts[sample(logits, [], params, rng)]++;
  return counts;
}

Deno.test("greedy picks the highest logit, the lowest id on ties, and ignores NaN", () => {
  const table: Array<[number[], number]> = [
    [[0.1, 2.5, -1, 2.4], 1],
    [[-3, -2, -2.5], 1],
    [[1, 5, 5, 0], 1],
    [[NaN, 0.2, 0.1], 1],
    [[-Infinity, -Infinity, -7], 2],
    [[7], 0],
  ];
  for (const [logits, want] of table) {
    assert.equal(sample(Float32Array.from(logits), [], GREEDY, createRng(1)), want, `${logits}`);
  }
});

Deno.test("top-k = 1 always equals greedy", () => {
  for (let seed = 0; seed < 50; seed++) {
    const logits = randomLogits(500, seed);
    const rng = createRng(seed);
    assert.equal(sample(logits, [], { ...PLAIN, topK: 1 }, rng), argmax(logits));
  }
});

Deno.test("the same seed gives the same tokens; another seed gives others", () => {
  const logits = randomLogits(1000, 5, 1);
  const run = (seed: number) => {
    const sampler = new Sampler(defaultSamplingParams(), createRng(seed));
    return Array.from({ length: 64 }, () => sampler.sample(logits, []));
  };
  assert.deepEqual(run(42), run(42));
  assert.notDeepEqual(run(42), run(43));
});

Deno.test("as temperature goes to 0 the draw becomes the argmax", () => {
  const logits = Float32Array.of(0.5, 1.2, 1.1, -0.3);
  const counts = histogram(logits, { ...PLAIN, temperature: 1e-3 }, 500);
  assert.deepEqual(counts, [0, 500, 0, 0]);
});

Deno.test("temperature-1 draws follow softmax(logits) (chi-square, 30000 draws)", () => {
  for (const temperature of [1, 0.5, 2]) {
    const logits = [1, 2, 0.5, -1, 3, 0];
    const n = 30_000;
    const counts = histogram(Float32Array.from(logits), { ...PLAIN, temperature }, n);
    const probs = softmax(logits, temperature);
    const chi2 = counts.reduce((acc, c, i) => acc + (c - n * probs[i]) ** 2 / (n * probs[i]), 0);
    // 5 degrees of freedom: P(χ² > 20.5) = 0.001 for a correct sampler.
    assert.ok(chi2 < 20.5, `T=${temperature}: chi2 ${chi2.toFixed(2)}, counts ${counts}`);
  }
});

Deno.test("top-k, top-p and min-p keep exactly the documented candidates", () => {
  const logits = Float32Array.from([0.5, 0.3, 0.15, 0.05].map(Math.log));
  const table: Array<[Partial<SamplingParams>, number[]]> = [
    [{ topK: 2 }, [0, 1]],
    [{ topK: 3 }, [0, 1, 2]],
    [{ topP: 0.45 }, [0]],
    [{ topP: 0.75 }, [0, 1]],
    [{ topP: 0.9 }, [0, 1, 2]],
    [{ minP: 0.5 }, [0, 1]], // p ≥ 0.25
    [{ minP: 0.2 }, [0, 1, 2]], // p ≥ 0.1
    [{ topP: 0.9, minP: 0.5 }, [0, 1]], // the stricter filter wins
    [{ topK: 3, topP: 0.75 }, [0, 1]],
  ];
  for (const [over, allowed] of table) {
    const counts = histogram(logits, { ...PLAIN, ...over }, 3000);
    const seen = counts.flatMap((c, id) => (c > 0 ? [id] : []));
    assert.deepEqual(seen, allowed, JSON.stringify(over));
  }
});

Deno.test("top-p probabilities are renormalized after top-k, as in llama.cpp", () => {
  // Without top-k, token 0 holds 0.4 of the mass; among the top 2 it holds 0.4/0.7 ≈ 0.57 ≥ 0.5.
  const logits = Float32Array.from([0.4, 0.3, 0.2, 0.1].map(Math.log));
  const seen = (over: Partial<SamplingParams>) =>
    histogram(logits, { ...PLAIN, ...over }, 2000).flatMap((c, id) => (c > 0 ? [id] : []));
  assert.deepEqual(seen({ topP: 0.5 }), [0, 1]);
  assert.deepEqual(seen({ topK: 2, topP: 0.5 }), [0]);
});

Deno.test("top-p over the whole vocabulary picks the same tokens on every code path", () => {
  const logits = randomLogits(2000, 8, 6);
  for (const topP of [0.3, 0.9]) {
    const draws = (over: Partial<SamplingParams>) => {
      const rng = createRng(17);
      return Array.from({ length: 200 }, () => sample(logits, [], { ...PLAIN, topP, ...over }, rng));
    };
    const lazy = draws({}); // lazy heap over all ids
    assert.deepEqual(draws({ topK: 1999 }), lazy); // size-k heap
    assert.deepEqual(draws({ minP: 1e-9 }), lazy); // sorted min-p survivors
  }
});

Deno.test("penalties change the choice exactly as defined", () => {
  const table: Array<[string, number[], number[], Partial<SamplingParams>, number]> = [
    ["repetition divides a positive logit", [2.0, 1.9], [0], { repetitionPenalty: 1.2 }, 1],
    ["repetition multiplies a negative logit", [-1.0, -1.1], [0], { repetitionPenalty: 1.2 }, 1],
    ["mild repetition penalty keeps the choice", [2.0, 1.9], [0], { repetitionPenalty: 1.02 }, 0],
    ["frequency counts occurrences", [1.0, 0.5], [0, 0, 0], { frequencyPenalty: 0.2 }, 1],
    ["frequency of one occurrence is not enough", [1.0, 0.5], [0], { frequencyPenalty: 0.2 }, 0],
    ["presence applies once", [1.0, 0.5], [0, 0, 0, 0], { presencePenalty: 0.4 }, 0],
    ["presence beyond the gap flips", [1.0, 0.5], [0], { presencePenalty: 0.6 }, 1],
    ["only the last N tokens count", [1.0, 0.5], [0, 0, 0, 1], { frequencyPenalty: 0.3, penaltyLastN: 2 }, 0],
    ["lastN = -1 counts the whole history", [1.0, 0.5], [0, 0, 0, 1], {
      frequencyPenalty: 0.3,
      penaltyLastN: -1,
    }, 1],
    ["lastN = 0 disables penalties", [1.0, 0.5], [0, 0, 0], { frequencyPenalty: 1, penaltyLastN: 0 }, 0],
  ];
  for (const [what, logits, history, over, want] of table) {
    assert.equal(
      sample(Float32Array.from(logits), history, { ...GREEDY, ...over }, createRng(1)),
      want,
      what,
    );
  }
  const logits = Float32Array.of(2, -2, 0.5);
  const out = penalizedLogits(logits, [0, 1, 1, 7, -3], {
    ...PLAIN,
    repetitionPenalty: 2,
    frequencyPenalty: 0.5,
  });
  assert.deepEqual([...out], [2 / 2 - 0.5, -2 * 2 - 1, 0.5]);
  assert.deepEqual([...logits], [2, -2, 0.5], "the input logits are not modified");
});

Deno.test("invalid parameters and unusable logits are SamplerErrors", () => {
  const logits = Float32Array.of(1, 2);
  const bad: Array<Partial<SamplingParams>> = [
    { temperature: -1 },
    { temperature: NaN },
    { topK: -1 },
    { topK: 1.5 },
    { topP: 1.5 },
    { topP: -0.1 },
    { minP: 2 },
    { repetitionPenalty: 0 },
    { frequencyPenalty: Infinity },
    { presencePenalty: NaN },
    { penaltyLastN: -2 },
  ];
  for (const over of bad) {
    assert.throws(
      () => sample(logits, [], { ...PLAIN, ...over }, createRng(1)),
      SamplerError,
      JSON.stringify(over),
    );
  }
  assert.throws(() => sample(new Float32Array(0), [], PLAIN, createRng(1)), SamplerError);
  assert.throws(() => sample(Float32Array.of(NaN, -Infinity), [], PLAIN, createRng(1)), SamplerError);
  assert.throws(() => new Sampler({ ...PLAIN, topK: -3 }, createRng(1)), SamplerError);
});

Deno.test("a +Infinity logit is chosen outright", () => {
  assert.equal(sample(Float32Array.of(0, Infinity, 3), [], PLAIN, createRng(1)), 1);
});

Deno.test("the RNG is seeded, uniform in [0, 1), and takes any finite seed", () => {
  const a = createRng(123);
  const b = createRng(123);
  const xs = Array.from({ length: 1000 }, () => a.nextFloat());
  assert.deepEqual(xs, Array.from({ length: 1000 }, () => b.nextFloat()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  // Seeds that differ only above 32 bits (Date.now()-sized) give different streams.
  assert.notEqual(createRng(2 ** 40).nextUint32(), createRng(2 ** 41).nextUint32());
  assert.notEqual(createRng(-1).nextUint32(), createRng(1).nextUint32());
  assert.throws(() => createRng(NaN), RangeError);
});

Deno.test("sampling a 150k vocabulary takes a few milliseconds per token", () => {
  const logits = randomLogits(150_000, 4, 8);
  const rng = createRng(3);
  const configs: SamplingParams[] = [
    defaultSamplingParams(),
    { ...PLAIN, topP: 0.95 }, // no top-k, no min-p: lazy heap
    { ...defaultSamplingParams(), repetitionPenalty: 1.1, frequencyPenalty: 0.1 },
  ];
  const history = Array.from({ length: 256 }, (_, i) => i * 37);
  for (const params of configs) {
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) sample(logits, history, params, rng);
    const perToken = (performance.now() - t0) / 50;
    assert.ok(perToken < 20, `${JSON.stringify(params)}: ${perToken.toFixed(2)} ms per token`);
  }
});

Deno.test("greedy without penalties (read in place) picks what the penalized copy's argmax picks", () => {
  // random logits with NaN, ±Infinity and ties, against the general path's definition
  const rng = createRng(2026);
  const special = [NaN, Infinity, -Infinity, 0.5];
  const greedy = { ...PLAIN, temperature: 0 };
  for (let trial = 0; trial < 2000; trial++) {
    const n = 1 + Math.floor(rng.nextFloat() * 40);
    const logits = Float32Array.from({ length: n }, () => {
      const r = rng.nextFloat();
      return r < 0.2
        ? special[Math.floor(rng.nextFloat() * special.length)]
        : Math.round(rng.nextFloat() * 8) / 4;
    });
    const before = Float32Array.from(logits);
    const work = penalizedLogits(logits, [], greedy);
    const best = argmax(work);
    if (work[best] === -Infinity) {
      assert.throws(() => sample(logits, [], greedy, rng), SamplerError);
    } else {
      assert.equal(sample(logits, [], greedy, rng), best, `logits ${Array.from(logits)}`);
    }
    assert.deepEqual(logits, before, "the caller's logits are left as they were");
  }
});
