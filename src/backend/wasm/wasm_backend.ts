/**
 * The wasm backend: every op runs in SIMD WebAssembly kernels compiled from wasm/ (Rust, simd128, plus
 * relaxed-SIMD integer dot loops where the engine has them), on a pool of threads sharing one memory.
 *
 * Execution is synchronous: each op runs to completion when called, split over the pool's threads when
 * it is big enough to pay for the synchronisation (about 1–4 µs per op while the workers spin). Weights
 * stay in their GGUF type: F32, F16, Q8_0, Q4_0, Q4_K and Q6_K are read in block form by the kernels
 * (Q4_0 and Q8_0 rows are repacked at upload into groups of four f16 scales and four blocks of quants:
 * the file's bytes, reordered); other types are dequantised to F32 at upload. Matrix products
 * with quantised weights quantise the activations per block of 32 to int8 first (as llama.cpp does), so
 * they differ from the reference by that rounding; everything else is f32 (KV cache included).
 *
 * Results never depend on the thread count or the batch a token is in. The relaxed/simd128 choice changes
 * only F32 products, which multiply-add fused (FMA) on the relaxed path: last-bit differences.
 *
 * This file is the class that owns the backend's state and lifetime: the shared memory, the thread pool,
 * the scratch regions and caches, and the liveness check every op passes. The ops themselves run beside
 * it, each family in its own file taking that state as an OpContext (op_context.ts): weight_ops.ts
 * (embed, matmul, gateUpSilu and the activation preparation they share), activation_ops.ts,
 * attention_ops.ts (with the KV cache of wasm_kv_cache.ts) and bandwidth_probe.ts; weights are written
 * by weight_writer.ts.
 *
 * Beyond the Backend ops it offers `greedyRows` (each logits row's greedy pick, in a kernel), so the
 * scheduler's greedy decode steps read back one id per sequence instead of a row of logits.
 *
 * @example
 * ```ts
 * const backend = await createWasmBackend({ threads: 2 });
 * const w = backend.uploadWeight({ name: "wq", type: GgmlType.Q4_0, dims: [64, 64] }, bytes);
 * const x = backend.alloc(64);
 * const y = backend.alloc(64);
 * backend.write(x, input);
 * backend.matmul(y, w, x, 1);
 * console.log(await backend.read(y));
 * backend.dispose();
 * ```
 */
import { copyOut, settle } from "../read_into.ts";
import type {
  AttentionShape,
  Backend,
  KvCache,
  KvCacheSpec,
  RopeParams,
  Tensor,
  TokenPlacement,
  Weight,
  WeightSpec,
  WeightWriter,
} from "../backend.ts";
import { ggmlTypeInfo, tensorByteSize } from "../../quant/mod.ts";
import {
  runAdd,
  runAddBias,
  runGatherRows,
  runGreedyRows,
  runRmsNorm,
  runSiluMul,
  runSoftmax,
} from "./activation_ops.ts";
import { RopeTableCache, runAttention, runKvStore, runRope } from "./attention_ops.ts";
import { BandwidthProbe, measureDispatch } from "./bandwidth_probe.ts";
import { WasmBackendError } from "./errors.ts";
import { DESC_BYTES } from "./job.ts";
import { instantiateKernels, type KernelExports, kernelsModule, loadRelaxedModule } from "./kernels.ts";
import { LinearMemory, Scratch } from "./linear_memory.ts";
import { asTensor, type OpContext, WasmTensor } from "./op_context.ts";
import { ThreadPool } from "./thread_pool.ts";
import { createWasmKvCache } from "./wasm_kv_cache.ts";
import { startWeight } from "./weight_writer.ts";
import { ActivationCache, runEmbed, runGateUpSilu, runMatmul } from "./weight_ops.ts";

/** Options of {@link createWasmBackend}. */
export interface WasmBackendOptions {
  /** threads running each big op, the caller included (default: all cores); more threads, more speed
   * until memory bandwidth saturates */
  readonly threads?: number;
  /** use relaxed SIMD where the engine has it (default true); false forces the simd128 path, e.g. to
   * compare the two */
  readonly relaxed?: boolean;
}

/** Most threads a backend starts. */
const MAX_THREADS = 64;

/** Creates a wasm backend with its worker pool (resolves once every worker is ready). */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<WasmBackend> {
  const threads = options.threads ?? navigator.hardwareConcurrency ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new WasmBackendError(
      "bad_argument",
      `threads must be an integer in 1..${MAX_THREADS}, got ${threads}`,
    );
  }
  const relaxed = options.relaxed === false ? null : await loadRelaxedModule();
  const mem = new LinearMemory();
  let k: KernelExports;
  try {
    k = instantiateKernels(kernelsModule, relaxed, mem.memory);
    mem.reserveBelow(k.__heap_base.value as number);
  } catch (e) {
    if (e instanceof WasmBackendError) throw e;
    throw new WasmBackendError("unsupported", `cannot instantiate the wasm kernels: ${String(e)}`);
  }
  const pool = await ThreadPool.create(threads, mem, kernelsModule, relaxed, (d, t, n) => k.run(d, t, n));
  return new WasmBackend(mem, k, pool, relaxed !== null);
}

/** The SIMD WebAssembly CPU backend. Create with {@link createWasmBackend}. */
export class WasmBackend implements Backend {
  readonly name = "wasm" as const;
  readonly description: string;
  /** whether matmuls use the relaxed-SIMD loops (integer dots; FMA tiles for F32) */
  readonly relaxed: boolean;

  readonly #mem: LinearMemory;
  readonly #k: KernelExports;
  readonly #pool: ThreadPool;
  /** what the ops (weight_ops.ts, activation_ops.ts, attention_ops.ts, bandwidth_probe.ts) run with */
  readonly #ops: OpContext;
  /** matmul inputs prepared per weight type (weight_ops.ts) */
  readonly #acts: ActivationCache;
  readonly #ropeTables: RopeTableCache;
  readonly #repack: Scratch;
  readonly #probe = new BandwidthProbe();
  #disposed = false;

  /** @internal use {@link createWasmBackend} */
  constructor(mem: LinearMemory, k: KernelExports, pool: ThreadPool, relaxed: boolean) {
    this.#mem = mem;
    this.#k = k;
    this.#pool = pool;
    this.relaxed = relaxed;
    this.#ops = {
      owner: this,
      mem,
      pool,
      desc: mem.alloc(DESC_BYTES),
      relaxed,
      indices: new Scratch(mem),
      scores: new Scratch(mem),
      live: () => this.#live(),
    };
    this.#acts = new ActivationCache(mem);
    this.#ropeTables = new RopeTableCache(mem);
    this.#repack = new Scratch(mem);
    this.description = `wasm simd128${relaxed ? " + relaxed SIMD" : ""}, ${pool.threads} thread${
      pool.threads === 1 ? "" : "s"
    }`;
  }

  /** Threads big ops are split over. */
  get threads(): number {
    return this.#pool.threads;
  }

  /** Bytes of linear memory in use (weights, activations, caches, scratch). */
  get memoryBytes(): number {
    return this.#mem.usedBytes;
  }

  // ---- memory ----

  uploadWeight(spec: WeightSpec, data: Uint8Array): Weight {
    const info = ggmlTypeInfo(spec.type);
    if (info === undefined) {
      throw new WasmBackendError("unsupported", `${spec.name}: unknown ggml type ${spec.type}`);
    }
    const bytes = tensorByteSize(spec.type, spec.dims);
    if (data.length < bytes) {
      throw new WasmBackendError(
        "bad_argument",
        `${spec.name}: ${info.name} ${spec.dims} needs ${bytes} bytes, got ${data.length}`,
      );
    }
    const writer = this.beginWeight(spec);
    writer.write(data.subarray(0, bytes));
    return writer.finish();
  }

  beginWeight(spec: WeightSpec): WeightWriter {
    this.#live();
    return startWeight({ owner: this, mem: this.#mem, kernels: this.#k, repack: this.#repack }, spec);
  }

  alloc(length: number): Tensor {
    this.#live();
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new WasmBackendError(
        "bad_argument",
        `tensor length must be a non-negative integer, got ${length}`,
      );
    }
    return new WasmTensor(this, this.#mem.alloc(length * 4), length);
  }

  write(t: Tensor, data: Float32Array, offset = 0): void {
    const tensor = asTensor(this.#ops, t);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + data.length > tensor.length) {
      throw new WasmBackendError(
        "bad_argument",
        `write of ${data.length} values at ${offset} into a tensor of ${tensor.length}`,
      );
    }
    this.#mem.f32.set(data, tensor.ptr / 4 + offset);
    tensor.version++;
  }

  read(t: Tensor, length?: number, into?: Float32Array): Promise<Float32Array> {
    const tensor = asTensor(this.#ops, t);
    const n = length ?? tensor.length;
    if (!Number.isSafeInteger(n) || n < 0 || n > tensor.length) {
      return Promise.reject(
        new WasmBackendError("bad_argument", `read of ${n} values from a tensor of ${tensor.length}`),
      );
    }
    const values = this.#mem.f32.subarray(tensor.ptr / 4, tensor.ptr / 4 + n);
    return settle(() => copyOut(values, into));
  }

  createKvCache(spec: KvCacheSpec): KvCache {
    return createWasmKvCache(this.#ops, spec);
  }

  // ---- ops: run by weight_ops.ts, activation_ops.ts, attention_ops.ts ----

  embed(out: Tensor, table: Weight, tokens: Int32Array): void {
    runEmbed(this.#ops, out, table, tokens);
  }

  matmul(out: Tensor, w: Weight, x: Tensor, n: number): void {
    runMatmul(this.#ops, this.#acts, out, w, x, n);
  }

  /**
   * out = silu(x · gateᵀ) · (x · upᵀ). F32 weights take one dispatch (each thread applies silu·mul to the
   * rows it computed); other types run the three unfused ops. Bits equal the unfused ops' either way.
   */
  gateUpSilu(out: Tensor, gate: Weight, up: Weight, x: Tensor, n: number, scratch: Tensor): void {
    runGateUpSilu(this.#ops, this.#acts, out, gate, up, x, n, scratch);
  }

  addBias(x: Tensor, bias: Weight, n: number): void {
    runAddBias(this.#ops, x, bias, n);
  }

  rmsNorm(out: Tensor, x: Tensor, weight: Weight, n: number, eps: number): void {
    runRmsNorm(this.#ops, out, x, weight, n, eps);
  }

  rope(x: Tensor, n: number, nHeads: number, pos: Int32Array, p: RopeParams): void {
    runRope(this.#ops, this.#ropeTables, x, n, nHeads, pos, p);
  }

  kvStore(cache: KvCache, layer: number, k: Tensor, v: Tensor, n: number, at: TokenPlacement): void {
    runKvStore(this.#ops, cache, layer, k, v, n, at);
  }

  attention(
    out: Tensor,
    q: Tensor,
    cache: KvCache,
    layer: number,
    n: number,
    at: TokenPlacement,
    shape: AttentionShape,
  ): void {
    runAttention(this.#ops, out, q, cache, layer, n, at, shape);
  }

  siluMul(out: Tensor, gate: Tensor, up: Tensor, length: number): void {
    runSiluMul(this.#ops, out, gate, up, length);
  }

  add(out: Tensor, a: Tensor, b: Tensor, length: number): void {
    runAdd(this.#ops, out, a, b, length);
  }

  softmax(x: Tensor, n: number, rowLength: number): void {
    runSoftmax(this.#ops, x, n, rowLength);
  }

  gatherRows(out: Tensor, x: Tensor, rows: Int32Array, rowLength: number): void {
    runGatherRows(this.#ops, out, x, rows, rowLength);
  }

  /** into[i] = index of the highest value in logits row i (rows of `rowLength`), for i < rows. */
  greedyRows(logits: Tensor, rows: number, rowLength: number, into: Int32Array): Int32Array {
    return runGreedyRows(this.#ops, logits, rows, rowLength, into);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#pool.terminate();
    this.#acts.clear();
  }

  // ---- measurements (bandwidth_probe.ts) ----

  /**
   * Measures one synchronised dispatch of an empty job on all threads, µs (the per-op synchronisation
   * cost; a forward pass pays it once per parallel op).
   */
  measureDispatch(iterations = 10000): number {
    return measureDispatch(this.#ops, iterations);
  }

  /**
   * STREAM-style read-only memory-bandwidth probe inside wasm: reads a `bytes` buffer with `threads`
   * threads, `repeats` times after one warm-up pass, and returns the best GB/s (1e9 bytes/s).
   */
  probeBandwidth(bytes = 256 * 1024 * 1024, repeats = 5, threads = this.threads): number {
    return this.#probe.measure(this.#ops, bytes, repeats, threads);
  }

  #live(): void {
    if (this.#disposed) throw new WasmBackendError("disposed", "wasm backend used after dispose()");
  }
}
