/**
 * GGUF v3 writer: `encodeGguf` builds a small file in memory; `writeGgufFile` streams a large one to disk
 * tensor by tensor (a 1.1B-parameter model in f32 is 4.4 GB: only one tensor is in memory at a time),
 * writing to a temporary name in the same directory and renaming it into place when complete, so a reader
 * never sees a half-written file.
 *
 * Layout written: header, metadata in the given order, tensor table in the given order, zero padding to the
 * alignment, then each tensor's data followed by zero padding to the alignment (a file without tensors
 * ends after the tensor table, as ggml writes it). `general.alignment` is
 * written only when the alignment is not the default 32.
 *
 * @example
 * ```ts
 * await writeGgufFile("tiny.gguf", {
 *   metadata: [["general.architecture", kv.string("llama")]],
 *   tensors: [{ name: "w", dims: [32, 2], type: GgmlType.Q8_0, data: quantize(GgmlType.Q8_0, values) }],
 * });
 * ```
 */
import { ggmlTypeInfo, isSupportedType, tensorByteSize } from "../quant/ggml_type.ts";
import type { GgmlType } from "../quant/ggml_type.ts";
import { GgufError } from "./errors.ts";
import { encodeHeader } from "./header_encoder.ts";
import { GGUF_DEFAULT_ALIGNMENT, MAX_ALIGNMENT, MAX_DIMS, MAX_TENSOR_NAME_BYTES } from "./limits.ts";
import { type GgufKv, type GgufTensorInfo, GgufValueType } from "./types.ts";

/** Tensor data, or a function producing it when the writer reaches that tensor. */
export type GgufTensorData = Uint8Array | (() => Uint8Array | Promise<Uint8Array>);

/** One tensor to write. */
export interface GgufTensorSpec {
  readonly name: string;
  /** GGUF order: dims[0] is the row length */
  readonly dims: readonly number[];
  readonly type: GgmlType;
  /** exactly `tensorByteSize(type, dims)` bytes */
  readonly data: GgufTensorData;
}

/** What to write. */
export interface GgufSpec {
  readonly metadata?: Iterable<readonly [string, GgufKv]> | ReadonlyMap<string, GgufKv>;
  readonly tensors?: readonly GgufTensorSpec[];
  /** data alignment in bytes (default 32, or `general.alignment` from the metadata) */
  readonly alignment?: number;
  /** 3 (default) or 2: the layouts are identical for little-endian files */
  readonly version?: 2 | 3;
}

/** A spec checked and laid out: the encoded header and where each tensor goes. */
export interface GgufLayout {
  /** header + metadata + tensor table + padding up to the data section */
  readonly header: Uint8Array;
  readonly alignment: number;
  readonly dataOffset: number;
  readonly tensors: readonly GgufTensorInfo[];
  /** total file size in bytes */
  readonly fileSize: number;
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

function resolveMetadata(spec: GgufSpec): { metadata: Array<[string, GgufKv]>; alignment: number } {
  const metadata: Array<[string, GgufKv]> = [];
  const seen = new Set<string>();
  for (const [key, value] of spec.metadata ?? []) {
    if (seen.has(key)) throw new GgufError("duplicate_key", `metadata key "${key}" given twice`);
    seen.add(key);
    metadata.push([key, value]);
  }
  const given = metadata.find(([k]) => k === "general.alignment")?.[1];
  if (given !== undefined && (given.type !== GgufValueType.UINT32 || typeof given.value !== "number")) {
    throw new GgufError("bad_alignment", `general.alignment must be a UINT32, got value type ${given.type}`);
  }
  const alignment = spec.alignment ?? (given?.value as number | undefined) ?? GGUF_DEFAULT_ALIGNMENT;
  if (
    !Number.isInteger(alignment) || alignment < 1 || (alignment & (alignment - 1)) !== 0 ||
    alignment > MAX_ALIGNMENT
  ) {
    throw new GgufError(
      "bad_alignment",
      `alignment ${alignment} is not a power of two up to ${MAX_ALIGNMENT}`,
    );
  }
  if (given !== undefined && given.value !== alignment) {
    throw new GgufError(
      "bad_alignment",
      `alignment ${alignment} contradicts general.alignment ${given.value}`,
    );
  }
  if (given === undefined && alignment !== GGUF_DEFAULT_ALIGNMENT) {
    metadata.push(["general.alignment", { type: GgufValueType.UINT32, value: alignment }]);
  }
  return { metadata, alignment };
}

/** Checks a spec and computes the header bytes and tensor offsets (tensor data is not touched). */
export function layoutGguf(spec: GgufSpec): GgufLayout {
  const { metadata, alignment } = resolveMetadata(spec);
  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  let offset = 0;
  for (const t of spec.tensors ?? []) {
    checkTensor(t, names);
    const byteSize = tensorByteSize(t.type, t.dims);
    tensors.push({ name: t.name, dims: [...t.dims], type: t.type, offset, byteSize });
    offset = alignUp(offset + byteSize, alignment);
  }
  const version = spec.version ?? 3;
  const header = encodeHeader(version, metadata, tensors, alignment);
  const dataOffset = alignUp(header.length, alignment);
  const fileSize = tensors.length > 0 ? dataOffset + offset : header.length;
  return { header, alignment, dataOffset, tensors, fileSize };
}

function checkTensor(t: GgufTensorSpec, names: Set<string>): void {
  const nameBytes = new TextEncoder().encode(t.name).length;
  if (nameBytes === 0 || nameBytes > MAX_TENSOR_NAME_BYTES) {
    throw new GgufError("bad_tensor", `tensor name "${t.name}" must be 1 to ${MAX_TENSOR_NAME_BYTES} bytes`);
  }
  if (names.has(t.name)) throw new GgufError("duplicate_tensor", `tensor "${t.name}" given twice`);
  names.add(t.name);
  if (
    t.dims.length < 1 || t.dims.length > MAX_DIMS || t.dims.some((d) => !Number.isSafeInteger(d) || d < 1)
  ) {
    throw new GgufError("bad_tensor", `tensor "${t.name}" has dims [${t.dims.join(", ")}]`);
  }
  const info = isSupportedType(t.type) ? ggmlTypeInfo(t.type) : undefined;
  if (info === undefined) throw new GgufError("unknown_tensor_type", `tensor "${t.name}" has type ${t.type}`);
  if (t.dims[0] % info.blockSize !== 0) {
    throw new GgufError(
      "bad_tensor",
      `tensor "${t.name}" has rows of ${
        t.dims[0]
      } values, not a multiple of ${info.name}'s block of ${info.blockSize}`,
    );
  }
}

function checkData(info: GgufTensorInfo, data: Uint8Array): Uint8Array {
  if (!(data instanceof Uint8Array) || data.length !== info.byteSize) {
    const got = data instanceof Uint8Array ? `${data.length} bytes` : typeof data;
    throw new GgufError(
      "bad_tensor",
      `tensor "${info.name}" needs ${info.byteSize} bytes of data, got ${got}`,
    );
  }
  return data;
}

/**
 * Encodes a whole GGUF file in memory (for small files and tests). Tensor data functions must return
 * bytes synchronously here; use `writeGgufFile` for large or asynchronously produced data.
 */
export function encodeGguf(spec: GgufSpec): Uint8Array {
  const layout = layoutGguf(spec);
  const out = new Uint8Array(layout.fileSize);
  out.set(layout.header);
  const specs = spec.tensors ?? [];
  layout.tensors.forEach((info, i) => {
    const d = specs[i].data;
    const data = typeof d === "function" ? d() : d;
    if (data instanceof Promise) {
      throw new GgufError(
        "bad_tensor",
        `tensor "${info.name}": encodeGguf needs synchronous data; use writeGgufFile`,
      );
    }
    out.set(checkData(info, data), layout.dataOffset + info.offset);
  });
  return out;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}

/**
 * Writes a GGUF file to `path`, streaming tensor data one tensor at a time; the file appears at `path`
 * only once complete (written under a temporary name, then renamed).
 */
export async function writeGgufFile(path: string, spec: GgufSpec): Promise<void> {
  const layout = layoutGguf(spec);
  const specs = spec.tensors ?? [];
  const temp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(temp, { write: true, createNew: true });
    await writeAll(file, layout.header);
    const padding = new Uint8Array(layout.alignment);
    let written = layout.dataOffset;
    for (let i = 0; i < layout.tensors.length; i++) {
      const info = layout.tensors[i];
      const d = specs[i].data;
      const data = checkData(info, typeof d === "function" ? await d() : d);
      await writeAll(file, data);
      written += data.length;
      const pad = alignUp(written, layout.alignment) - written;
      await writeAll(file, padding.subarray(0, pad));
      written += pad;
    }
    await file.syncData();
    file.close();
    file = undefined;
    await Deno.rename(temp, path);
  } catch (e) {
    file?.close();
    await Deno.remove(temp).catch(() => {});
    if (e instanceof GgufError) throw e;
    throw new GgufError("io", `writing ${path} failed: ${(e as Error).message}`, { cause: e });
  }
}
