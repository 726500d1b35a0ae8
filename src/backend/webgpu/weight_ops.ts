/**
 * The ops that read a weight matrix: embedding lookup (from host token ids or ids that never left the
 * GPU), matmul and the fused gate/up SiLU. They are apart from the other ops because a weight is
 * stored as row chunks (gpu_resources.ts), so each dispatches once per chunk — and the fused kernel,
 * reading two weights that may split at different rows, once per range lying within one chunk of each.
 *
 * Products pick their kernel by batch size: the matvec (one pass over the weight per token) below
 * {@link TILED_MIN_TOKENS}, the tiled matmul (one pass per tile of tokens) from there on.
 *
 * @example
 * ```ts
 * recordMatmul(ctx, out, wq, x, n); // out [n, wq.rows] = x [n, wq.cols] · wqᵀ
 * ```
 */
import type { Tensor, Weight } from "../backend.ts";
import { recordSiluMul } from "./activation_ops.ts";
import { checkLength, weightGroups } from "./argument_checks.ts";
import type { GpuTokenIds, GpuWeight, WeightChunk } from "./gpu_resources.ts";
import {
  KERNELS,
  MATMUL_TILE_ROWS,
  MATMUL_TILE_TOKENS,
  MATVEC_ROWS,
  WORKGROUP_SIZE,
} from "./kernel_specs.ts";
import { asTensor, asWeight, type OpContext, recordKernel } from "./op_context.ts";
import { WebGpuError } from "./webgpu_error.ts";

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

/** out[i, :] = row tokens[i] of `table` (see Backend.embed); the ids travel in the data arena. */
export function recordEmbed(ctx: OpContext, out: Tensor, table: Weight, tokens: Int32Array): void {
  const w = asWeight(table);
  for (const token of tokens) {
    if (!Number.isInteger(token) || token < 0 || token >= w.rows) {
      throw new RangeError(`token id ${token} outside vocabulary of ${w.rows}`);
    }
  }
  checkLength(out, tokens.length * w.cols, "embed output");
  if (tokens.length === 0) return;
  embedFrom(ctx, out, w, tokens, undefined, 0, tokens.length);
}

/** out[i, :] = row ids[offset + i] of `table`, for i < n: embedding of tokens that never left the GPU. */
export function recordEmbedTokenIds(
  ctx: OpContext,
  out: Tensor,
  table: Weight,
  ids: GpuTokenIds,
  offset: number,
  n: number,
): void {
  const w = asWeight(table);
  checkLength(out, n * w.cols, "embed output");
  if (offset < 0 || offset + n > ids.length) {
    throw new WebGpuError("bad_input", `ids ${offset}..${offset + n} of ${ids.length}`);
  }
  if (n > 0) embedFrom(ctx, out, w, undefined, ids, offset, n);
}

/** Records the embed kernel once per chunk, reading ids from host `tokens` or from `ids` at `idOffset`. */
function embedFrom(
  ctx: OpContext,
  out: Tensor,
  w: GpuWeight,
  tokens: Int32Array | undefined,
  ids: GpuTokenIds | undefined,
  idOffset: number,
  n: number,
): void {
  const groups = weightGroups(w);
  ctx.rec.reserve(w.chunks.length, tokens?.length ?? 0);
  ctx.rec.begin();
  const dataOff = tokens ? ctx.rec.pushData(tokens) : idOffset;
  const data = ids ? ids.buf : ctx.rec.dataArena;
  for (const chunk of w.chunks) {
    recordKernel(
      ctx,
      KERNELS.embed,
      { format: w.format },
      { n, groups, cols4: w.cols / 4, row_base: chunk.rowStart, rows: chunk.rows, data_off: dataOff },
      [data, asTensor(out).buf],
      ctx.kernels.grid(Math.ceil((n * groups) / WORKGROUP_SIZE)),
      chunk,
    );
  }
}

/** out [n, w.rows] = x [n, w.cols] · wᵀ (see Backend.matmul): matvec or tiled, once per chunk. */
export function recordMatmul(ctx: OpContext, out: Tensor, w: Weight, x: Tensor, n: number): void {
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
  if (!tiled && n > ctx.limits.maxComputeWorkgroupsPerDimension) {
    throw new WebGpuError("too_large", `batch ${n}`);
  }
  ctx.rec.reserve(g.chunks.length, 0);
  ctx.rec.begin();
  for (const chunk of g.chunks) {
    const grid = tiled
      ? [Math.ceil(chunk.rows / MATMUL_TILE_ROWS), ctx.kernels.dim(Math.ceil(n / MATMUL_TILE_TOKENS))]
      : [...ctx.kernels.grid(Math.ceil(chunk.rows / MATVEC_ROWS)), n];
    recordKernel(
      ctx,
      spec,
      { format: g.format },
      { rows: chunk.rows, groups, cols4: g.cols / 4, row_base: chunk.rowStart, out_stride: g.rows, n },
      [asTensor(x).buf, asTensor(out).buf],
      grid,
      chunk,
    );
  }
}

/**
 * out = silu(x · gateᵀ) · (x · upᵀ) (see Backend.gateUpSilu): one fused dispatch per aligned piece for
 * decode, two products and siluMul (through `scratch`) for batches.
 */
export function recordGateUpSilu(
  ctx: OpContext,
  out: Tensor,
  gate: Weight,
  up: Weight,
  x: Tensor,
  n: number,
  scratch: Tensor,
): void {
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
  if (n >= TILED_MIN_TOKENS || bindings > ctx.limits.maxStorageBuffersPerShaderStage) {
    recordMatmul(ctx, out, g, x, n);
    recordMatmul(ctx, scratch, u, x, n);
    return recordSiluMul(ctx, out, out, scratch, n * g.rows);
  }
  checkLength(x, n * g.cols, `gateUpSilu input of ${g.name}`);
  checkLength(out, n * g.rows, `gateUpSilu output of ${g.name}`);
  if (n === 0) return;
  const pieces = alignedPieces(g.chunks, u.chunks);
  ctx.rec.reserve(pieces.length, 0);
  ctx.rec.begin();
  for (const { start, rows, gateChunk, upChunk } of pieces) {
    recordKernel(
      ctx,
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
      [...ctx.kernels.grid(Math.ceil(rows / MATVEC_ROWS)), n],
      [gateChunk, upChunk],
    );
  }
}
