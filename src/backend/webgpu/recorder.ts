/**
 * Recording ops into one command buffer, submitted only when the host needs a result.
 *
 * Ops are synchronous calls that only record (Backend's execution model). Everything an op needs from
 * the host beyond its buffers goes into two arenas that live for one recording:
 *
 * - the parameter arena: each op's uniform `Params` block at its own 256-byte-aligned slot, bound
 *   with a dynamic offset, so one bind group per (pipeline, buffers) serves every call and is
 *   created once;
 * - the data arena: per-op arrays (token ids, slots and positions, rope cos/sin tables) and the
 *   bytes of `write()` calls, which reach their tensor through an in-order copy command.
 *
 * `submit()` uploads both arenas with one `writeBuffer` each and submits the recording: a queue write
 * lands before the command buffer submitted after it, and every staged value is read only by commands
 * of that command buffer, so host order is preserved. A decode step is thus one submit. When an arena
 * fills up mid-recording, the recording is submitted early and a new one begins (correct, merely one
 * more submit). Validation errors of a recording are caught by an error scope and reported by
 * `checkErrors()`.
 *
 * @example
 * ```ts
 * const rec = new Recorder(gpu);
 * rec.reserve(1, 0);
 * rec.begin();
 * const offset = rec.pushParams(layout, values);
 * rec.dispatch(pipeline, bindGroup, offset, [x, y, 1]);
 * rec.submit();
 * await rec.checkErrors();
 * ```
 */
import type { GpuDevice } from "./gpu_device.ts";
import type { ParamFields, ParamLayout, ParamValues } from "./param_layout.ts";
import { WebGpuError } from "./webgpu_error.ts";

/** Bytes of the parameter arena: ~4k ops per recording (a decode step of a 32-layer model is ~600). */
const PARAM_ARENA_BYTES = 1 << 20;
/** Initial bytes of the data arena; it grows when one op alone needs more (a long prefill's rope table). */
const DATA_ARENA_BYTES = 1 << 20;
/** Smallest readback staging buffer, bytes: small reads (a token, a row of logits) reuse one buffer. */
const MIN_STAGING_BYTES = 1 << 16;

/** Counters of GPU work, for tests and benchmarks. */
export interface GpuStats {
  dispatches: number;
  submits: number;
  readbacks: number;
  readbackBytes: number;
  pipelinesCreated: number;
  bindGroupsCreated: number;
  uploadedWeightBytes: number;
}

/** A buffer with a stable numeric id (bind groups are cached by ids). */
export interface IdBuffer {
  readonly id: number;
  readonly buffer: GPUBuffer;
}

let nextBufferId = 1;

/** Creates a buffer and gives it an id. */
export function createIdBuffer(device: GPUDevice, size: number, usage: number, label?: string): IdBuffer {
  return { id: nextBufferId++, buffer: device.createBuffer({ size, usage, label }) };
}

const roundUp = (value: number, multiple: number) => Math.ceil(value / multiple) * multiple;

/** The command recorder of one backend. */
export class Recorder {
  readonly stats: GpuStats = {
    dispatches: 0,
    submits: 0,
    readbacks: 0,
    readbackBytes: 0,
    pipelinesCreated: 0,
    bindGroupsCreated: 0,
    uploadedWeightBytes: 0,
  };
  /** increments at every submit: arena offsets of an older epoch are gone */
  epoch = 0;
  readonly paramArena: IdBuffer;
  private readonly paramHost: ArrayBuffer;
  private readonly paramView: DataView;
  private readonly paramStride: number;
  private paramUsed = 0;
  dataArena: IdBuffer;
  private dataHost: Uint32Array<ArrayBuffer>;
  private dataUsed = 0; // u32 words
  private encoder?: GPUCommandEncoder;
  private pass?: GPUComputePassEncoder;
  private pendingErrors: Promise<GPUError | null>[] = [];
  private readonly staging: { buf: GPUBuffer; size: number; busy: boolean }[] = [];
  private readonly device: GPUDevice;

  constructor(private readonly gpu: GpuDevice) {
    this.device = gpu.device;
    this.paramStride = Math.max(256, gpu.limits.minUniformBufferOffsetAlignment);
    this.paramArena = createIdBuffer(
      this.device,
      PARAM_ARENA_BYTES,
      GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      "param arena",
    );
    this.paramHost = new ArrayBuffer(PARAM_ARENA_BYTES);
    this.paramView = new DataView(this.paramHost);
    this.dataArena = this.createDataArena(DATA_ARENA_BYTES);
    this.dataHost = new Uint32Array(DATA_ARENA_BYTES / 4);
  }

  private createDataArena(bytes: number): IdBuffer {
    return createIdBuffer(
      this.device,
      bytes,
      GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      "data arena",
    );
  }

  /** True while ops are recorded but not submitted. */
  get recording(): boolean {
    return this.encoder !== undefined;
  }

  /**
   * Makes room for `dispatches` parameter blocks and `dataWords` u32 of data. Submits the current
   * recording when either arena is full; grows the data arena when one op needs more than it holds.
   * Call before `begin()`.
   */
  reserve(dispatches: number, dataWords: number): void {
    const dataFull = this.dataUsed + dataWords > this.dataHost.length;
    if (this.paramUsed + dispatches * this.paramStride > PARAM_ARENA_BYTES || dataFull) this.submit();
    if (dataWords > this.dataHost.length) {
      const bytes = roundUp(dataWords * 4, DATA_ARENA_BYTES);
      if (bytes > this.gpu.limits.maxStorageBufferBindingSize) {
        throw new WebGpuError(
          "too_large",
          `one op needs ${bytes} bytes of host data, over the binding limit`,
        );
      }
      this.dataArena.buffer.destroy();
      this.dataArena = this.createDataArena(bytes);
      this.dataHost = new Uint32Array(bytes / 4);
    }
  }

  /** Starts a recording if none is open (opens its error scope). */
  begin(): void {
    if (this.encoder) return;
    this.device.pushErrorScope("out-of-memory");
    this.device.pushErrorScope("validation");
    this.encoder = this.device.createCommandEncoder();
  }

  /**
   * Runs `create` (buffer creation, weight upload) inside its own error scopes, so that a validation or
   * out-of-memory error it causes is reported by the next `checkErrors()` instead of going uncaptured.
   */
  guard<T>(create: () => T): T {
    this.device.pushErrorScope("out-of-memory");
    this.device.pushErrorScope("validation");
    try {
      return create();
    } finally {
      this.pendingErrors.push(this.device.popErrorScope(), this.device.popErrorScope());
    }
  }

  /** Packs an op's parameters (at most one stride, 256 bytes) into the arena; returns the dynamic offset. */
  pushParams<F extends ParamFields>(layout: ParamLayout<F>, values: ParamValues<F>): number {
    const offset = this.paramUsed;
    layout.pack(this.paramView, offset, values);
    this.paramUsed += this.paramStride;
    return offset;
  }

  /** Appends u32 words (an Int32Array or Float32Array is stored bit for bit); returns the word offset. */
  pushData(words: Uint32Array | Int32Array | Float32Array): number {
    const offset = this.dataUsed;
    this.dataHost.set(new Uint32Array(words.buffer, words.byteOffset, words.length), offset);
    this.dataUsed += words.length;
    return offset;
  }

  /** Records a dispatch. */
  dispatch(
    pipeline: GPUComputePipeline,
    group: GPUBindGroup,
    paramOffset: number,
    grid: readonly number[],
  ): void {
    if (!this.encoder) throw new Error("dispatch outside a recording");
    if (!this.pass) this.pass = this.encoder.beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, group, [paramOffset]);
    this.pass.dispatchWorkgroups(grid[0], grid[1] ?? 1, grid[2] ?? 1);
    this.stats.dispatches++;
  }

  /** Records a buffer-to-buffer copy (outside any compute pass). Sizes and offsets in bytes, multiples of 4. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    if (!this.encoder) throw new Error("copy outside a recording");
    this.endPass();
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
  }

  /** Records `values` being written to `dst` at byte `dstOffset`, in order with the recorded ops. */
  upload(dst: GPUBuffer, dstOffset: number, values: Float32Array): void {
    if (values.length === 0) return;
    if (values.length > this.dataHost.length) {
      // too big to stage: everything recorded so far goes first, then a direct queue write
      this.submit();
      this.device.queue.writeBuffer(dst, dstOffset, values as Float32Array<ArrayBuffer>);
      return;
    }
    this.reserve(0, values.length);
    this.begin();
    const words = this.pushData(values);
    this.copy(this.dataArena.buffer, words * 4, dst, dstOffset, values.length * 4);
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = undefined;
  }

  /** Uploads the arenas and submits the recording (no-op when nothing is recorded). */
  submit(): void {
    if (!this.encoder) return;
    this.endPass();
    const queue = this.device.queue;
    if (this.paramUsed > 0) queue.writeBuffer(this.paramArena.buffer, 0, this.paramHost, 0, this.paramUsed);
    if (this.dataUsed > 0) queue.writeBuffer(this.dataArena.buffer, 0, this.dataHost, 0, this.dataUsed);
    queue.submit([this.encoder.finish()]);
    this.pendingErrors.push(this.device.popErrorScope(), this.device.popErrorScope());
    this.encoder = undefined;
    this.paramUsed = 0;
    this.dataUsed = 0;
    this.epoch++;
    this.stats.submits++;
  }

  /** Throws WebGpuError("gpu") when a submitted recording or a guarded creation raised an error. */
  async checkErrors(): Promise<void> {
    const pending = this.pendingErrors;
    this.pendingErrors = [];
    for (const error of await Promise.all(pending)) {
      if (error) throw new WebGpuError("gpu", `GPU reported ${error.constructor.name}: ${error.message}`);
    }
  }

  /**
   * Copies `bytes` of `src` from byte `offset` (a multiple of 4) to the host after all recorded work:
   * one submit, one map. The submit happens before the first await, so the caller may record more
   * work while this read is in flight.
   */
  async readBytes(src: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    const size = roundUp(bytes, 4);
    const staging = this.takeStaging(size);
    try {
      this.begin();
      this.copy(src, offset, staging.buf, 0, size);
      this.submit();
      this.stats.readbacks++;
      this.stats.readbackBytes += size;
      try {
        await staging.buf.mapAsync(GPUMapMode.READ, 0, size);
      } catch (e) {
        await this.checkErrors();
        throw new WebGpuError(
          "gpu",
          `reading ${size} bytes back from the GPU failed: ${(e as Error).message}`,
        );
      }
      const out = staging.buf.getMappedRange(0, size).slice(0, bytes);
      staging.buf.unmap();
      await this.checkErrors();
      return out;
    } finally {
      staging.busy = false;
    }
  }

  private takeStaging(size: number): { buf: GPUBuffer; size: number; busy: boolean } {
    let best: { buf: GPUBuffer; size: number; busy: boolean } | undefined;
    for (const s of this.staging) {
      if (!s.busy && s.size >= size && (!best || s.size < best.size)) best = s;
    }
    if (!best) {
      const bufSize = Math.max(MIN_STAGING_BYTES, 2 ** Math.ceil(Math.log2(size)));
      const buf = this.device.createBuffer({
        size: bufSize,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        label: "readback staging",
      });
      best = { buf, size: bufSize, busy: false };
      this.staging.push(best);
    }
    best.busy = true;
    return best;
  }

  /** Closes an open recording without submitting it and frees the arenas and staging buffers. */
  dispose(): void {
    if (this.encoder) {
      this.endPass();
      this.encoder = undefined;
      this.device.popErrorScope().catch(() => {});
      this.device.popErrorScope().catch(() => {});
    }
    this.paramArena.buffer.destroy();
    this.dataArena.buffer.destroy();
    for (const s of this.staging) s.buf.destroy();
    this.staging.length = 0;
  }
}
