/**
 * The WebGPU backend: every Backend op as a WGSL compute dispatch, recorded into one command buffer
 * that is submitted only when the host reads a result.
 *
 * Execution: each op validates its arguments on the host, packs its parameters (and any host arrays:
 * token ids, slots/positions, rope tables) into the recorder's arenas, looks up its pipeline (cached per
 * device and variant) and its bind group (cached per buffers: the arenas are bound with dynamic
 * offsets, so a decode step binds the same groups as the one before), and records a dispatch. `read()`
 * copies the tensor into a staging buffer, submits everything recorded and maps the copy: one submit
 * and one readback per decode step, or fewer with the GPU-resident loop (gpu_decode.ts).
 *
 * The file is longer than most: it is the one class implementing every Backend op plus the GPU
 * extras, each op a few lines of argument checks and one dispatch; the machinery lives beside it
 * (recorder.ts, dispatcher.ts, pipeline_cache.ts, gpu_resources.ts).
 *
 * Precision: activations are f32. With `f16` (default when the adapter has shader-f16) the KV cache is
 * f16, halving attention's memory traffic; its results then differ from the reference by f16 rounding.
 *
 * @example
 * ```ts
 * const backend = await createWebGpuBackend({ allowFallback: true });
 * const x = backend.alloc(4);
 * backend.write(x, Float32Array.of(1, 2, 3, 4));
 * backend.add(x, x, x, 4);
 * await backend.read(x); // Float32Array [2, 4, 6, 8]
 * ```
 */
import { copyOut } from "../read_into.ts";
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
} from "../backend.ts";
import { type GpuDevice, type GpuDeviceOptions, type GpuLimits, openGpuDevice } from "./gpu_device.ts";
import {
  createGpuKvCache,
  createStorage,
  type GpuKvCache,
  GpuTensor,
  GpuTokenIds,
  type GpuWeight,
  uploadGpuWeight,
  type WeightChunk,
} from "./gpu_resources.ts";
import {
  KERNELS,
  type KernelSpec,
  MATMUL_TILE_ROWS,
  MATMUL_TILE_TOKENS,
  MATVEC_ROWS,
  MAX_HEAD_DIM,
  WORKGROUP_SIZE,
} from "./kernel_specs.ts";
import type { ParamFields, ParamValues } from "./param_layout.ts";
import type { KernelVariant } from "./pipeline_cache.ts";
import { Dispatcher } from "./dispatcher.ts";
import {
  checkLength,
  checkPlacements,
  sameRopeTable,
  vectorWeight,
  weightGroups,
} from "./argument_checks.ts";
import { type GpuSampleOptions, recordSample } from "./gpu_sampling.ts";
import { type GpuStats, type IdBuffer, Recorder } from "./recorder.ts";
import { attentionSplits, SplitAttention } from "./split_attention.ts";
import { ropeTable } from "./rope_table.ts";
import { WebGpuError } from "./webgpu_error.ts";

/** Options of {@link createWebGpuBackend}. */
export interface WebGpuBackendOptions extends GpuDeviceOptions {
  /**
   * A device opened by {@link openGpuDevice} to share: pipelines are cached per device, so backends on
   * one device compile each kernel once. dispose() leaves a shared device open.
   */
  readonly device?: GpuDevice;
  /** Caps bytes per storage binding below the adapter's limit (tests use it to force weight splitting). */
  readonly maxBindingBytes?: number;
}

/** The WebGPU backend, with the extras of a GPU-resident decode loop. */
export interface WebGpuBackend extends Backend {
  readonly name: "webgpu";
  /** the KV cache is f16 */
  readonly f16: boolean;
  /** running on a software adapter */
  readonly isFallback: boolean;
  /** counters of GPU work since creation */
  readonly stats: Readonly<GpuStats>;
  /** the device limits buffers and dispatches are sized by */
  readonly limits: GpuLimits;
  /** Fused SwiGLU (see Backend): one dispatch for decode (kernels/gate_up_silu.wgsl), tiled products for batches. */
  gateUpSilu(out: Tensor, gate: Weight, up: Weight, x: Tensor, n: number, scratch: Tensor): void;
  /** Allocates `length` u32 token ids on the GPU, zeroed. */
  createTokenIds(length: number): GpuTokenIds;
  /** Frees token ids once no recorded or in-flight work uses them. */
  destroyTokenIds(ids: GpuTokenIds): void;
  /** Writes `values` at ids[offset ..] (a prompt, for the penalties' window). */
  writeTokenIds(ids: GpuTokenIds, offset: number, values: Int32Array): void;
  /** ids[offset + i] = token drawn from logits row i, for i < n (rows of `vocab` values); see gpu_sampling.ts. */
  sampleTokens(
    ids: GpuTokenIds,
    offset: number,
    logits: Tensor,
    n: number,
    vocab: number,
    options?: GpuSampleOptions,
  ): void;
  /** out[i, :] = row ids[offset + i] of `table`, for i < n: embedding of tokens that never left the GPU. */
  embedTokenIds(out: Tensor, table: Weight, ids: GpuTokenIds, offset: number, n: number): void;
  /**
   * Reads ids offset .. offset + count once all recorded work has finished. Everything recorded is
   * submitted before this returns its promise, so the next chunk can be recorded while it is in flight.
   */
  readTokenIds(ids: GpuTokenIds, count: number, offset?: number): Promise<Int32Array>;
  /** Records a copy kernel of `src` into `dst` (`length` f32, a multiple of 4): the roofline probe. */
  copyTensor(dst: Tensor, src: Tensor, length: number): void;
}

/**
 * Creates the WebGPU backend on the best adapter (or `options.adapter` / `options.device`).
 * Throws WebGpuError "no_adapter" when there is none (or only a fallback one without allowFallback).
 */
export async function createWebGpuBackend(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  const gpu = options.device ?? await openGpuDevice(options);
  if (options.f16 === true && !gpu.f16) {
    throw new WebGpuError(
      "no_f16",
      `f16 was requested but the device on ${gpu.description} has no shader-f16`,
    );
  }
  const f16 = options.f16 ?? gpu.f16;
  return new GpuBackend(gpu, f16, options.device === undefined, options.maxBindingBytes ?? Infinity);
}

const asTensor = (t: Tensor): GpuTensor => t as GpuTensor;
const asWeight = (w: Weight): GpuWeight => w as GpuWeight;

/** The smallest batch the tiled matmul takes; below it the matvec (weight read once per token) wins. */
const TILED_MIN_TOKENS = 3;

/** A row range lying within one chunk of each of two weights of the same rows. */
interface AlignedPiece {
  readonly start: number;
  readonly rows: number;
  readonly gateChunk: WeightChunk;
  readonly upChunk: WeightChunk;
}

/** Cuts rows at every chunk boundary of either weight (two formats split at different rows). Pure. */
function alignedPieces(a: readonly WeightChunk[], b: readonly WeightChunk[]): AlignedPiece[] {
  const pieces: AlignedPiece[] = [];
  let i = 0, j = 0, start = 0;
  while (i < a.length && j < b.length) {
    const endA = a[i].rowStart + a[i].rows, endB = b[j].rowStart + b[j].rows;
    const end = Math.min(endA, endB);
    if (end > start) pieces.push({ start, rows: end - start, gateChunk: a[i], upChunk: b[j] });
    start = end;
    if (endA === end) i++;
    if (endB === end) j++;
  }
  return pieces;
}

class GpuBackend implements WebGpuBackend {
  readonly name = "webgpu" as const;
  readonly description: string;
  readonly isFallback: boolean;
  private readonly device: GPUDevice;
  private readonly rec: Recorder;
  private readonly kernels: Dispatcher;
  private readonly split: SplitAttention;
  private readonly owned: IdBuffer[] = [];
  private ropeMemo?: { epoch: number; pos: Int32Array; params: RopeParams; offset: number };
  private disposed = false;
  /** why the device was lost, once it has been */
  private lostReason?: string;

  constructor(
    private readonly gpu: GpuDevice,
    readonly f16: boolean,
    private readonly ownsDevice: boolean,
    private readonly maxBindingBytes: number,
  ) {
    this.device = gpu.device;
    this.isFallback = gpu.isFallback;
    this.description = `WebGPU on ${gpu.description}, ${f16 ? "f16" : "f32"} KV cache`;
    this.rec = new Recorder(gpu);
    this.kernels = new Dispatcher(gpu, this.rec);
    this.split = new SplitAttention(gpu.device, gpu.limits);
    gpu.device.lost.then((info) => {
      this.lostReason = info.message || info.reason || "unknown reason";
    });
  }

  get limits(): GpuLimits {
    return this.gpu.limits;
  }

  get stats(): Readonly<GpuStats> {
    return { ...this.rec.stats, pipelinesCreated: this.kernels.pipelines.created };
  }

  // ---- memory ----

  uploadWeight(spec: WeightSpec, data: Uint8Array): Weight {
    this.live();
    const w = this.rec.guard(() =>
      uploadGpuWeight(this.device, this.gpu.limits, spec, data, this.maxBindingBytes)
    );
    for (const c of w.chunks) {
      this.owned.push(c.buf);
      this.rec.stats.uploadedWeightBytes += c.buf.buffer.size;
    }
    return w;
  }

  alloc(length: number): Tensor {
    this.live();
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new WebGpuError("bad_input", `cannot allocate ${length} values`);
    }
    const buf = this.rec.guard(() =>
      createStorage(this.device, this.gpu.limits, length * 4, `tensor of ${length} f32`)
    );
    this.owned.push(buf);
    return new GpuTensor(length, buf);
  }

  write(t: Tensor, data: Float32Array, offset = 0): void {
    this.live();
    const g = asTensor(t);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + data.length > g.length) {
      throw new WebGpuError(
        "bad_input",
        `writing ${data.length} values at ${offset} overruns a tensor of ${g.length}`,
      );
    }
    this.rec.upload(g.buf.buffer, offset * 4, data);
  }

  async read(t: Tensor, length = t.length, into?: Float32Array): Promise<Float32Array> {
    this.live();
    const g = asTensor(t);
    if (!Number.isSafeInteger(length) || length < 0 || length > g.length) {
      throw new WebGpuError("bad_input", `cannot read ${length} values of a tensor of ${g.length}`);
    }
    const values = length === 0
      ? new Float32Array(0)
      : new Float32Array(await this.rec.readBytes(g.buf.buffer, length * 4));
    return into ? copyOut(values, into) : values; // already a fresh array
  }

  createKvCache(spec: KvCacheSpec): KvCache {
    this.live();
    const cache = this.rec.guard(() => createGpuKvCache(this.device, this.gpu.limits, spec, this.f16));
    this.owned.push(...cache.k, ...cache.v);
    return cache;
  }

  createTokenIds(length: number): GpuTokenIds {
    this.live();
    const buf = this.rec.guard(() =>
      createStorage(this.device, this.gpu.limits, length * 4, `${length} token ids`)
    );
    this.owned.push(buf);
    return new GpuTokenIds(length, buf);
  }

  destroyTokenIds(ids: GpuTokenIds): void {
    const at = this.owned.indexOf(ids.buf);
    if (at >= 0) this.owned.splice(at, 1);
    ids.buf.buffer.destroy();
  }

  readTokenIds(ids: GpuTokenIds, count: number, offset = 0): Promise<Int32Array> {
    this.live();
    if (
      !Number.isSafeInteger(count) || !Number.isSafeInteger(offset) || count < 0 || offset < 0 ||
      offset + count > ids.length
    ) {
      return Promise.reject(
        new WebGpuError("bad_input", `cannot read ids ${offset}..${offset + count} of ${ids.length}`),
      );
    }
    if (count === 0) return Promise.resolve(new Int32Array(0));
    return this.rec.readBytes(ids.buf.buffer, count * 4, offset * 4).then((bytes) => new Int32Array(bytes));
  }

  // ---- ops ----

  embed(out: Tensor, table: Weight, tokens: Int32Array): void {
    const w = asWeight(table);
    for (const token of tokens) {
      if (!Number.isInteger(token) || token < 0 || token >= w.rows) {
        throw new RangeError(`token id ${token} outside vocabulary of ${w.rows}`);
      }
    }
    checkLength(out, tokens.length * w.cols, "embed output");
    if (tokens.length === 0) return;
    this.embedFrom(out, w, tokens, undefined, 0, tokens.length);
  }

  embedTokenIds(out: Tensor, table: Weight, ids: GpuTokenIds, offset: number, n: number): void {
    const w = asWeight(table);
    checkLength(out, n * w.cols, "embed output");
    if (offset < 0 || offset + n > ids.length) {
      throw new WebGpuError("bad_input", `ids ${offset}..${offset + n} of ${ids.length}`);
    }
    if (n > 0) this.embedFrom(out, w, undefined, ids, offset, n);
  }

  private embedFrom(
    out: Tensor,
    w: GpuWeight,
    tokens: Int32Array | undefined,
    ids: GpuTokenIds | undefined,
    idOffset: number,
    n: number,
  ): void {
    const groups = weightGroups(w);
    this.rec.reserve(w.chunks.length, tokens?.length ?? 0);
    this.rec.begin();
    const dataOff = tokens ? this.rec.pushData(tokens) : idOffset;
    const data = ids ? ids.buf : this.rec.dataArena;
    for (const chunk of w.chunks) {
      this.dispatch(
        KERNELS.embed,
        { format: w.format },
        { n, groups, cols4: w.cols / 4, row_base: chunk.rowStart, rows: chunk.rows, data_off: dataOff },
        [data, asTensor(out).buf],
        this.grid(Math.ceil((n * groups) / WORKGROUP_SIZE)),
        chunk,
      );
    }
  }

  matmul(out: Tensor, w: Weight, x: Tensor, n: number): void {
    const g = asWeight(w);
    if (out === x) {
      throw new WebGpuError("bad_input", `matmul of ${g.name}: the output must not alias the input`);
    }
    checkLength(x, n * g.cols, `matmul input of ${g.name}`);
    checkLength(out, n * g.rows, `matmul output of ${g.name}`);
    if (n === 0) return;
    const groups = weightGroups(g);
    const tiled = n >= TILED_MIN_TOKENS;
    const spec = tiled ? KERNELS.matmul : KERNELS.matvec;
    if (!tiled && n > this.gpu.limits.maxComputeWorkgroupsPerDimension) {
      throw new WebGpuError("too_large", `batch ${n}`);
    }
    this.rec.reserve(g.chunks.length, 0);
    this.rec.begin();
    for (const chunk of g.chunks) {
      const grid = tiled
        ? [Math.ceil(chunk.rows / MATMUL_TILE_ROWS), this.dim(Math.ceil(n / MATMUL_TILE_TOKENS))]
        : [...this.grid(Math.ceil(chunk.rows / MATVEC_ROWS)), n];
      this.dispatch(
        spec,
        { format: g.format },
        { rows: chunk.rows, groups, cols4: g.cols / 4, row_base: chunk.rowStart, out_stride: g.rows, n },
        [asTensor(x).buf, asTensor(out).buf],
        grid,
        chunk,
      );
    }
  }

  addBias(x: Tensor, bias: Weight, n: number): void {
    const b = vectorWeight(bias, "addBias");
    checkLength(x, n * b.cols, "addBias input");
    const total = n * b.cols;
    if (total === 0) return;
    this.simple(
      KERNELS.add_bias,
      { total, len: b.cols },
      [asTensor(x).buf, b.chunks[0].buf],
      this.grid(Math.ceil(total / WORKGROUP_SIZE)),
    );
  }

  rmsNorm(out: Tensor, x: Tensor, weight: Weight, n: number, eps: number): void {
    const w = vectorWeight(weight, "rmsNorm");
    checkLength(x, n * w.cols, "rmsNorm input");
    checkLength(out, n * w.cols, "rmsNorm output");
    if (n === 0) return;
    this.simple(KERNELS.rms_norm, { n, len: w.cols, eps }, [
      asTensor(x).buf,
      asTensor(out).buf,
      w.chunks[0].buf,
    ], this.grid(n));
  }

  rope(x: Tensor, n: number, nHeads: number, pos: Int32Array, params: RopeParams): void {
    const half = params.ropeDim / 2;
    if (!Number.isInteger(half) || half < 0 || params.ropeDim > params.headDim) {
      throw new WebGpuError(
        "bad_input",
        `rope dimension ${params.ropeDim} must be even and ≤ head dim ${params.headDim}`,
      );
    }
    if (pos.length < n) throw new WebGpuError("bad_input", `rope of ${n} tokens got ${pos.length} positions`);
    checkLength(x, n * nHeads * params.headDim, "rope input");
    const threads = n * nHeads * half;
    if (threads === 0) return;
    const tableWords = n * half * 2;
    this.rec.reserve(1, tableWords);
    this.rec.begin();
    // q and k of every layer rotate by the same table: compute and stage it once per recording
    const memo = this.ropeMemo;
    let offset: number;
    if (
      memo !== undefined && memo.epoch === this.rec.epoch &&
      sameRopeTable(memo.pos, memo.params, pos, n, params)
    ) {
      offset = memo.offset;
    } else {
      offset = this.rec.pushData(ropeTable(pos, n, params));
      this.ropeMemo = { epoch: this.rec.epoch, pos: pos.slice(0, n), params, offset };
    }
    this.dispatch(
      KERNELS.rope,
      {},
      { n, n_heads: nHeads, head_dim: params.headDim, half, neox: params.neox ? 1 : 0, data_off: offset },
      [this.rec.dataArena, asTensor(x).buf],
      this.grid(Math.ceil(threads / WORKGROUP_SIZE)),
    );
  }

  kvStore(cache: KvCache, layer: number, k: Tensor, v: Tensor, n: number, at: TokenPlacement): void {
    const c = cache as GpuKvCache;
    const { kvDim, ctx } = c.spec;
    checkPlacements(c.spec, layer, n, at);
    checkLength(k, n * kvDim, "kvStore k");
    checkLength(v, n * kvDim, "kvStore v");
    if (n === 0) return;
    this.rec.reserve(1, 2 * n);
    this.rec.begin();
    const dataOff = this.pushPlacement(n, at);
    this.dispatch(
      KERNELS.kv_store,
      { kvF16: this.f16 },
      { n, kv_dim: kvDim, ctx, data_off: dataOff },
      [this.rec.dataArena, asTensor(k).buf, asTensor(v).buf, c.k[layer], c.v[layer]],
      this.grid(Math.ceil((n * kvDim) / WORKGROUP_SIZE)),
    );
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
    const c = cache as GpuKvCache;
    const { nHeads, nKvHeads, headDim, scale } = shape;
    if (out === q) throw new WebGpuError("bad_input", "attention output must not alias q");
    if (nKvHeads < 1 || nHeads % nKvHeads !== 0 || nKvHeads * headDim !== c.spec.kvDim) {
      throw new WebGpuError(
        "bad_input",
        `attention heads ${nHeads}/${nKvHeads}×${headDim} do not fit kvDim ${c.spec.kvDim}`,
      );
    }
    if (headDim > MAX_HEAD_DIM) {
      throw new WebGpuError("unsupported", `head dim ${headDim} exceeds ${MAX_HEAD_DIM}`);
    }
    checkPlacements(c.spec, layer, n, at);
    checkLength(q, n * nHeads * headDim, "attention q");
    checkLength(out, n * nHeads * headDim, "attention output");
    if (n === 0) return;
    const split = attentionSplits(at.pos, n); // long-context decode: flash-decoding slices
    this.rec.reserve(split ? 2 : 1, 2 * n);
    this.rec.begin();
    const data = this.rec.dataArena;
    const values = {
      n,
      n_heads: nHeads,
      group: nHeads / nKvHeads,
      head_dim: headDim,
      kv_dim: c.spec.kvDim,
      ctx: c.spec.ctx,
      scale,
      data_off: this.pushPlacement(n, at),
    };
    const [qb, ob, k, v] = [asTensor(q).buf, asTensor(out).buf, c.k[layer], c.v[layer]];
    if (!split) {
      return this.dispatch(KERNELS.attention, { kvF16: this.f16 }, values, [data, qb, ob, k, v], [
        this.dim(nHeads),
        this.dim(n),
      ]);
    }
    this.live();
    this.split.record(this.kernels, { kvF16: this.f16 }, values, split, { data, q: qb, out: ob, k, v });
  }

  siluMul(out: Tensor, gate: Tensor, up: Tensor, length: number): void {
    for (const t of [out, gate, up]) checkLength(t, length, "siluMul operand");
    if (length === 0) return;
    const bufs = [asTensor(gate).buf, asTensor(up).buf, asTensor(out).buf];
    this.simple(KERNELS.silu_mul, { len: length }, bufs, this.grid(Math.ceil(length / WORKGROUP_SIZE)));
  }

  gateUpSilu(out: Tensor, gate: Weight, up: Weight, x: Tensor, n: number, scratch: Tensor): void {
    const [g, u] = [asWeight(gate), asWeight(up)];
    if (g.rows !== u.rows || g.cols !== u.cols) {
      throw new WebGpuError(
        "bad_input",
        `gateUpSilu: ${g.name} [${g.rows}×${g.cols}] and ${u.name} [${u.rows}×${u.cols}] differ in shape`,
      );
    }
    if (out === x || scratch === x || scratch === out) {
      throw new WebGpuError("bad_input", "gateUpSilu: out, x and scratch must be distinct tensors");
    }
    // Unfused: prefill and batched decode, where the tiled products read each weight once per tile of
    // tokens (fusing would save only the [n, ffn] intermediates), and adapters whose storage bindings
    // per kernel cannot hold x, out and both weights' sections (two K-quants need 10, WebGPU's default is 8)
    const bindings = 2 + g.format.sections.length + u.format.sections.length;
    if (n >= TILED_MIN_TOKENS || bindings > this.gpu.limits.maxStorageBuffersPerShaderStage) {
      this.matmul(out, g, x, n);
      this.matmul(scratch, u, x, n);
      return this.siluMul(out, out, scratch, n * g.rows);
    }
    checkLength(x, n * g.cols, `gateUpSilu input of ${g.name}`);
    checkLength(out, n * g.rows, `gateUpSilu output of ${g.name}`);
    if (n === 0) return;
    const pieces = alignedPieces(g.chunks, u.chunks);
    this.rec.reserve(pieces.length, 0);
    this.rec.begin();
    for (const { start, rows, gateChunk, upChunk } of pieces) {
      this.dispatch(
        KERNELS.gate_up_silu,
        { formats: [g.format, u.format] },
        {
          rows,
          groups: weightGroups(g),
          cols4: g.cols / 4,
          row_base: start,
          out_stride: g.rows,
          n,
          gate_row0: start - gateChunk.rowStart,
          up_row0: start - upChunk.rowStart,
        },
        [asTensor(x).buf, asTensor(out).buf],
        [...this.grid(Math.ceil(rows / MATVEC_ROWS)), n],
        [gateChunk, upChunk],
      );
    }
  }

  add(out: Tensor, a: Tensor, b: Tensor, length: number): void {
    for (const t of [out, a, b]) checkLength(t, length, "add operand");
    if (length === 0) return;
    const bufs = [asTensor(a).buf, asTensor(b).buf, asTensor(out).buf];
    this.simple(KERNELS.add, { len: length }, bufs, this.grid(Math.ceil(length / WORKGROUP_SIZE)));
  }

  softmax(x: Tensor, n: number, rowLength: number): void {
    checkLength(x, n * rowLength, "softmax input");
    if (n === 0 || rowLength === 0) return;
    this.simple(KERNELS.softmax, { n, len: rowLength }, [asTensor(x).buf], this.grid(n));
  }

  gatherRows(out: Tensor, x: Tensor, rows: Int32Array, rowLength: number): void {
    if (out === x) throw new WebGpuError("bad_input", "gatherRows output must not alias its input");
    const available = rowLength > 0 ? Math.floor(x.length / rowLength) : 0;
    for (const r of rows) {
      if (!Number.isInteger(r) || r < 0 || r >= available) {
        throw new RangeError(`row ${r} outside ${available} rows`);
      }
    }
    checkLength(out, rows.length * rowLength, "gatherRows output");
    const total = rows.length * rowLength;
    if (total === 0) return;
    this.rec.reserve(1, rows.length);
    this.rec.begin();
    const dataOff = this.rec.pushData(rows);
    this.dispatch(
      KERNELS.gather_rows,
      {},
      { count: rows.length, len: rowLength, data_off: dataOff },
      [this.rec.dataArena, asTensor(x).buf, asTensor(out).buf],
      this.grid(Math.ceil(total / WORKGROUP_SIZE)),
    );
  }

  sampleTokens(
    ids: GpuTokenIds,
    offset: number,
    logits: Tensor,
    n: number,
    vocab: number,
    options?: GpuSampleOptions,
  ): void {
    this.live();
    recordSample(this.rec, this.kernels, ids, offset, logits, n, vocab, options);
  }

  writeTokenIds(ids: GpuTokenIds, offset: number, values: Int32Array): void {
    this.live();
    if (offset < 0 || offset + values.length > ids.length) {
      throw new WebGpuError("bad_input", `writing ids ${offset}..${offset + values.length} of ${ids.length}`);
    }
    const words = new Float32Array(values.buffer, values.byteOffset, values.length); // the bits, as u32
    this.rec.upload(ids.buf.buffer, offset * 4, words);
  }

  copyTensor(dst: Tensor, src: Tensor, length: number): void {
    if (length % 4 !== 0) throw new WebGpuError("bad_input", `copy length ${length} is not a multiple of 4`);
    checkLength(dst, length, "copy destination");
    checkLength(src, length, "copy source");
    if (dst === src || length === 0) return;
    this.simple(
      KERNELS.copy,
      { len: length / 4 },
      [asTensor(src).buf, asTensor(dst).buf],
      this.grid(Math.ceil(length / 4 / WORKGROUP_SIZE)),
    );
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.rec.dispose();
    this.split.dispose();
    for (const b of this.owned) b.buffer.destroy();
    this.owned.length = 0;
    this.kernels.clear();
    if (this.ownsDevice) this.device.destroy();
  }

  /** Records a kernel that needs no data arena. */
  private simple<F extends ParamFields>(
    spec: KernelSpec<F>,
    values: ParamValues<F>,
    bufs: IdBuffer[],
    grid: number[],
  ): void {
    this.rec.reserve(1, 0);
    this.rec.begin();
    this.dispatch(spec, {}, values, bufs, grid);
  }

  /** Records one dispatch (after reserve/begin). */
  private dispatch<F extends ParamFields>(
    spec: KernelSpec<F>,
    variant: KernelVariant,
    values: ParamValues<F>,
    bufs: IdBuffer[],
    grid: number[],
    chunk?: WeightChunk | readonly WeightChunk[],
  ): void {
    this.live();
    this.kernels.dispatch(spec, variant, values, bufs, grid, chunk);
  }

  /** Pushes slots then positions of `n` tokens; returns their data offset. */
  private pushPlacement(n: number, at: TokenPlacement): number {
    const offset = this.rec.pushData(at.slot.subarray(0, n));
    this.rec.pushData(at.pos.subarray(0, n));
    return offset;
  }

  private grid(workgroups: number): number[] {
    return this.kernels.grid(workgroups);
  }

  private dim(count: number): number {
    return this.kernels.dim(count);
  }

  private live(): void {
    if (this.disposed) throw new WebGpuError("disposed", "the WebGPU backend was disposed");
    if (this.lostReason !== undefined) {
      throw new WebGpuError("gpu", `the GPU device was lost: ${this.lostReason}`);
    }
  }
}
