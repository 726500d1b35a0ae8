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
 * This file is the class that owns the backend's state and lifetime: the device, the recorder, the
 * buffers it allocated (freed at dispose) and the device-lost check every op passes. The ops themselves
 * are recorded beside it, each family in its own file taking that state as an OpContext
 * (op_context.ts): activation_ops.ts, weight_ops.ts, attention_ops.ts, gpu_sampling.ts; the machinery
 * below them is recorder.ts, dispatcher.ts, pipeline_cache.ts and gpu_resources.ts.
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
import {
  recordAdd,
  recordAddBias,
  recordCopyTensor,
  recordGatherRows,
  recordRmsNorm,
  recordSiluMul,
  recordSoftmax,
} from "./activation_ops.ts";
import { recordAttention, recordKvStore, recordRope, RopeTableCache } from "./attention_ops.ts";
import { Dispatcher } from "./dispatcher.ts";
import { type GpuDevice, type GpuDeviceOptions, type GpuLimits, openGpuDevice } from "./gpu_device.ts";
import { createGpuKvCache, createStorage, GpuTensor, GpuTokenIds, uploadGpuWeight } from "./gpu_resources.ts";
import { type GpuSampleOptions, recordSample } from "./gpu_sampling.ts";
import { asTensor, type OpContext } from "./op_context.ts";
import { type GpuStats, type IdBuffer, Recorder } from "./recorder.ts";
import { SplitAttention } from "./split_attention.ts";
import { WebGpuError } from "./webgpu_error.ts";
import { recordEmbed, recordEmbedTokenIds, recordGateUpSilu, recordMatmul } from "./weight_ops.ts";

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

class GpuBackend implements WebGpuBackend {
  readonly name = "webgpu" as const;
  readonly description: string;
  readonly isFallback: boolean;
  private readonly device: GPUDevice;
  private readonly rec: Recorder;
  private readonly kernels: Dispatcher;
  private readonly split: SplitAttention;
  private readonly ropeTables = new RopeTableCache();
  /** what the op recorders (activation_ops.ts, weight_ops.ts, attention_ops.ts) record with */
  private readonly ops: OpContext;
  private readonly owned: IdBuffer[] = [];
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
    this.ops = { rec: this.rec, kernels: this.kernels, limits: gpu.limits, f16, live: () => this.live() };
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

  writeTokenIds(ids: GpuTokenIds, offset: number, values: Int32Array): void {
    this.live();
    if (offset < 0 || offset + values.length > ids.length) {
      throw new WebGpuError("bad_input", `writing ids ${offset}..${offset + values.length} of ${ids.length}`);
    }
    const words = new Float32Array(values.buffer, values.byteOffset, values.length); // the bits, as u32
    this.rec.upload(ids.buf.buffer, offset * 4, words);
  }

  // ---- ops: recorded by activation_ops.ts, weight_ops.ts, attention_ops.ts ----

  embed(out: Tensor, table: Weight, tokens: Int32Array): void {
    recordEmbed(this.ops, out, table, tokens);
  }

  embedTokenIds(out: Tensor, table: Weight, ids: GpuTokenIds, offset: number, n: number): void {
    recordEmbedTokenIds(this.ops, out, table, ids, offset, n);
  }

  matmul(out: Tensor, w: Weight, x: Tensor, n: number): void {
    recordMatmul(this.ops, out, w, x, n);
  }

  addBias(x: Tensor, bias: Weight, n: number): void {
    recordAddBias(this.ops, x, bias, n);
  }

  rmsNorm(out: Tensor, x: Tensor, weight: Weight, n: number, eps: number): void {
    recordRmsNorm(this.ops, out, x, weight, n, eps);
  }

  rope(x: Tensor, n: number, nHeads: number, pos: Int32Array, params: RopeParams): void {
    recordRope(this.ops, this.ropeTables, x, n, nHeads, pos, params);
  }

  kvStore(cache: KvCache, layer: number, k: Tensor, v: Tensor, n: number, at: TokenPlacement): void {
    recordKvStore(this.ops, cache, layer, k, v, n, at);
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
    recordAttention(this.ops, this.split, out, q, cache, layer, n, at, shape);
  }

  siluMul(out: Tensor, gate: Tensor, up: Tensor, length: number): void {
    recordSiluMul(this.ops, out, gate, up, length);
  }

  gateUpSilu(out: Tensor, gate: Weight, up: Weight, x: Tensor, n: number, scratch: Tensor): void {
    recordGateUpSilu(this.ops, out, gate, up, x, n, scratch);
  }

  add(out: Tensor, a: Tensor, b: Tensor, length: number): void {
    recordAdd(this.ops, out, a, b, length);
  }

  softmax(x: Tensor, n: number, rowLength: number): void {
    recordSoftmax(this.ops, x, n, rowLength);
  }

  gatherRows(out: Tensor, x: Tensor, rows: Int32Array, rowLength: number): void {
    recordGatherRows(this.ops, out, x, rows, rowLength);
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

  copyTensor(dst: Tensor, src: Tensor, length: number): void {
    recordCopyTensor(this.ops, dst, src, length);
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

  private live(): void {
    if (this.disposed) throw new WebGpuError("disposed", "the WebGPU backend was disposed");
    if (this.lostReason !== undefined) {
      throw new WebGpuError("gpu", `the GPU device was lost: ${this.lostReason}`);
    }
  }
}
