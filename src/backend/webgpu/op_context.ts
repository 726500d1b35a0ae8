/**
 * What every op recorder shares: the backend's recorder and dispatcher, the device limits, the KV cache
 * precision and the backend's liveness check, handed over explicitly so that the op families live in
 * their own files (activation_ops.ts, weight_ops.ts, attention_ops.ts) while the backend class
 * (webgpu_backend.ts) keeps its state private and only owns memory and lifetime.
 *
 * Every op records the same way: host-side argument checks, `rec.reserve` / `rec.begin`, host arrays
 * into the data arena, then {@link recordKernel}, which refuses to record on a disposed backend or a
 * lost device.
 *
 * @example
 * ```ts
 * const ctx: OpContext = { rec, kernels, limits: gpu.limits, f16: true, live: () => {} };
 * recordSimple(ctx, KERNELS.add, { len: 4 }, [a.buf, b.buf, out.buf], kernels.grid(1));
 * ```
 */
import type { Tensor, Weight } from "../backend.ts";
import type { Dispatcher } from "./dispatcher.ts";
import type { GpuLimits } from "./gpu_device.ts";
import type { GpuTensor, GpuWeight, WeightChunk } from "./gpu_resources.ts";
import type { KernelSpec } from "./kernel_specs.ts";
import type { ParamFields, ParamValues } from "./param_layout.ts";
import type { KernelVariant } from "./pipeline_cache.ts";
import type { IdBuffer, Recorder } from "./recorder.ts";

/** The backend state an op records with. */
export interface OpContext {
  readonly rec: Recorder;
  readonly kernels: Dispatcher;
  /** the limits buffers and dispatches are sized by */
  readonly limits: GpuLimits;
  /** the KV cache is f16 */
  readonly f16: boolean;
  /** throws WebGpuError ("disposed", "gpu") once the backend is disposed or its device lost */
  readonly live: () => void;
}

/** A backend tensor as the WebGPU one it is. */
export const asTensor = (t: Tensor): GpuTensor => t as GpuTensor;
/** A backend weight as the WebGPU one it is. */
export const asWeight = (w: Weight): GpuWeight => w as GpuWeight;

/** Records one dispatch (after reserve/begin). */
export function recordKernel<F extends ParamFields>(
  ctx: OpContext,
  spec: KernelSpec<F>,
  variant: KernelVariant,
  values: ParamValues<F>,
  bufs: IdBuffer[],
  grid: number[],
  chunk?: WeightChunk | readonly WeightChunk[],
): void {
  ctx.live();
  ctx.kernels.dispatch(spec, variant, values, bufs, grid, chunk);
}

/** Records a kernel that needs no data arena. */
export function recordSimple<F extends ParamFields>(
  ctx: OpContext,
  spec: KernelSpec<F>,
  values: ParamValues<F>,
  bufs: IdBuffer[],
  grid: number[],
): void {
  ctx.rec.reserve(1, 0);
  ctx.rec.begin();
  recordKernel(ctx, spec, {}, values, bufs, grid);
}
