/**
 * The conformance suite: every Backend op checked against the reference backend on fresh random inputs.
 *
 * Each case builds inputs with a seeded RNG, runs the op on the reference and on the candidate, and
 * compares with a tolerance scaled to the output's RMS: |candidate − reference| ≤ tol · (rms + 1e-6) at
 * every index. The first bad index is reported with both values. The seed is fresh per run (printed on
 * failure); set EDGERING_CONFORMANCE_SEED to replay one.
 *
 * A backend that cannot run a case says so through `skip` with a reason, and the case is listed as ignored.
 *
 * @example
 * ```ts
 * registerConformance("wasm", () => createWasmBackend({ threads: 2 }));
 * ```
 */
import type { Backend, KvCache, RopeParams, Tensor, Weight } from "../../src/backend/backend.ts";
import { createReferenceBackend } from "../../src/backend/reference/reference_backend.ts";
import { GgmlType, ggmlTypeInfo } from "../../src/quant/ggml_type.ts";
import { quantize } from "../../src/quant/mod.ts";

/** A mismatch between candidate and reference outputs. */
export interface Mismatch {
  readonly index: number;
  readonly expected: number;
  readonly actual: number;
  readonly tolerance: number;
}

/**
 * Compares `actual` to `expected`: every |difference| must be ≤ tol · (rms(expected) + 1e-6), and no value
 * may be NaN unless expected is. Returns the first bad index, or undefined when they agree.
 */
export function firstMismatch(
  expected: Float32Array,
  actual: Float32Array,
  tol: number,
): Mismatch | undefined {
  if (expected.length !== actual.length) {
    return {
      index: Math.min(expected.length, actual.length),
      expected: expected.length,
      actual: actual.length,
      tolerance: 0,
    };
  }
  let sumSquares = 0;
  for (const value of expected) sumSquares += value * value;
  const bound = tol * (Math.sqrt(sumSquares / Math.max(1, expected.length)) + 1e-6);
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= bound) && !(Number.isNaN(expected[i]) && Number.isNaN(actual[i]))) {
      return { index: i, expected: expected[i], actual: actual[i], tolerance: bound };
    }
  }
  return undefined;
}

/** Normalised mean squared error: Σ(actual − expected)² / Σ expected² (0 when both are zero). */
export function nmse(expected: Float32Array, actual: Float32Array): number {
  let diff = 0, norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i] - expected[i]) ** 2;
    norm += expected[i] ** 2;
  }
  return norm === 0 ? diff : diff / norm;
}

/** Small deterministic RNG for inputs (mulberry32). */
export function createInputRng(seed: number): { uniform(): number; normal(): number } {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform,
    normal: () => Math.sqrt(-2 * Math.log(uniform() || 1e-12)) * Math.cos(2 * Math.PI * uniform()),
  };
}

/**
 * Weight types the suite covers for matmul and embed, with the default relative tolerance of each.
 * Quantised types allow 5% of the output RMS at any one index because fast backends quantise the
 * activations to int8 per 32-value block (as llama.cpp does): that alone gives errors of about 0.6% RMS,
 * whose maximum over a few hundred outputs reaches 2–3%. The mean error is held much tighter by
 * {@link nmse} ≤ (tol / 4)², so a systematic mistake cannot hide under the per-index bound.
 */
export const WEIGHT_TYPE_TOLERANCE: ReadonlyMap<GgmlType, number> = new Map([
  [GgmlType.F32, 1e-4],
  [GgmlType.F16, 2e-3],
  [GgmlType.BF16, 2e-3],
  [GgmlType.Q8_0, 5e-2],
  [GgmlType.Q4_0, 5e-2],
  [GgmlType.Q4_1, 5e-2],
  [GgmlType.Q5_0, 5e-2],
  [GgmlType.Q5_1, 5e-2],
  [GgmlType.Q4_K, 5e-2],
  [GgmlType.Q5_K, 5e-2],
  [GgmlType.Q6_K, 5e-2],
]);

/** Tolerance of the f32 element-wise ops (norm, rope, attention, softmax, silu, add). */
export const F32_OP_TOLERANCE = 1e-4;

/** One conformance case: builds inputs on a backend, runs the op, returns the output to compare. */
export interface ConformanceCase {
  readonly name: string;
  /** relative tolerance (see firstMismatch) */
  readonly tolerance: number;
  /** weight type involved, when the op reads a weight */
  readonly weightType?: GgmlType;
  run(backend: Backend, seed: number): Promise<Float32Array>;
}

function randomValues(rng: ReturnType<typeof createInputRng>, count: number, scale = 1): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.normal() * scale;
  return out;
}

function tensorOf(backend: Backend, values: Float32Array): Tensor {
  const t = backend.alloc(values.length);
  backend.write(t, values);
  return t;
}

function weightOf(
  backend: Backend,
  name: string,
  type: GgmlType,
  rows: number,
  cols: number,
  values: Float32Array,
): Weight {
  const dims = rows === 1 ? [cols] : [cols, rows];
  return backend.uploadWeight({ name, type, dims }, quantize(type, values));
}

function matmulCase(type: GgmlType, rows: number, cols: number, n: number): ConformanceCase {
  return {
    name: `matmul ${ggmlTypeInfo(type)!.name} [${rows}x${cols}] n=${n}`,
    tolerance: WEIGHT_TYPE_TOLERANCE.get(type)!,
    weightType: type,
    run(b, seed) {
      const rng = createInputRng(seed);
      const w = weightOf(b, "w", type, rows, cols, randomValues(rng, rows * cols, 0.05));
      const x = tensorOf(b, randomValues(rng, n * cols));
      const out = b.alloc(n * rows);
      b.matmul(out, w, x, n);
      return b.read(out, n * rows);
    },
  };
}

function embedCase(type: GgmlType): ConformanceCase {
  const vocab = 40, dim = 256;
  return {
    name: `embed ${ggmlTypeInfo(type)!.name}`,
    tolerance: type === GgmlType.F32 ? 0 : 1e-6,
    weightType: type,
    run(b, seed) {
      const rng = createInputRng(seed);
      const table = weightOf(b, "embd", type, vocab, dim, randomValues(rng, vocab * dim, 0.05));
      const tokens = Int32Array.from({ length: 7 }, () => Math.floor(rng.uniform() * vocab));
      const out = b.alloc(tokens.length * dim);
      b.embed(out, table, tokens);
      return b.read(out);
    },
  };
}

function ropeCase(label: string, params: RopeParams, nHeads: number): ConformanceCase {
  return {
    name: `rope ${label}`,
    tolerance: F32_OP_TOLERANCE,
    run(b, seed) {
      const rng = createInputRng(seed);
      const n = 5;
      const x = tensorOf(b, randomValues(rng, n * nHeads * params.headDim));
      const pos = Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * 4000));
      b.rope(x, n, nHeads, pos, params);
      return b.read(x);
    },
  };
}

interface AttentionLayout {
  readonly label: string;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  /** per token of the final batch: [slot, pos] */
  readonly tokens: ReadonlyArray<readonly [number, number]>;
}

function attentionCase(layout: AttentionLayout): ConformanceCase {
  return {
    name: `attention ${layout.label}`,
    tolerance: F32_OP_TOLERANCE,
    async run(b, seed) {
      const rng = createInputRng(seed);
      const { nHeads, nKvHeads, headDim, tokens } = layout;
      const kvDim = nKvHeads * headDim;
      const slots = 1 + Math.max(...tokens.map(([slot]) => slot));
      const ctx = 2 + Math.max(...tokens.map(([, pos]) => pos));
      const cache: KvCache = b.createKvCache({ layers: 2, slots, ctx, kvDim });
      // history: every earlier position of each slot, stored one token at a time in layer 1
      for (let slot = 0; slot < slots; slot++) {
        const first = Math.min(...tokens.filter(([s]) => s === slot).map(([, p]) => p));
        for (let pos = 0; pos < first; pos++) {
          const k = tensorOf(b, randomValues(rng, kvDim));
          const v = tensorOf(b, randomValues(rng, kvDim));
          b.kvStore(cache, 1, k, v, 1, { slot: Int32Array.of(slot), pos: Int32Array.of(pos) });
        }
      }
      const n = tokens.length;
      const at = {
        slot: Int32Array.from(tokens.map(([s]) => s)),
        pos: Int32Array.from(tokens.map(([, p]) => p)),
      };
      const k = tensorOf(b, randomValues(rng, n * kvDim));
      const v = tensorOf(b, randomValues(rng, n * kvDim));
      b.kvStore(cache, 1, k, v, n, at);
      const q = tensorOf(b, randomValues(rng, n * nHeads * headDim));
      const out = b.alloc(n * nHeads * headDim);
      b.attention(out, q, cache, 1, n, at, { nHeads, nKvHeads, headDim, scale: 1 / Math.sqrt(headDim) });
      return await b.read(out);
    },
  };
}

function elementwiseCases(): ConformanceCase[] {
  const dim = 320, n = 3;
  return [
    {
      name: "rmsNorm",
      tolerance: F32_OP_TOLERANCE,
      run(b, seed) {
        const rng = createInputRng(seed);
        const w = weightOf(b, "norm", GgmlType.F32, 1, dim, randomValues(rng, dim));
        const x = tensorOf(b, randomValues(rng, n * dim, 3));
        const out = b.alloc(n * dim);
        b.rmsNorm(out, x, w, n, 1e-5);
        return b.read(out);
      },
    },
    {
      name: "addBias",
      tolerance: F32_OP_TOLERANCE,
      run(b, seed) {
        const rng = createInputRng(seed);
        const bias = weightOf(b, "bias", GgmlType.F32, 1, dim, randomValues(rng, dim));
        const x = tensorOf(b, randomValues(rng, n * dim));
        b.addBias(x, bias, n);
        return b.read(x);
      },
    },
    {
      name: "siluMul",
      tolerance: F32_OP_TOLERANCE,
      run(b, seed) {
        const rng = createInputRng(seed);
        const gate = tensorOf(b, randomValues(rng, n * dim, 4));
        const up = tensorOf(b, randomValues(rng, n * dim));
        const out = b.alloc(n * dim);
        b.siluMul(out, gate, up, n * dim);
        return b.read(out);
      },
    },
    {
      name: "add",
      tolerance: F32_OP_TOLERANCE,
      run(b, seed) {
        const rng = createInputRng(seed);
        const a = tensorOf(b, randomValues(rng, n * dim));
        const c = tensorOf(b, randomValues(rng, n * dim));
        b.add(a, a, c, n * dim);
        return b.read(a);
      },
    },
    {
      name: "softmax",
      tolerance: F32_OP_TOLERANCE,
      run(b, seed) {
        const rng = createInputRng(seed);
        const x = tensorOf(b, randomValues(rng, n * 1000, 8));
        b.softmax(x, n, 1000);
        return b.read(x);
      },
    },
    {
      name: "gatherRows",
      tolerance: 0,
      run(b, seed) {
        const rng = createInputRng(seed);
        const x = tensorOf(b, randomValues(rng, 6 * dim));
        const out = b.alloc(3 * dim);
        b.gatherRows(out, x, Int32Array.of(5, 0, 2), dim);
        return b.read(out);
      },
    },
  ];
}

/** Every case of the suite. */
export function conformanceCases(): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  for (const type of WEIGHT_TYPE_TOLERANCE.keys()) {
    for (const n of [1, 3, 8]) cases.push(matmulCase(type, 72, 512, n));
    cases.push(embedCase(type));
  }
  cases.push(
    ropeCase("normal", { headDim: 64, ropeDim: 64, freqBase: 10000, neox: false }, 4),
    ropeCase("neox", { headDim: 64, ropeDim: 64, freqBase: 1000000, neox: true }, 4),
    ropeCase("partial neox", { headDim: 64, ropeDim: 32, freqBase: 10000, neox: true }, 2),
    ropeCase("freq factors", {
      headDim: 32,
      ropeDim: 32,
      freqBase: 500000,
      neox: false,
      freqFactors: Float32Array.from({ length: 16 }, (_, i) => 1 + i / 2),
    }, 3),
    attentionCase({ label: "decode", nHeads: 4, nKvHeads: 4, headDim: 32, tokens: [[0, 37]] }),
    attentionCase({ label: "decode GQA", nHeads: 8, nKvHeads: 2, headDim: 64, tokens: [[0, 100]] }),
    attentionCase({
      label: "causal prefill",
      nHeads: 4,
      nKvHeads: 2,
      headDim: 32,
      tokens: [0, 1, 2, 3, 4, 5].map((p) => [0, p]),
    }),
    // past the WebGPU backend's SPLIT_ATTENTION_MIN_CONTEXT (256): decode attention split over the context
    attentionCase({ label: "long-context decode", nHeads: 2, nKvHeads: 1, headDim: 16, tokens: [[0, 300]] }),
    attentionCase({
      label: "batched decode over slots",
      nHeads: 4,
      nKvHeads: 1,
      headDim: 16,
      tokens: [[0, 9], [2, 3], [1, 20]],
    }),
    ...elementwiseCases(),
  );
  return cases;
}

/** Registration options: tolerance overrides and cases the candidate cannot run (with the reason). */
export interface ConformanceOptions {
  /** a relative tolerance replacing the default for this case, e.g. f16 activations on a GPU */
  readonly tolerance?: (testCase: ConformanceCase) => number | undefined;
  /** returns a reason when the backend cannot run the case */
  readonly skip?: (testCase: ConformanceCase) => string | undefined;
}

/** Runs one case on candidate and reference; returns a failure message or undefined. */
export async function checkCase(
  candidate: Backend,
  testCase: ConformanceCase,
  seed: number,
  tolerance = testCase.tolerance,
): Promise<string | undefined> {
  const reference = createReferenceBackend();
  const expected = await testCase.run(reference, seed);
  const actual = await testCase.run(candidate, seed);
  const bad = firstMismatch(expected, actual, tolerance);
  const error = nmse(expected, actual);
  if (!bad && error <= (tolerance / 4) ** 2) return undefined;
  if (!bad) {
    return `${candidate.name} ${testCase.name} (seed ${seed}): normalised mean squared error ${
      error.toExponential(2)
    } ` +
      `exceeds ${((tolerance / 4) ** 2).toExponential(2)}`;
  }
  return `${candidate.name} ${testCase.name} (seed ${seed}): first bad index ${bad.index}: expected ${bad.expected}, ` +
    `got ${bad.actual} (allowed ±${bad.tolerance.toExponential(2)})`;
}

/** Registers one Deno test per case for the backend made by `makeBackend`. */
export function registerConformance(
  label: string,
  makeBackend: () => Backend | Promise<Backend>,
  options: ConformanceOptions = {},
): void {
  const fixedSeed = Deno.env.get("EDGERING_CONFORMANCE_SEED");
  for (const testCase of conformanceCases()) {
    const reason = options.skip?.(testCase);
    Deno.test({
      name: `${label} conformance: ${testCase.name} matches the reference${
        reason ? ` (skipped: ${reason})` : ""
      }`,
      ignore: reason !== undefined,
      async fn() {
        const seed = fixedSeed ? Number(fixedSeed) : Math.floor(Math.random() * 2 ** 31);
        const backend = await makeBackend();
        try {
          const failure = await checkCase(backend, testCase, seed, options.tolerance?.(testCase));
          if (failure) throw new Error(failure);
        } finally {
          backend.dispose();
        }
      },
    });
  }
}
