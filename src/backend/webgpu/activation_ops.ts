/**
 * The ops over activation tensors (and at most a vector weight: a norm weight or a bias): elementwise
 * add, bias and SiLU·mul, the per-row RMS norm and softmax, row gathering and the copy probe. Each is a
 * few host-side checks and one dispatch of its kernel; they sit apart from the weight-matrix ops
 * (weight_ops.ts), which dispatch once per row chunk, and the attention ops (attention_ops.ts), which
 * stage placements and rope tables.
 *
 * @example
 * ```ts
 * recordAdd(ctx, out, a, b, 4); // out[i] = a[i] + b[i], recorded, not yet submitted
 * ```
 */
import type { Tensor, Weight } from "../backend.ts";
import { checkLength, vectorWeight } from "./argument_checks.ts";
import { KERNELS, WORKGROUP_SIZE } from "./kernel_specs.ts";
import { asTensor, type OpContext, recordKernel, recordSimple } from "./op_context.ts";
import { WebGpuError } from "./webgpu_error.ts";

/** x[t, :] += bias for t < n (see Backend.addBias). */
export function recordAddBias(ctx: OpContext, x: Tensor, bias: Weight, n: number): void {
  const b = vectorWeight(bias, "addBias");
  checkLength(x, n * b.cols, "addBias input");
  const total = n * b.cols;
  if (total === 0) return;
  recordSimple(
    ctx,
    KERNELS.add_bias,
    { total, len: b.cols },
    [asTensor(x).buf, b.chunks[0].buf],
    ctx.kernels.grid(Math.ceil(total / WORKGROUP_SIZE)),
  );
}

/** out[t, :] = rmsNorm(x[t, :]) · weight for t < n (see Backend.rmsNorm). */
export function recordRmsNorm(
  ctx: OpContext,
  out: Tensor,
  x: Tensor,
  weight: Weight,
  n: number,
  eps: number,
): void {
  const w = vectorWeight(weight, "rmsNorm");
  checkLength(x, n * w.cols, "rmsNorm input");
  checkLength(out, n * w.cols, "rmsNorm output");
  if (n === 0) return;
  recordSimple(ctx, KERNELS.rms_norm, { n, len: w.cols, eps }, [
    asTensor(x).buf,
    asTensor(out).buf,
    w.chunks[0].buf,
  ], ctx.kernels.grid(n));
}

/** out = silu(gate) · up over `length` values (see Backend.siluMul). */
export function recordSiluMul(ctx: OpContext, out: Tensor, gate: Tensor, up: Tensor, length: number): void {
  for (const t of [out, gate, up]) checkLength(t, length, "siluMul operand");
  if (length === 0) return;
  const bufs = [asTensor(gate).buf, asTensor(up).buf, asTensor(out).buf];
  recordSimple(
    ctx,
    KERNELS.silu_mul,
    { len: length },
    bufs,
    ctx.kernels.grid(Math.ceil(length / WORKGROUP_SIZE)),
  );
}

/** out = a + b over `length` values (see Backend.add). */
export function recordAdd(ctx: OpContext, out: Tensor, a: Tensor, b: Tensor, length: number): void {
  for (const t of [out, a, b]) checkLength(t, length, "add operand");
  if (length === 0) return;
  const bufs = [asTensor(a).buf, asTensor(b).buf, asTensor(out).buf];
  recordSimple(ctx, KERNELS.add, { len: length }, bufs, ctx.kernels.grid(Math.ceil(length / WORKGROUP_SIZE)));
}

/** Softmax in place over each of `n` rows of `rowLength` values (see Backend.softmax). */
export function recordSoftmax(ctx: OpContext, x: Tensor, n: number, rowLength: number): void {
  checkLength(x, n * rowLength, "softmax input");
  if (n === 0 || rowLength === 0) return;
  recordSimple(ctx, KERNELS.softmax, { n, len: rowLength }, [asTensor(x).buf], ctx.kernels.grid(n));
}

/** out[i, :] = x[rows[i], :] (see Backend.gatherRows); the row indices travel in the data arena. */
export function recordGatherRows(
  ctx: OpContext,
  out: Tensor,
  x: Tensor,
  rows: Int32Array,
  rowLength: number,
): void {
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
  ctx.rec.reserve(1, rows.length);
  ctx.rec.begin();
  const dataOff = ctx.rec.pushData(rows);
  recordKernel(
    ctx,
    KERNELS.gather_rows,
    {},
    { count: rows.length, len: rowLength, data_off: dataOff },
    [ctx.rec.dataArena, asTensor(x).buf, asTensor(out).buf],
    ctx.kernels.grid(Math.ceil(total / WORKGROUP_SIZE)),
  );
}

/** dst = src over `length` f32 (a multiple of 4), by the copy kernel: the roofline probe. */
export function recordCopyTensor(ctx: OpContext, dst: Tensor, src: Tensor, length: number): void {
  if (length % 4 !== 0) throw new WebGpuError("bad_input", `copy length ${length} is not a multiple of 4`);
  checkLength(dst, length, "copy destination");
  checkLength(src, length, "copy source");
  if (dst === src || length === 0) return;
  recordSimple(
    ctx,
    KERNELS.copy,
    { len: length / 4 },
    [asTensor(src).buf, asTensor(dst).buf],
    ctx.kernels.grid(Math.ceil(length / 4 / WORKGROUP_SIZE)),
  );
}
