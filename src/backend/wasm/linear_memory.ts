/**
 * The backend's one shared WebAssembly.Memory and its allocator.
 *
 * Weights, activations, KV caches and scratch all live in this memory, which every worker's kernel
 * instance imports: weights are in memory once whatever the thread count. Allocation is a bump pointer
 * (the Backend interface frees only everything at once, in dispose()); memory that grows is zero, so
 * every allocation starts zeroed. Each allocation is cache-line aligned and followed by {@link PAD}
 * bytes that kernels may read past its end (masked SIMD tails).
 *
 * @example
 * ```ts
 * const mem = new LinearMemory();
 * mem.reserveBelow(heapBase); // the kernels' stack and statics
 * const ptr = mem.alloc(4096); // byte offset
 * mem.f32.set(values, ptr / 4);
 * ```
 */
import { WasmBackendError } from "./errors.ts";

/** Bytes per wasm page. */
export const PAGE_BYTES = 65536;
/** wasm32 addresses at most 4 GiB: 65536 pages. */
export const MAX_PAGES = 65536;
/** Alignment of every allocation, bytes (a cache line; also satisfies f64 and v128). */
export const ALIGN = 64;
/**
 * Readable slack after every allocation, bytes: the quantised kernels finish a last partial group of four
 * blocks by reading (with zero scales) up to three blocks past a token's int8 activations, 96 bytes, which
 * for tiny rows runs past the end of the activation buffer.
 */
export const PAD = 128;
/** Memory grows at least this much at a time (16 MiB), to keep grow calls rare. */
const MIN_GROW_PAGES = 256;

/** Shared linear memory with a bump allocator and typed views that follow growth. */
export class LinearMemory {
  readonly memory: WebAssembly.Memory;
  #top: number;
  #u8!: Uint8Array;
  #u32!: Uint32Array;
  #i32!: Int32Array;
  #f32!: Float32Array;
  #f64!: Float64Array;

  /** A shared memory of `initialBytes` (rounded up to pages), nothing allocated yet. */
  constructor(initialBytes = 4 * 1024 * 1024) {
    const initial = Math.min(MAX_PAGES, Math.max(1, Math.ceil(initialBytes / PAGE_BYTES)));
    this.memory = new WebAssembly.Memory({ initial, maximum: MAX_PAGES, shared: true });
    this.#top = 0;
    this.#refresh();
  }

  /** Keeps bytes below `heapBase` (the kernels' `__heap_base`: their stack and statics) out of the heap. */
  reserveBelow(heapBase: number): void {
    const end = alignUp(heapBase, ALIGN);
    this.#ensure(end);
    this.#top = Math.max(this.#top, end);
  }

  /** Allocates `bytes` zeroed bytes (plus padding) and returns the byte offset. */
  alloc(bytes: number): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new WasmBackendError("bad_argument", `cannot allocate ${bytes} bytes`);
    }
    const ptr = this.#top;
    const end = alignUp(ptr + bytes + PAD, ALIGN);
    this.#ensure(end);
    this.#top = end;
    return ptr;
  }

  /** Bytes handed out so far (including the kernels' static area below the heap). */
  get usedBytes(): number {
    return this.#top;
  }

  get u8(): Uint8Array {
    return this.#u8;
  }
  get u32(): Uint32Array {
    return this.#u32;
  }
  get i32(): Int32Array {
    return this.#i32;
  }
  get f32(): Float32Array {
    return this.#f32;
  }
  get f64(): Float64Array {
    return this.#f64;
  }

  #ensure(end: number): void {
    const have = this.#u8.length;
    if (end <= have) return;
    const needPages = Math.ceil(end / PAGE_BYTES);
    if (needPages > MAX_PAGES) {
      throw new WasmBackendError(
        "out_of_memory",
        `wasm memory would need ${(end / 2 ** 30).toFixed(2)} GiB, more than wasm32's 4 GiB`,
      );
    }
    const havePages = have / PAGE_BYTES;
    const grow = Math.min(
      MAX_PAGES - havePages,
      Math.max(needPages - havePages, MIN_GROW_PAGES, havePages >> 3),
    );
    this.memory.grow(grow);
    this.#refresh();
  }

  #refresh(): void {
    const buf = this.memory.buffer;
    this.#u8 = new Uint8Array(buf);
    this.#u32 = new Uint32Array(buf);
    this.#i32 = new Int32Array(buf);
    this.#f32 = new Float32Array(buf);
    this.#f64 = new Float64Array(buf);
  }
}

/** A reusable scratch region that is reallocated (doubling) when a call needs more. */
export class Scratch {
  #ptr = 0;
  #bytes = 0;
  constructor(private readonly mem: LinearMemory) {}
  /** Byte offset of a region of at least `bytes` bytes; contents are unspecified. */
  get(bytes: number): number {
    if (bytes > this.#bytes) {
      this.#bytes = Math.max(bytes, this.#bytes * 2, 4096);
      this.#ptr = this.mem.alloc(this.#bytes);
    }
    return this.#ptr;
  }
}

/** Rounds `n` up to a multiple of `align` (a power of two). */
export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}
