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
import { GgmlType, ggmlTypeInfo, tensorByteSize } from "../../quant/mod.ts";
import { WasmBackendError } from "./errors.ts";
import { F32Word, FLAG_F16_NONFINITE, FLAG_RELAXED, Op, writeDesc } from "./job.ts";
import { instantiateKernels, type KernelExports, kernelsModule, loadRelaxedModule } from "./kernels.ts";
import { LinearMemory, Scratch } from "./linear_memory.ts";
import { ThreadPool } from "./thread_pool.ts";
import { startWeight, WasmWeight } from "./weight_writer.ts";

/** Options of {@link createWasmBackend}. */
export interface WasmBackendOptions {
  /** threads running each big op, the caller included (default: all cores); more threads, more speed
   * until memory bandwidth saturates */
  readonly threads?: number;
  /** use relaxed SIMD where the engine has it (default true); false forces the simd128 path, e.g. to
   * compare the two */
  readonly relaxed?: boolean;
}

/** Multiply-adds below which a matmul runs on the calling thread alone (dispatch costs ~1–2 µs). */
const PARALLEL_MIN_MACS = 1 << 16;
/** Elements below which elementwise ops, norms and RoPE run on the calling thread alone. */
const PARALLEL_MIN_ELEMENTS = 1 << 15;
/** Most threads a backend starts. */
const MAX_THREADS = 64;

class WasmTensor implements Tensor {
  /** bumped by every op and write that changes the contents (keys the activation-quantisation cache) */
  version = 0;
  constructor(readonly owner: WasmBackend, readonly ptr: number, readonly length: number) {}
}

class WasmKvCache implements KvCache {
  constructor(
    readonly owner: WasmBackend,
    readonly spec: KvCacheSpec,
    /** byte offsets of K and V, each f32 [slots, layers, ctx, kvDim] */
    readonly k: number,
    readonly v: number,
  ) {}
  /** element offset of (slot, layer, pos, 0) */
  offset(slot: number, layer: number, pos: number): number {
    const { layers, ctx, kvDim } = this.spec;
    return ((slot * layers + layer) * ctx + pos) * kvDim;
  }
}

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
  readonly #desc: number;
  readonly #act: Scratch;
  readonly #paired: Scratch;
  readonly #indices: Scratch;
  readonly #ropeTable: Scratch;
  readonly #scores: Scratch;
  readonly #repack: Scratch;
  /** what #act and #paired currently hold */
  #prepared: Record<"quant" | "pair", { t: WasmTensor; version: number; n: number; cols: number } | null> = {
    quant: null,
    pair: null,
  };
  #rope: { params: RopeParams; pos: Int32Array; ptr: number } | null = null;
  #probe: { ptr: number; bytes: number } | null = null;
  #disposed = false;

  /** @internal use {@link createWasmBackend} */
  constructor(mem: LinearMemory, k: KernelExports, pool: ThreadPool, relaxed: boolean) {
    this.#mem = mem;
    this.#k = k;
    this.#pool = pool;
    this.relaxed = relaxed;
    this.#desc = mem.alloc(128);
    this.#act = new Scratch(mem);
    this.#paired = new Scratch(mem);
    this.#indices = new Scratch(mem);
    this.#ropeTable = new Scratch(mem);
    this.#scores = new Scratch(mem);
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
    const tensor = this.#tensor(t);
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
    const tensor = this.#tensor(t);
    const n = length ?? tensor.length;
    if (!Number.isSafeInteger(n) || n < 0 || n > tensor.length) {
      return Promise.reject(
        new WasmBackendError("bad_argument", `read of ${n} values from a tensor of ${tensor.length}`),
      );
    }
    const values = this.#mem.f32.subarray(tensor.ptr / 4, tensor.ptr / 4 + n);
    return settle(() => copyOut(values, into));
  }

  greedyRows(logits: Tensor, rows: number, rowLength: number, into: Int32Array): Int32Array {
    const lt = this.#tensor(logits);
    this.#count(rows, "greedyRows rows");
    this.#count(rowLength, "greedyRows rowLength");
    this.#fits(lt, rows * rowLength, "greedyRows logits");
    if (into.length < rows) {
      throw new WasmBackendError("bad_argument", `greedyRows: room for ${into.length} ids, ${rows} rows`);
    }
    if (rows === 0) return into;
    const ids = this.#indices.get(rows * 4); // i32 [rows]
    this.#job(
      [Op.Greedy, lt.ptr, rows, rowLength, ids],
      rows > 1 && rows * rowLength >= PARALLEL_MIN_ELEMENTS,
    );
    into.set(this.#mem.i32.subarray(ids / 4, ids / 4 + rows));
    return into;
  }

  createKvCache(spec: KvCacheSpec): KvCache {
    this.#live();
    for (const key of ["layers", "slots", "ctx", "kvDim"] as const) {
      if (!Number.isSafeInteger(spec[key]) || spec[key] <= 0) {
        throw new WasmBackendError(
          "bad_argument",
          `KV cache ${key} must be a positive integer, got ${spec[key]}`,
        );
      }
    }
    const bytes = spec.slots * spec.layers * spec.ctx * spec.kvDim * 4;
    const cache = new WasmKvCache(this, { ...spec }, this.#mem.alloc(bytes), this.#mem.alloc(bytes));
    this.#scores.get(this.threads * spec.ctx * 4);
    return cache;
  }

  embed(out: Tensor, table: Weight, tokens: Int32Array): void {
    const o = this.#tensor(out);
    const w = this.#weight(table);
    const n = tokens.length;
    this.#fits(o, n * w.cols, "embed output");
    for (const token of tokens) {
      if (!Number.isInteger(token) || token < 0 || token >= w.rows) {
        throw new RangeError(`token id ${token} outside vocabulary of ${w.rows}`);
      }
    }
    if (n === 0) return;
    const idx = this.#indices.get(n * 4);
    this.#mem.i32.set(tokens, idx / 4);
    this.#job([Op.Embed, w.storage, w.ptr, w.cols, idx, n, o.ptr], n * w.cols >= PARALLEL_MIN_ELEMENTS);
    o.version++;
  }

  matmul(out: Tensor, w: Weight, x: Tensor, n: number): void {
    const o = this.#tensor(out);
    const wt = this.#weight(w);
    const xt = this.#tensor(x);
    this.#count(n, "matmul n");
    this.#fits(xt, n * wt.cols, "matmul input");
    this.#fits(o, n * wt.rows, "matmul output");
    if (o === xt) throw new WasmBackendError("bad_argument", "matmul output must not alias its input");
    if (n === 0) return;
    const parallel = wt.rows * wt.cols * n >= PARALLEL_MIN_MACS;
    const s = wt.storage;
    if (s === GgmlType.F32) {
      const flags = this.relaxed ? FLAG_RELAXED : 0;
      this.#job([Op.Matmul, s, wt.ptr, wt.rows, wt.cols, xt.ptr, n, o.ptr, flags], parallel);
    } else if (s === GgmlType.F16 && wt.flags & FLAG_F16_NONFINITE) {
      this.#job([Op.Matmul, s, wt.ptr, wt.rows, wt.cols, xt.ptr, n, o.ptr, wt.flags], parallel);
    } else if (s === GgmlType.F16) {
      const paired = this.#prepare("pair", xt, n, wt.cols);
      this.#job([Op.Matmul, s, wt.ptr, wt.rows, wt.cols, paired, n, o.ptr, wt.flags], parallel);
    } else {
      const act = this.#prepare("quant", xt, n, wt.cols);
      const flags = wt.flags | (this.relaxed && wt.relaxedOk ? FLAG_RELAXED : 0);
      this.#job([Op.Matmul, s, wt.ptr, wt.rows, wt.cols, act, n, o.ptr, flags], parallel);
    }
    o.version++;
  }

  /**
   * out = silu(x · gateᵀ) · (x · upᵀ). F32 weights take one dispatch (each thread applies silu·mul to the
   * rows it computed); other types run the three unfused ops. Bits equal the unfused ops' either way.
   */
  gateUpSilu(out: Tensor, gate: Weight, up: Weight, x: Tensor, n: number, scratch: Tensor): void {
    const o = this.#tensor(out);
    const g = this.#weight(gate);
    const u = this.#weight(up);
    const xt = this.#tensor(x);
    const st = this.#tensor(scratch);
    if (g.rows !== u.rows || g.cols !== u.cols) {
      throw new WasmBackendError(
        "bad_argument",
        `gateUpSilu: ${g.name} [${g.rows}x${g.cols}] and ${u.name} [${u.rows}x${u.cols}] differ in shape`,
      );
    }
    if (st === o || st === xt) {
      throw new WasmBackendError("bad_argument", "gateUpSilu scratch must not alias out or x");
    }
    if (g.storage !== GgmlType.F32 || u.storage !== GgmlType.F32) {
      this.matmul(out, gate, x, n);
      this.matmul(scratch, up, x, n);
      this.siluMul(out, out, scratch, n * g.rows);
      return;
    }
    this.#count(n, "gateUpSilu n");
    this.#fits(xt, n * g.cols, "gateUpSilu input");
    this.#fits(o, n * g.rows, "gateUpSilu output");
    this.#fits(st, n * g.rows, "gateUpSilu scratch");
    if (o === xt) throw new WasmBackendError("bad_argument", "gateUpSilu output must not alias its input");
    if (n === 0) return;
    const flags = this.relaxed ? FLAG_RELAXED : 0;
    this.#job(
      [Op.GateUpSilu, g.ptr, u.ptr, g.rows, g.cols, xt.ptr, n, o.ptr, st.ptr, flags],
      2 * g.rows * g.cols * n >= PARALLEL_MIN_MACS,
    );
    o.version++;
    st.version++;
  }

  addBias(x: Tensor, bias: Weight, n: number): void {
    const xt = this.#tensor(x);
    const b = this.#weight(bias);
    const len = b.rows * b.cols;
    this.#count(n, "addBias n");
    this.#fits(xt, n * len, "addBias input");
    if (b.f32Ptr < 0) throw new WasmBackendError("bad_argument", `${b.name} is not a vector`);
    if (n === 0) return;
    this.#job([Op.AddBias, xt.ptr, b.f32Ptr, n, len], n * len >= PARALLEL_MIN_ELEMENTS);
    xt.version++;
  }

  rmsNorm(out: Tensor, x: Tensor, weight: Weight, n: number, eps: number): void {
    const o = this.#tensor(out);
    const xt = this.#tensor(x);
    const w = this.#weight(weight);
    const len = w.rows * w.cols;
    this.#count(n, "rmsNorm n");
    this.#fits(xt, n * len, "rmsNorm input");
    this.#fits(o, n * len, "rmsNorm output");
    if (w.f32Ptr < 0) throw new WasmBackendError("bad_argument", `${w.name} is not a vector`);
    if (n === 0) return;
    this.#job(
      [Op.RmsNorm, o.ptr, xt.ptr, w.f32Ptr, n, len, new F32Word(eps)],
      n * len >= PARALLEL_MIN_ELEMENTS,
    );
    o.version++;
  }

  rope(x: Tensor, n: number, nHeads: number, pos: Int32Array, p: RopeParams): void {
    const xt = this.#tensor(x);
    this.#count(n, "rope n");
    this.#count(nHeads, "rope nHeads");
    this.#fits(xt, n * nHeads * p.headDim, "rope input");
    if (pos.length < n) {
      throw new WasmBackendError("bad_argument", `rope: ${pos.length} positions for ${n} tokens`);
    }
    if (p.ropeDim % 2 !== 0 || p.ropeDim > p.headDim || p.ropeDim < 0) {
      throw new WasmBackendError(
        "bad_argument",
        `rope: ropeDim ${p.ropeDim} must be even and ≤ headDim ${p.headDim}`,
      );
    }
    if (p.freqFactors && p.freqFactors.length < p.ropeDim / 2) {
      throw new WasmBackendError(
        "bad_argument",
        `rope: ${p.freqFactors.length} freq factors for ${p.ropeDim / 2} pairs`,
      );
    }
    if (n === 0 || p.ropeDim === 0) return;
    const table = this.#ropeTableFor(pos.subarray(0, n), p);
    this.#job(
      [Op.Rope, xt.ptr, n, nHeads, p.headDim, p.ropeDim, p.neox ? 1 : 0, table],
      n * nHeads * p.ropeDim >= PARALLEL_MIN_ELEMENTS,
    );
    xt.version++;
  }

  kvStore(cache: KvCache, layer: number, k: Tensor, v: Tensor, n: number, at: TokenPlacement): void {
    const c = this.#cache(cache);
    const kt = this.#tensor(k);
    const vt = this.#tensor(v);
    const kvDim = c.spec.kvDim;
    this.#count(n, "kvStore n");
    this.#fits(kt, n * kvDim, "kvStore k");
    this.#fits(vt, n * kvDim, "kvStore v");
    this.#placements(at, n);
    const f32 = this.#mem.f32;
    for (let i = 0; i < n; i++) {
      checkPlacement(c.spec, layer, at.slot[i], at.pos[i]);
      const off = c.offset(at.slot[i], layer, at.pos[i]);
      f32.copyWithin(c.k / 4 + off, kt.ptr / 4 + i * kvDim, kt.ptr / 4 + (i + 1) * kvDim);
      f32.copyWithin(c.v / 4 + off, vt.ptr / 4 + i * kvDim, vt.ptr / 4 + (i + 1) * kvDim);
    }
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
    const o = this.#tensor(out);
    const qt = this.#tensor(q);
    const c = this.#cache(cache);
    const { nHeads, nKvHeads, headDim, scale } = shape;
    this.#count(n, "attention n");
    if (!(nHeads > 0 && nKvHeads > 0 && nHeads % nKvHeads === 0 && nKvHeads * headDim === c.spec.kvDim)) {
      throw new WasmBackendError(
        "bad_argument",
        `attention: ${nHeads} heads, ${nKvHeads} kv heads of ${headDim} do not fit kvDim ${c.spec.kvDim}`,
      );
    }
    const qDim = nHeads * headDim;
    this.#fits(qt, n * qDim, "attention q");
    this.#fits(o, n * qDim, "attention output");
    if (o === qt) throw new WasmBackendError("bad_argument", "attention output must not alias q");
    this.#placements(at, n);
    let work = 0;
    for (let i = 0; i < n; i++) {
      checkPlacement(c.spec, layer, at.slot[i], at.pos[i]);
      work += (at.pos[i] + 1) * qDim;
    }
    if (n === 0) return;
    const idx = this.#indices.get(n * 8);
    this.#mem.i32.set(at.slot.subarray(0, n), idx / 4);
    this.#mem.i32.set(at.pos.subarray(0, n), idx / 4 + n);
    const stride = nHeads * c.spec.ctx * 4; // a thread's scores: f32 [nHeads][ctx]
    const scores = this.#scores.get(this.threads * stride);
    const { layers, ctx, kvDim } = c.spec;
    this.#job(
      [
        Op.Attention,
        o.ptr,
        qt.ptr,
        c.k,
        c.v,
        n,
        idx,
        idx + n * 4,
        nHeads,
        nKvHeads,
        headDim,
        new F32Word(scale),
      ]
        .concat([layers, ctx, kvDim, layer, scores, stride]),
      n * nHeads >= 2 && work >= PARALLEL_MIN_ELEMENTS,
    );
    o.version++;
  }

  siluMul(out: Tensor, gate: Tensor, up: Tensor, length: number): void {
    const [o, g, u] = [this.#tensor(out), this.#tensor(gate), this.#tensor(up)];
    this.#count(length, "siluMul length");
    for (const t of [o, g, u]) this.#fits(t, length, "siluMul operand");
    if (length === 0) return;
    this.#job([Op.SiluMul, o.ptr, g.ptr, u.ptr, length], length >= PARALLEL_MIN_ELEMENTS);
    o.version++;
  }

  add(out: Tensor, a: Tensor, b: Tensor, length: number): void {
    const [o, at, bt] = [this.#tensor(out), this.#tensor(a), this.#tensor(b)];
    this.#count(length, "add length");
    for (const t of [o, at, bt]) this.#fits(t, length, "add operand");
    if (length === 0) return;
    this.#job([Op.Add, o.ptr, at.ptr, bt.ptr, length], length >= PARALLEL_MIN_ELEMENTS);
    o.version++;
  }

  softmax(x: Tensor, n: number, rowLength: number): void {
    const xt = this.#tensor(x);
    this.#count(n, "softmax n");
    this.#count(rowLength, "softmax rowLength");
    this.#fits(xt, n * rowLength, "softmax input");
    if (n === 0 || rowLength === 0) return;
    this.#job([Op.Softmax, xt.ptr, n, rowLength], n > 1 && n * rowLength >= PARALLEL_MIN_ELEMENTS);
    xt.version++;
  }

  gatherRows(out: Tensor, x: Tensor, rows: Int32Array, rowLength: number): void {
    const o = this.#tensor(out);
    const xt = this.#tensor(x);
    this.#count(rowLength, "gatherRows rowLength");
    this.#fits(o, rows.length * rowLength, "gatherRows output");
    // a copy out of the same tensor would read rows already overwritten
    if (o === xt) throw new WasmBackendError("bad_argument", "gatherRows output must not alias its input");
    const available = Math.floor(xt.length / Math.max(rowLength, 1));
    const f32 = this.#mem.f32;
    for (let j = 0; j < rows.length; j++) {
      const r = rows[j];
      if (!Number.isInteger(r) || r < 0 || r >= available) {
        throw new RangeError(`row ${r} outside a tensor of ${available} rows`);
      }
      const src = xt.ptr / 4 + r * rowLength;
      f32.copyWithin(o.ptr / 4 + j * rowLength, src, src + rowLength);
    }
    o.version++;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#pool.terminate();
    this.#prepared = { quant: null, pair: null };
  }

  /**
   * Measures one synchronised dispatch of an empty job on all threads, µs (the per-op synchronisation
   * cost; a forward pass pays it once per parallel op).
   */
  measureDispatch(iterations = 10000): number {
    this.#live();
    writeDesc(this.#mem, this.#desc, [Op.Nop]);
    for (let i = 0; i < 100; i++) this.#pool.run(this.#desc);
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) this.#pool.run(this.#desc);
    return ((performance.now() - t0) * 1000) / iterations;
  }

  /**
   * STREAM-style read-only memory-bandwidth probe inside wasm: reads a `bytes` buffer with `threads`
   * threads, `repeats` times after one warm-up pass, and returns the best GB/s (1e9 bytes/s).
   */
  probeBandwidth(bytes = 256 * 1024 * 1024, repeats = 5, threads = this.threads): number {
    this.#live();
    const size = Math.ceil(bytes / 64) * 64;
    const buf = this.#probeBuffer(size);
    const out = this.#indices.get(this.threads * 4);
    writeDesc(this.#mem, this.#desc, [Op.Probe, buf, size, out]);
    this.#pool.run(this.#desc, threads);
    let best = Infinity;
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      this.#pool.run(this.#desc, threads);
      best = Math.min(best, performance.now() - t0);
    }
    return size / (best / 1000) / 1e9;
  }

  #probeBuffer(bytes: number): number {
    if (this.#probe === null || this.#probe.bytes < bytes) {
      const ptr = this.#mem.alloc(bytes);
      // touch every page with non-zero bytes so the probe reads real memory, not the shared zero page
      this.#mem.u8.fill(1, ptr, ptr + bytes);
      this.#probe = { ptr, bytes };
    }
    return this.#probe.ptr;
  }

  /** Runs a job, on all threads when `parallel`, else on the calling thread. */
  #job(words: readonly (number | F32Word)[], parallel: boolean): void {
    this.#live();
    writeDesc(this.#mem, this.#desc, words);
    this.#pool.run(this.#desc, parallel ? this.threads : 1);
  }

  /**
   * Byte offset of x's first n rows prepared for a matmul: "quant", int8 blocks for quantised weights (at
   * most 2·n·cols + 64·n bytes, layout in wasm/src/act_quant.rs); "pair", f32 rows with each group of 8
   * columns stored evens first for F16 weights. Reused while x is unchanged: q, k and v (or gate and
   * up) share one input.
   */
  #prepare(kind: "quant" | "pair", x: WasmTensor, n: number, cols: number): number {
    const ptr = kind === "quant" ? this.#act.get(2 * n * cols + 64 * n) : this.#paired.get(4 * n * cols);
    const hit = this.#prepared[kind];
    if (hit && hit.t === x && hit.version === x.version && hit.n === n && hit.cols === cols) return ptr;
    const parallel = n > 1 && n * cols >= PARALLEL_MIN_ELEMENTS;
    this.#job([kind === "quant" ? Op.Quant : Op.Pair, x.ptr, n, cols, ptr], parallel);
    this.#prepared[kind] = { t: x, version: x.version, n, cols };
    return ptr;
  }

  /** Byte offset of the f64 (cos, sin) table [n][ropeDim/2][2] for these positions (reused when repeated). */
  #ropeTableFor(pos: Int32Array, p: RopeParams): number {
    const cached = this.#rope;
    if (cached && cached.params === p && sameInts(cached.pos, pos)) return cached.ptr;
    const half = p.ropeDim / 2;
    const ptr = this.#ropeTable.get(pos.length * half * 16);
    const f64 = this.#mem.f64;
    for (let i = 0; i < pos.length; i++) {
      for (let pair = 0; pair < half; pair++) {
        // the reference backend's formula, operation for operation
        const factor = p.freqFactors ? p.freqFactors[pair] : 1;
        const theta = pos[i] * Math.pow(p.freqBase, (-2 * pair) / p.ropeDim) / factor;
        f64[ptr / 8 + (i * half + pair) * 2] = Math.cos(theta);
        f64[ptr / 8 + (i * half + pair) * 2 + 1] = Math.sin(theta);
      }
    }
    this.#rope = { params: p, pos: pos.slice(), ptr };
    return ptr;
  }

  #live(): void {
    if (this.#disposed) throw new WasmBackendError("disposed", "wasm backend used after dispose()");
  }

  #tensor(t: Tensor): WasmTensor {
    this.#live();
    if (!(t instanceof WasmTensor) || t.owner !== this) {
      throw new WasmBackendError("bad_argument", "tensor was not allocated by this wasm backend");
    }
    return t;
  }

  #weight(w: Weight): WasmWeight {
    if (!(w instanceof WasmWeight) || w.owner !== this) {
      throw new WasmBackendError("bad_argument", `weight ${w.name} was not uploaded to this wasm backend`);
    }
    return w;
  }

  #cache(c: KvCache): WasmKvCache {
    if (!(c instanceof WasmKvCache) || c.owner !== this) {
      throw new WasmBackendError("bad_argument", "KV cache was not created by this wasm backend");
    }
    return c;
  }

  #count(n: number, what: string): void {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new WasmBackendError("bad_argument", `${what} must be a non-negative integer, got ${n}`);
    }
  }

  #fits(t: WasmTensor, need: number, what: string): void {
    if (need > t.length) {
      throw new WasmBackendError("bad_argument", `${what}: needs ${need} values, tensor holds ${t.length}`);
    }
  }

  #placements(at: TokenPlacement, n: number): void {
    if (at.slot.length < n || at.pos.length < n) {
      throw new WasmBackendError(
        "bad_argument",
        `placement of ${at.slot.length} slots / ${at.pos.length} positions for ${n} tokens`,
      );
    }
  }
}

function checkPlacement(spec: KvCacheSpec, layer: number, slot: number, pos: number): void {
  if (!Number.isInteger(layer) || layer < 0 || layer >= spec.layers) {
    throw new RangeError(`layer ${layer} outside KV cache of ${spec.layers}`);
  }
  if (slot < 0 || slot >= spec.slots) throw new RangeError(`slot ${slot} outside KV cache of ${spec.slots}`);
  if (pos < 0 || pos >= spec.ctx) throw new RangeError(`position ${pos} outside context of ${spec.ctx}`);
}

function sameInts(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
