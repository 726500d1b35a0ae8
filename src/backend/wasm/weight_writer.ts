/**
 * Weight upload into the wasm backend's linear memory, whole or a few rows at a time.
 *
 * A loader that hands over a tensor in pieces of whole rows (through one reused read buffer) never holds
 * a whole tensor in JS memory: on a 1.1B model the garbage of whole-tensor reads (tens of MiB of
 * ArrayBuffers that V8 frees late) showed in the peak RSS. Each piece lands in its final form as it
 * arrives: Q4_0/Q8_0 rows repacked (through a scratch in wasm memory, a few MiB at a time), other
 * native types copied, the rest dequantised to f32. Pieces go in order; `finish` checks every row came.
 */
import type { Weight, WeightSpec, WeightWriter } from "../backend.ts";
import { dequantize, GgmlType, ggmlTypeInfo, tensorByteSize } from "../../quant/mod.ts";
import { elementCount } from "../weight_shape.ts";
import { WasmBackendError } from "./errors.ts";
import { FLAG_F16_NONFINITE } from "./job.ts";
import type { KernelExports } from "./kernels.ts";
import type { LinearMemory, Scratch } from "./linear_memory.ts";

/** Weight types the kernels read directly; others are dequantised to F32 at upload. */
const NATIVE_TYPES: ReadonlySet<GgmlType> = new Set([
  GgmlType.F32,
  GgmlType.F16,
  GgmlType.Q4_0,
  GgmlType.Q8_0,
  GgmlType.Q4_K,
  GgmlType.Q6_K,
]);

/** Source bytes repacked per step at upload (Q4_0/Q8_0), through a reused scratch. */
const REPACK_CHUNK_BYTES = 4 * 1024 * 1024;

/** A weight in the wasm backend's memory. */
export class WasmWeight implements Weight {
  constructor(
    /** the backend that owns the memory (checked before every use) */
    readonly owner: object,
    readonly name: string,
    readonly type: GgmlType,
    readonly rows: number,
    readonly cols: number,
    /** type the bytes at `ptr` are stored in (F32 for dequantised non-native types) */
    readonly storage: GgmlType,
    readonly ptr: number,
    /** byte offset of all rows·cols values as f32 (for norms and biases), or −1 when not kept */
    readonly f32Ptr: number,
    /** extra matmul flags (FLAG_F16_NONFINITE) */
    readonly flags: number,
    /** false for a Q8_0 weight holding −128, which the relaxed path cannot take */
    readonly relaxedOk: boolean,
  ) {}
}

/** What a writer needs of its backend: the memory, the kernels (repacking, scans), a repack scratch. */
export interface WeightWriterContext {
  readonly owner: object;
  readonly mem: LinearMemory;
  readonly kernels: KernelExports;
  readonly repack: Scratch;
}

/**
 * Starts a weight of `spec`: allocates its storage, then takes its GGUF bytes in pieces of whole rows.
 *
 * @example
 * ```ts
 * const writer = startWeight(ctx, { name: "wq", type: GgmlType.Q4_0, dims: [64, 64] });
 * writer.write(bytes.subarray(0, 32 * 36)); // rows 0..31
 * writer.write(bytes.subarray(32 * 36)); // rows 32..63
 * const w = writer.finish();
 * ```
 */
export function startWeight(ctx: WeightWriterContext, spec: WeightSpec): WeightWriter {
  return new RowWriter(ctx, spec);
}

class RowWriter implements WeightWriter {
  readonly #ctx: WeightWriterContext;
  readonly #spec: WeightSpec;
  readonly #rows: number;
  readonly #cols: number;
  /** GGUF bytes per row */
  readonly #rowBytes: number;
  readonly #storage: GgmlType;
  readonly #ptr: number;
  /** bytes per row where they are stored (repacked rows are longer) */
  readonly #storedRowBytes: number;
  readonly #f32Ptr: number;
  #rowsDone = 0;
  #flags = 0;
  /** repack_q's flags: bit 0 a Q8_0 quant of −128, bit 1 an inf/NaN block scale */
  #repackFlags = 0;
  #finished = false;

  constructor(ctx: WeightWriterContext, spec: WeightSpec) {
    const info = ggmlTypeInfo(spec.type);
    if (info === undefined) {
      throw new WasmBackendError("unsupported", `${spec.name}: unknown ggml type ${spec.type}`);
    }
    this.#ctx = ctx;
    this.#spec = spec;
    const cols = spec.dims[0] ?? 1;
    const count = elementCount(spec.dims);
    this.#cols = cols;
    this.#rows = cols === 0 ? 0 : count / cols;
    this.#rowBytes = this.#rows === 0 ? 0 : tensorByteSize(spec.type, spec.dims) / this.#rows;
    const native = NATIVE_TYPES.has(spec.type);
    this.#storage = native ? spec.type : GgmlType.F32;
    if (spec.type === GgmlType.Q4_0 || spec.type === GgmlType.Q8_0) {
      this.#storedRowBytes = ctx.kernels.repacked_row_bytes(cols / 32, spec.type === GgmlType.Q4_0 ? 16 : 32);
    } else {
      this.#storedRowBytes = native ? this.#rowBytes : cols * 4;
    }
    this.#ptr = ctx.mem.alloc(this.#rows * this.#storedRowBytes);
    // norms and biases read f32 vectors
    this.#f32Ptr = this.#storage === GgmlType.F32
      ? this.#ptr
      : this.#rows === 1
      ? ctx.mem.alloc(count * 4)
      : -1;
  }

  write(rows: Uint8Array): void {
    const { mem, kernels } = this.#ctx;
    const name = this.#spec.name;
    if (this.#finished) throw new WasmBackendError("bad_argument", `${name}: write after finish`);
    const n = this.#rowBytes === 0 ? 0 : rows.length / this.#rowBytes;
    if (!Number.isInteger(n) || this.#rowsDone + n > this.#rows) {
      throw new WasmBackendError(
        "bad_argument",
        `${name}: a piece of ${rows.length} bytes is not whole rows of ${this.#rowBytes} bytes within the ` +
          `${this.#rows - this.#rowsDone} rows left`,
      );
    }
    const r0 = this.#rowsDone;
    const type = this.#spec.type;
    const at = this.#ptr + r0 * this.#storedRowBytes;
    if (type === GgmlType.Q4_0 || type === GgmlType.Q8_0) {
      // GGUF bytes pass through a scratch a few rows at a time, repacked from there
      const rowsPerChunk = Math.max(1, Math.floor(REPACK_CHUNK_BYTES / this.#rowBytes));
      const quantBytes = type === GgmlType.Q4_0 ? 16 : 32;
      for (let i = 0; i < n; i += rowsPerChunk) {
        const nr = Math.min(rowsPerChunk, n - i);
        const scratch = this.#ctx.repack.get(nr * this.#rowBytes);
        mem.u8.set(rows.subarray(i * this.#rowBytes, (i + nr) * this.#rowBytes), scratch);
        this.#repackFlags |= kernels.repack_q(
          scratch,
          at + i * this.#storedRowBytes,
          nr,
          this.#cols / 32,
          quantBytes,
        );
      }
    } else if (this.#storage === type) {
      mem.u8.set(rows, at);
      if (type === GgmlType.F16 && kernels.f16_nonfinite(at, n * this.#cols) !== 0) {
        this.#flags |= FLAG_F16_NONFINITE;
      }
    } else {
      dequantize(type, rows, n * this.#cols, new Float32Array(mem.memory.buffer, at, n * this.#cols));
    }
    if (this.#f32Ptr >= 0 && this.#f32Ptr !== this.#ptr) {
      const f32At = this.#f32Ptr + r0 * this.#cols * 4;
      dequantize(type, rows, n * this.#cols, new Float32Array(mem.memory.buffer, f32At, n * this.#cols));
    }
    this.#rowsDone += n;
  }

  finish(): Weight {
    const { name, type } = this.#spec;
    if (this.#rowsDone !== this.#rows) {
      throw new WasmBackendError(
        "bad_argument",
        `${name}: finished after ${this.#rowsDone} of ${this.#rows} rows`,
      );
    }
    this.#finished = true;
    // a Q8_0 quant of −128 cannot be negated within a byte, which the relaxed path needs (Q4_0 bytes
    // are nibble pairs, for which 0x80 means nothing special); an inf/NaN scale (a corrupt file) takes
    // the simd128 path's exact conversion, so the rows it touches come out non-finite as in the reference
    const nonFinite = (this.#repackFlags & 2) !== 0;
    if (nonFinite) this.#flags |= FLAG_F16_NONFINITE;
    const relaxedOk = !nonFinite && (type !== GgmlType.Q8_0 || (this.#repackFlags & 1) === 0);
    return new WasmWeight(
      this.#ctx.owner,
      name,
      type,
      this.#rows,
      this.#cols,
      this.#storage,
      this.#ptr,
      this.#f32Ptr,
      this.#flags,
      relaxedOk,
    );
  }
}
