/**
 * What the WebGPU backend holds on the GPU: activation tensors, weights (repacked, split into row chunks
 * that fit one storage binding), KV caches (one K and one V buffer per layer) and token-id buffers.
 *
 * Splitting: a weight whose largest section exceeds maxStorageBufferBindingSize is cut into row ranges,
 * each its own buffer with its sections at aligned offsets; matmul and embed dispatch once per chunk.
 * A KV cache is a buffer per layer and K/V, so only one layer's [slots, ctx, kvDim] must fit a binding.
 *
 * @example
 * ```ts
 * const w = uploadGpuWeight(device, limits, spec, bytes, F32_FORMAT);
 * w.chunks.length; // 1 unless the weight exceeds a binding
 * ```
 */
import type { KvCache, KvCacheSpec, Tensor, Weight, WeightSpec } from "../backend.ts";
import { dequantize, type GgmlType, tensorByteSize } from "../../quant/mod.ts";
import { elementCount } from "../weight_shape.ts";
import type { GpuLimits } from "./gpu_device.ts";
import { createIdBuffer, type IdBuffer } from "./recorder.ts";
import { F32_FORMAT, type WeightFormat, weightFormatOf } from "./weight_format.ts";
import { WebGpuError } from "./webgpu_error.ts";

/** Bytes every buffer size rounds up to (vec4 bindings read 16 bytes at a time). */
const BUFFER_ALIGN = 16;
/** Activations are read four values at a time: matrix rows must be whole vec4s. */
const VEC4 = 4;
const roundUp = (value: number, multiple: number) => Math.ceil(value / multiple) * multiple;

/** An activation tensor: `length` f32 values in a storage buffer. */
export class GpuTensor implements Tensor {
  constructor(readonly length: number, readonly buf: IdBuffer) {}
}

/** One row range of a weight in one buffer; `sections` are byte ranges of that buffer. */
export interface WeightChunk {
  readonly rowStart: number;
  readonly rows: number;
  readonly buf: IdBuffer;
  readonly sections: readonly { readonly offset: number; readonly size: number }[];
}

/** A weight in its storage format, as row chunks. Vectors (rows = 1) are stored as f32. */
export class GpuWeight implements Weight {
  constructor(
    readonly name: string,
    readonly type: GgmlType,
    readonly rows: number,
    readonly cols: number,
    readonly format: WeightFormat,
    readonly chunks: readonly WeightChunk[],
  ) {}
}

/** A KV cache: per layer, K and V buffers of [slots, ctx, kvDim] f32 or f16. */
export class GpuKvCache implements KvCache {
  constructor(readonly spec: KvCacheSpec, readonly k: readonly IdBuffer[], readonly v: readonly IdBuffer[]) {}
}

/** u32 token ids on the GPU: written by the sampler, read by embedding, read back in chunks. */
export class GpuTokenIds {
  constructor(readonly length: number, readonly buf: IdBuffer) {}
}

/** Buffer usage of tensors: bound as storage, written by copies, read back by copies. */
export const TENSOR_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** Creates a zeroed buffer of `bytes` for storage use, refusing sizes over the binding limit. */
export function createStorage(device: GPUDevice, limits: GpuLimits, bytes: number, what: string): IdBuffer {
  const size = roundUp(Math.max(bytes, BUFFER_ALIGN), BUFFER_ALIGN);
  if (size > limits.maxStorageBufferBindingSize || size > limits.maxBufferSize) {
    throw new WebGpuError(
      "too_large",
      `${what} needs ${size} bytes, over this adapter's limit of ${
        Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize)
      } bytes per storage buffer`,
    );
  }
  return createIdBuffer(device, size, TENSOR_USAGE, what);
}

/** Repacks a GGUF weight and uploads it in as many row chunks as the binding limit needs. */
export function uploadGpuWeight(
  device: GPUDevice,
  limits: GpuLimits,
  spec: WeightSpec,
  data: Uint8Array,
  maxBindingBytes: number,
): GpuWeight {
  const count = elementCount(spec.dims);
  const cols = spec.dims[0] ?? 1;
  const rows = cols === 0 ? 0 : count / cols;
  if (!Number.isSafeInteger(count) || count <= 0) {
    throw new WebGpuError("bad_input", `weight ${spec.name} has no values (dims ${spec.dims.join("×")})`);
  }
  let need: number;
  try {
    need = tensorByteSize(spec.type, spec.dims);
  } catch (e) {
    throw new WebGpuError("bad_input", `weight ${spec.name}: ${(e as Error).message}`);
  }
  if (data.length < need) {
    throw new WebGpuError(
      "bad_input",
      `weight ${spec.name} needs ${need} bytes of ${spec.type}, got ${data.length}`,
    );
  }
  let format = weightFormatOf(spec.type);
  let raw = data;
  if (rows === 1) {
    // vectors (norm weights, biases) are read element-wise by f32 kernels, whatever their GGUF type
    format = F32_FORMAT;
    const values = dequantize(spec.type, data, count);
    raw = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  } else if (!format) {
    throw new WebGpuError(
      "unsupported",
      `weight ${spec.name}: the WebGPU backend has no kernel for ggml type ${spec.type}`,
    );
  } else if (cols % VEC4 !== 0) {
    throw new WebGpuError(
      "unsupported",
      `weight ${spec.name}: rows of ${cols} values are not a multiple of ${VEC4} (the kernels read vec4)`,
    );
  }
  const rawRowBytes = rows === 1 ? count * 4 : need / rows;
  const align = Math.max(BUFFER_ALIGN, limits.minStorageBufferOffsetAlignment);
  const bindingCap = Math.min(maxBindingBytes, limits.maxStorageBufferBindingSize);
  const widest = Math.max(...format.sections.map((s) => s.bytesPerRow(cols)));
  const perChunk = Math.min(rows, Math.floor((bindingCap - BUFFER_ALIGN) / widest));
  const totalPerRow = format.sections.reduce((sum, s) => sum + s.bytesPerRow(cols), 0);
  const byBuffer = Math.floor(
    (limits.maxBufferSize - format.sections.length * (align + BUFFER_ALIGN)) / totalPerRow,
  );
  const rowsPerChunk = Math.min(perChunk, byBuffer);
  if (rowsPerChunk < 1) {
    throw new WebGpuError(
      "too_large",
      `weight ${spec.name}: one row needs ${widest} bytes, over this adapter's ${bindingCap}-byte storage binding`,
    );
  }
  const chunks: WeightChunk[] = [];
  for (let rowStart = 0; rowStart < rows; rowStart += rowsPerChunk) {
    const chunkRows = Math.min(rowsPerChunk, rows - rowStart);
    const bytes = raw.subarray(rowStart * rawRowBytes, (rowStart + chunkRows) * rawRowBytes);
    const parts = format.repack(bytes, chunkRows, rows === 1 ? count : cols);
    const sections: { offset: number; size: number }[] = [];
    let size = 0;
    for (const part of parts) {
      const offset = roundUp(size, align);
      sections.push({ offset, size: roundUp(Math.max(part.length, BUFFER_ALIGN), BUFFER_ALIGN) });
      size = offset + sections[sections.length - 1].size;
    }
    const buf = createIdBuffer(device, size, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, spec.name);
    parts.forEach((part, i) => {
      const padded = part.length % 4 === 0 ? part : copyPadded(part);
      device.queue.writeBuffer(buf.buffer, sections[i].offset, padded as Uint8Array<ArrayBuffer>);
    });
    chunks.push({ rowStart, rows: chunkRows, buf, sections });
  }
  return new GpuWeight(spec.name, spec.type, rows, cols, format, chunks);
}

function copyPadded(part: Uint8Array): Uint8Array {
  const out = new Uint8Array(roundUp(part.length, 4));
  out.set(part);
  return out;
}

/** Allocates a KV cache: one K and one V buffer per layer, f16 or f32 elements. */
export function createGpuKvCache(
  device: GPUDevice,
  limits: GpuLimits,
  spec: KvCacheSpec,
  f16: boolean,
): GpuKvCache {
  for (const [key, value] of Object.entries(spec)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new WebGpuError("bad_input", `KV cache ${key} must be a positive integer, got ${value}`);
    }
  }
  const bytes = spec.slots * spec.ctx * spec.kvDim * (f16 ? 2 : 4);
  const k: IdBuffer[] = [];
  const v: IdBuffer[] = [];
  for (let layer = 0; layer < spec.layers; layer++) {
    k.push(
      createStorage(
        device,
        limits,
        bytes,
        `KV cache K of layer ${layer} [${spec.slots}, ${spec.ctx}, ${spec.kvDim}]`,
      ),
    );
    v.push(
      createStorage(
        device,
        limits,
        bytes,
        `KV cache V of layer ${layer} [${spec.slots}, ${spec.ctx}, ${spec.kvDim}]`,
      ),
    );
  }
  return new GpuKvCache(spec, k, v);
}
