/**
 * Matrix-vector benchmark of the wasm backend's kernels against the memory-bandwidth roofline.
 *
 * For each weight type and shape (rows × cols), at 1 and 2 threads: decode-style products (n = 1) cycling
 * over enough copies of the matrix that every product streams its weights from DRAM (≥ 256 MiB per
 * pass), reported as GB/s of weight bytes (GGUF size; the repacked Q4_0/Q8_0 rows hold the same bytes)
 * and as a fraction of a read-only STREAM-style probe over a 256 MiB buffer, measured inside wasm in the
 * same backend, with the same threads, just before. Also prints the cost of one synchronised dispatch
 * of the worker pool, and what a transformer layer pays for it.
 *
 * Batched decode: the same products for {@link BATCH} tokens at once (one step of that many concurrent
 * streams), reported as multiply-adds per second (GMAC/s, 1e9) and as the speed-up over {@link BATCH}
 * single-token products (1× = no gain from batching; {@link BATCH}× = the batch is free).
 *
 * The machine is shared and its speed varies: every figure is the best of several passes, after a
 * warm-up long enough for V8 to finish optimising the kernels.
 *
 * `--step`: whole engine decode steps instead (embed, every layer, logits and a greedy pick per row on
 * the backend, as the scheduler does for greedy sequences), of 1 row and of {@link BATCH} rows (one per KV slot) alternately in one process,
 * on bench:serve's default model (run bench:serve once to write it) or `--model FILE`. Prints the best
 * step times and what they mean for bench:serve's target: {@link BATCH} streams give
 * BATCH · t(1) ÷ t(BATCH) times the tokens/s of one (≥ 4× needs t(BATCH) ≤ 2·t(1)).
 *
 *   deno run -A bench/cpu_kernels.ts [--quick] [--types F32,Q8_0]
 *   deno run -A bench/cpu_kernels.ts --step [--model FILE]
 */
import { createWasmBackend, type WasmBackend } from "../src/backend/wasm/mod.ts";
import type { Weight } from "../src/backend/backend.ts";
import { loadModel } from "../src/engine/loaded_model.ts";
import { computeLogits, embedTokens, runLayers } from "../src/model/forward.ts";
import { GgmlType, quantize, tensorByteSize } from "../src/quant/mod.ts";

const QUICK = Deno.args.includes("--quick");
/** Weight bytes cycled per pass: far beyond any L3, so every product streams from DRAM. */
const WORKING_SET_BYTES = (QUICK ? 96 : 256) * 1024 * 1024;
/** The bandwidth probe's buffer (the STREAM-style reference). */
const PROBE_BYTES = 256 * 1024 * 1024;
/** Timed passes over the working set; the best one counts. */
const PASSES = QUICK ? 3 : 6;
/** Warm-up before timing, ms: V8 replaces its baseline code of the kernels with optimised code. */
const WARMUP_MS = 400;
/** Parallel ops a llama-style decode layer dispatches: q, k, v, o, gate, up, down matmuls and attention. */
const PARALLEL_OPS_PER_LAYER = 8;
/** Tokens of the batched-decode measurement (bench:serve's 8 streams). */
const BATCH = 8;

const SHAPES: readonly [number, number][] = [[2048, 2048], [5632, 2048]];
const ALL_TYPES = [GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K];
/** `--types F32,Q8_0` (ggml names) keeps only those; default all. */
const TYPES = typesArg(Deno.args);

function typesArg(args: readonly string[]): GgmlType[] {
  const at = args.indexOf("--types");
  if (at < 0) return ALL_TYPES;
  const names = (args[at + 1] ?? "").split(",").map((n) => n.trim().toUpperCase());
  const unknown = names.filter((n) => !ALL_TYPES.some((t) => GgmlType[t] === n));
  if (unknown.length > 0) {
    throw new Error(`--types: unknown ${unknown.join(", ")} (known: ${ALL_TYPES.map((t) => GgmlType[t])})`);
  }
  return ALL_TYPES.filter((t) => names.includes(GgmlType[t]));
}
const THREADS = [1, 2];

/** Deterministic pseudo-normal weights (std 0.02, like the synthetic presets). */
function normals(count: number, seed: number, std: number): Float32Array {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = std * Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
  }
  return out;
}

interface Row {
  readonly type: string;
  readonly shape: string;
  readonly threads: number;
  readonly usPerProduct: number;
  readonly gbps: number;
  readonly probe: number;
  /** µs per product of BATCH tokens */
  readonly usPerBatch: number;
}

function measure(b: WasmBackend, type: GgmlType, rows: number, cols: number): Row {
  const size = tensorByteSize(type, [cols, rows]);
  const bytes = quantize(type, normals(rows * cols, rows ^ cols, 0.02));
  const copies = Math.max(2, Math.ceil(WORKING_SET_BYTES / size));
  const weights: Weight[] = [];
  for (let c = 0; c < copies; c++) {
    weights.push(b.uploadWeight({ name: `w${c}`, type, dims: [cols, rows] }, bytes));
  }
  const x = b.alloc(cols);
  const y = b.alloc(rows);
  b.write(x, normals(cols, 7, 1));
  const pass = () => {
    for (const w of weights) b.matmul(y, w, x, 1);
  };
  const warmEnd = performance.now() + WARMUP_MS;
  while (performance.now() < warmEnd) pass();
  let best = Infinity;
  for (let p = 0; p < PASSES; p++) {
    const t0 = performance.now();
    pass();
    best = Math.min(best, (performance.now() - t0) / copies);
  }
  const xb = b.alloc(BATCH * cols);
  const yb = b.alloc(BATCH * rows);
  b.write(xb, normals(BATCH * cols, 11, 1));
  const batchPass = () => {
    for (const w of weights) b.matmul(yb, w, xb, BATCH);
  };
  batchPass();
  let bestBatch = Infinity;
  for (let p = 0; p < PASSES; p++) {
    const t0 = performance.now();
    batchPass();
    bestBatch = Math.min(bestBatch, (performance.now() - t0) / copies);
  }
  const probe = b.probeBandwidth(PROBE_BYTES, PASSES);
  return {
    type: GgmlType[type],
    shape: `${rows}×${cols}`,
    threads: b.threads,
    usPerProduct: best * 1000,
    gbps: size / (best / 1000) / 1e9,
    probe,
    usPerBatch: bestBatch * 1000,
  };
}

/** bench:serve's default model (a synthetic llama of stories15M's shape, F32). */
const STEP_MODEL = new URL("./out/stories15m-shape-f32.gguf", import.meta.url).pathname;
/** Context per KV slot in the step measurement, tokens (bench:serve's). */
const STEP_CTX = 256;
/** Decode steps per timed run: positions STEP_FIRST_POS.. onwards, as a 128-token completion reaches. */
const STEP_RUN = 128;
const STEP_FIRST_POS = 10;
/** Timed runs of each batch size, alternating; the best counts. */
const STEP_RUNS = QUICK ? 4 : 8;

/** Best ms per decode step of 1 and of {@link BATCH} rows on the wasm backend (2 threads). */
async function measureSteps(path: string): Promise<void> {
  const backend = await createWasmBackend({ threads: 2 });
  const model = await loadModel(path, backend, { slots: BATCH, ctx: STEP_CTX, maxBatch: BATCH });
  try {
    const { forward, cfg } = model;
    const ids = new Int32Array(BATCH);
    const run = (n: number): number => {
      const tokens = Int32Array.from({ length: n }, (_, i) => 100 + i);
      const slot = Int32Array.from({ length: n }, (_, i) => i);
      const pos = new Int32Array(n);
      const t0 = performance.now();
      for (let step = 0; step < STEP_RUN; step++) {
        pos.fill(STEP_FIRST_POS + step);
        embedTokens(forward, tokens);
        runLayers(forward, n, { slot, pos });
        backend.greedyRows(computeLogits(forward, slot), n, cfg.vocab, ids); // row i is slot i
        tokens.set(ids.subarray(0, n));
      }
      return (performance.now() - t0) / STEP_RUN;
    };
    run(1); // warm-up: JIT, and every slot's KV pages touched once
    run(BATCH);
    const best = { one: Infinity, batch: Infinity };
    for (let r = 0; r < STEP_RUNS; r++) {
      best.one = Math.min(best.one, run(1));
      best.batch = Math.min(best.batch, run(BATCH));
    }
    console.log(
      `${backend.description}, ${path.slice(path.lastIndexOf("/") + 1)}: decode step of 1 row ` +
        `${best.one.toFixed(3)} ms, of ${BATCH} rows ${best.batch.toFixed(3)} ms ` +
        `(${(best.batch / best.one).toFixed(2)}× the time): ${BATCH} streams ≈ ` +
        `${(BATCH * best.one / best.batch).toFixed(2)}× the tokens/s of one`,
    );
  } finally {
    model.close();
  }
}

if (Deno.args.includes("--step")) {
  const at = Deno.args.indexOf("--model");
  await measureSteps(at >= 0 ? Deno.args[at + 1] : STEP_MODEL);
  Deno.exit(0);
}

const results: Row[] = [];
for (const threads of THREADS) {
  const first = await createWasmBackend({ threads });
  const dispatchUs = first.measureDispatch();
  console.log(
    `${first.description}: one synchronised dispatch ${dispatchUs.toFixed(2)} µs, ` +
      `${
        (dispatchUs * PARALLEL_OPS_PER_LAYER).toFixed(1)
      } µs per decode layer (${PARALLEL_OPS_PER_LAYER} parallel ops)`,
  );
  first.dispose();
  for (const [rows, cols] of SHAPES) {
    for (const type of TYPES) {
      // a fresh backend per case: linear memory is only ever freed whole
      const b = await createWasmBackend({ threads });
      try {
        results.push(measure(b, type, rows, cols));
      } finally {
        b.dispose();
      }
    }
  }
}

console.log(
  "\n| type | rows×cols | threads | µs / product | weight GB/s | probe GB/s | of roofline " +
    `| µs / ${BATCH}-token product | ${BATCH}-token GMAC/s | batch gain |`,
);
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const r of results) {
  const pct = (100 * r.gbps / r.probe).toFixed(0);
  const [rows, cols] = r.shape.split("×").map(Number);
  const gmacs = (rows * cols * BATCH) / r.usPerBatch / 1000;
  const gain = (r.usPerProduct * BATCH) / r.usPerBatch;
  console.log(
    `| ${r.type} | ${r.shape} | ${r.threads} | ${r.usPerProduct.toFixed(1)} | ${r.gbps.toFixed(1)} | ` +
      `${r.probe.toFixed(1)} | ${pct}% | ${r.usPerBatch.toFixed(1)} | ${gmacs.toFixed(1)} | ${
        gain.toFixed(2)
      }× |`,
  );
}
