/**
 * Matrix-vector benchmark of the wasm backend's kernels against the memory-bandwidth roofline.
 *
 * For each weight type and shape (rows × cols), at 1 and 2 threads: decode-style matvec (n = 1) over
 * enough copies of the matrix to exceed every cache (≥ 256 MiB of weights cycled), reported as GB/s of
 * weight bytes read and as a fraction of a read-only STREAM-style probe measured in the same process, with
 * the same thread count, inside wasm. Also prints the per-op synchronisation cost of the thread pool.
 *
 *   deno run -A bench/cpu_kernels.ts [--quick]
 */
import { createWasmBackend, type WasmBackend } from "../src/backend/wasm/mod.ts";
import type { Tensor, Weight } from "../src/backend/backend.ts";
import { GgmlType, quantize, tensorByteSize } from "../src/quant/mod.ts";

const QUICK = Deno.args.includes("--quick");
/** Weight bytes cycled per measurement: far beyond any L3, so every matvec streams from DRAM. */
const WORKING_SET_BYTES = (QUICK ? 64 : 256) * 1024 * 1024;
/** Timed passes over the working set (best one reported). */
const PASSES = QUICK ? 2 : 4;
const SHAPES: readonly [number, number][] = [[2048, 2048], [5632, 2048]];
const TYPES = [GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K];
const THREADS = [1, 2];

/** Deterministic pseudo-normal weights (std 0.02, like the synthetic presets). */
function weights(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = 0.02 * Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
  return out;
}

interface Row {
  type: string;
  shape: string;
  threads: number;
  gbps: number;
  probe: number;
  usPerMatvec: number;
}

async function measure(backend: WasmBackend, type: GgmlType, rows: number, cols: number, probe: number): Promise<Row> {
  const bytes = quantize(type, weights(rows * cols, rows ^ cols));
  const size = tensorByteSize(type, [cols, rows]);
  const copies = Math.max(2, Math.ceil(WORKING_SET_BYTES / size));
  const ws: Weight[] = [];
  for (let c = 0; c < copies; c++) ws.push(backend.uploadWeight({ name: `w${c}`, type, dims: [cols, rows] }, bytes));
  const x: Tensor = backend.alloc(cols);
  const y: Tensor = backend.alloc(rows);
  backend.write(x, weights(cols, 7).map((v) => v * 50));
  for (const w of ws) backend.matmul(y, w, x, 1); // warm-up pass
  let best = Infinity;
  for (let p = 0; p < PASSES; p++) {
    const t0 = performance.now();
    for (const w of ws) backend.matmul(y, w, x, 1);
    best = Math.min(best, (performance.now() - t0) / copies);
  }
  await backend.read(y, 1);
  const gbps = size / (best / 1000) / 1e9;
  return { type: GgmlType[type], shape: `${rows}×${cols}`, threads: backend.threads, gbps, probe, usPerMatvec: best * 1000 };
}

const rows: Row[] = [];
for (const threads of THREADS) {
  const probeBackend = await createWasmBackend({ threads });
  const probe = probeBackend.probeBandwidth(256 * 1024 * 1024, QUICK ? 3 : 5);
  const dispatchUs = probeBackend.measureDispatch();
  probeBackend.dispose();
  console.log(`${threads} thread(s): bandwidth probe ${probe.toFixed(1)} GB/s, dispatch ${dispatchUs.toFixed(2)} µs per op`);
  for (const [r, c] of SHAPES) {
    for (const type of TYPES) {
      const backend = await createWasmBackend({ threads });
      rows.push(await measure(backend, type, r, c, probe));
      backend.dispose();
    }
  }
}

console.log("\n| type | rows×cols | threads | µs / matvec | weight GB/s | probe GB/s | of roofline |");
console.log("|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(
    `| ${r.type} | ${r.shape} | ${r.threads} | ${r.usPerMatvec.toFixed(1)} | ${r.gbps.toFixed(1)} | ${r.probe.toFixed(1)} | ${
      (100 * r.gbps / r.probe).toFixed(0)
    }% |`,
  );
}
