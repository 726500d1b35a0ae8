/**
 * The ops over activation tensors (and at most a vector weight: a norm weight or a bias): elementwise
 * add, bias and SiLU·mul, the per-row RMS norm and softmax, row gathering, and each logits row's greedy
 * pick. Each is a few host-side checks and one job (or a copy on the calling thread); they sit apart
 * from the weight-matrix ops (weight_ops.ts), which prepare their input per weight type, and the
 * attention ops (attention_ops.ts), which place tokens in the KV cache.
 *
 * @example
 * ```ts
 * runAdd(ctx, out, a, b, 4); // out[i] = a[i] + b[i], done when it returns
 * ```
 */
import type { Tensor, Weight } from "../backend.ts";
import { WasmBackendError } from "./errors.ts";
import { F32Word, Op } from "./job.ts";
import {
  asTensor,
  asWeight,
  checkCount,
  checkFits,
  type OpContext,
  PARALLEL_MIN_ELEMENTS,
  runJob,
} from "./op_context.ts";

/** x[t, :] += bias for t < n (see Backend.addBias). */
export function runAddBias(ctx: OpContext, x: Tensor, bias: Weight, n: number): void {
  const xt = asTensor(ctx, x);
  const b = asWeight(ctx, bias);
  const len = b.rows * b.cols;
  checkCount(n, "addBias n");
  checkFits(xt, n * len, "addBias input");
  if (b.f32Ptr < 0) throw new WasmBackendError("bad_argument", `${b.name} is not a vector`);
  if (n === 0) return;
  runJob(ctx, [Op.AddBias, xt.ptr, b.f32Ptr, n, len], n * len >= PARALLEL_MIN_ELEMENTS);
  xt.version++;
}

/** out[t, :] = rmsNorm(x[t, :]) · weight for t < n (see Backend.rmsNorm). */
export function runRmsNorm(
  ctx: OpContext,
  out: Tensor,
  x: Tensor,
  weight: Weight,
  n: number,
  eps: number,
): void {
  const o = asTensor(ctx, out);
  const xt = asTensor(ctx, x);
  const w = asWeight(ctx, weight);
  const len = w.rows * w.cols;
  checkCount(n, "rmsNorm n");
  checkFits(xt, n * len, "rmsNorm input");
  checkFits(o, n * len, "rmsNorm output");
  if (w.f32Ptr < 0) throw new WasmBackendError("bad_argument", `${w.name} is not a vector`);
  if (n === 0) return;
  runJob(
    ctx,
    [Op.RmsNorm, o.ptr, xt.ptr, w.f32Ptr, n, len, new F32Word(eps)],
    n * len >= PARALLEL_MIN_ELEMENTS,
  );
  o.version++;
}

/** out = silu(gate) · up over `length` values (see Backend.siluMul). */
export function runSiluMul(ctx: OpContext, out: Tensor, gate: Tensor, up: Tensor, length: number): void {
  const [o, g, u] = [asTensor(ctx, out), asTensor(ctx, gate), asTensor(ctx, up)];
  checkCount(length, "siluMul length");
  for (const t of [o, g, u]) checkFits(t, length, "siluMul operand");
  if (length === 0) return;
  runJob(ctx, [Op.SiluMul, o.ptr, g.ptr, u.ptr, length], length >= PARALLEL_MIN_ELEMENTS);
  o.version++;
}

/** out = a + b over `length` values (see Backend.add). */
export function runAdd(ctx: OpContext, out: Tensor, a: Tensor, b: Tensor, length: number): void {
  const [o, at, bt] = [asTensor(ctx, out), asTensor(ctx, a), asTensor(ctx, b)];
  checkCount(length, "add length");
  for (const t of [o, at, bt]) checkFits(t, length, "add operand");
  if (length === 0) return;
  runJob(ctx, [Op.Add, o.ptr, at.ptr, bt.ptr, length], length >= PARALLEL_MIN_ELEMENTS);
  o.version++;
}

/** Softmax in place over each of `n` rows of `rowLength` values (see Backend.softmax). */
export function runSoftmax(ctx: OpContext, x: Tensor, n: number, rowLength: number): void {
  const xt = asTensor(ctx, x);
  checkCount(n, "softmax n");
  checkCount(rowLength, "softmax rowLength");
  checkFits(xt, n * rowLength, "softmax input");
  if (n === 0 || rowLength === 0) return;
  runJob(ctx, [Op.Softmax, xt.ptr, n, rowLength], n > 1 && n * rowLength >= PARALLEL_MIN_ELEMENTS);
  xt.version++;
}

/** out[j, :] = x[rows[j], :], copied on the calling thread (see Backend.gatherRows). */
export function runGatherRows(
  ctx: OpContext,
  out: Tensor,
  x: Tensor,
  rows: Int32Array,
  rowLength: number,
): void {
  const o = asTensor(ctx, out);
  const xt = asTensor(ctx, x);
  checkCount(rowLength, "gatherRows rowLength");
  checkFits(o, rows.length * rowLength, "gatherRows output");
  // a copy out of the same tensor would read rows already overwritten
  if (o === xt) throw new WasmBackendError("bad_argument", "gatherRows output must not alias its input");
  const available = Math.floor(xt.length / Math.max(rowLength, 1));
  const f32 = ctx.mem.f32;
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

/** into[i] = index of the highest value in logits row i, for i < rows (see WasmBackend.greedyRows). */
export function runGreedyRows(
  ctx: OpContext,
  logits: Tensor,
  rows: number,
  rowLength: number,
  into: Int32Array,
): Int32Array {
  const lt = asTensor(ctx, logits);
  checkCount(rows, "greedyRows rows");
  checkCount(rowLength, "greedyRows rowLength");
  checkFits(lt, rows * rowLength, "greedyRows logits");
  if (into.length < rows) {
    throw new WasmBackendError("bad_argument", `greedyRows: room for ${into.length} ids, ${rows} rows`);
  }
  if (rows === 0) return into;
  const ids = ctx.indices.get(rows * 4); // i32 [rows]
  runJob(
    ctx,
    [Op.Greedy, lt.ptr, rows, rowLength, ids],
    rows > 1 && rows * rowLength >= PARALLEL_MIN_ELEMENTS,
  );
  into.set(ctx.mem.i32.subarray(ids / 4, ids / 4 + rows));
  return into;
}
