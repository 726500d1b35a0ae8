/**
 * The wasm backend's two measurements, for bench/: the cost of one synchronised dispatch (what every
 * parallel op pays) and a STREAM-style read-only memory-bandwidth probe inside wasm (the roofline the
 * matrix products are compared against). Apart from the ops because they compute nothing: they time
 * the pool and the memory, and the probe keeps a buffer of its own ({@link BandwidthProbe}).
 *
 * @example
 * ```ts
 * const probe = new BandwidthProbe();
 * const gbps = probe.measure(ctx, 256 * 1024 * 1024, 5, ctx.pool.threads); // best GB/s
 * const us = measureDispatch(ctx, 10000); // µs per empty job on all threads
 * ```
 */
import { Op, writeDesc } from "./job.ts";
import type { OpContext } from "./op_context.ts";

/** A read-only bandwidth probe with its buffer (allocated on first use, grown when asked for more). */
export class BandwidthProbe {
  #buffer: { ptr: number; bytes: number } | null = null;

  /**
   * Reads a `bytes` buffer with `threads` threads, `repeats` times after one warm-up pass, and returns
   * the best GB/s (1e9 bytes/s).
   */
  measure(ctx: OpContext, bytes: number, repeats: number, threads: number): number {
    ctx.live();
    const size = Math.ceil(bytes / 64) * 64;
    const buf = this.#bufferOf(ctx, size);
    const out = ctx.indices.get(ctx.pool.threads * 4);
    writeDesc(ctx.mem, ctx.desc, [Op.Probe, buf, size, out]);
    ctx.pool.run(ctx.desc, threads);
    let best = Infinity;
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      ctx.pool.run(ctx.desc, threads);
      best = Math.min(best, performance.now() - t0);
    }
    return size / (best / 1000) / 1e9;
  }

  #bufferOf(ctx: OpContext, bytes: number): number {
    if (this.#buffer === null || this.#buffer.bytes < bytes) {
      const ptr = ctx.mem.alloc(bytes);
      // touch every page with non-zero bytes so the probe reads real memory, not the shared zero page
      ctx.mem.u8.fill(1, ptr, ptr + bytes);
      this.#buffer = { ptr, bytes };
    }
    return this.#buffer.ptr;
  }
}

/** µs of one synchronised dispatch of an empty job on all threads, over `iterations` after 100 warm-ups. */
export function measureDispatch(ctx: OpContext, iterations: number): number {
  ctx.live();
  writeDesc(ctx.mem, ctx.desc, [Op.Nop]);
  for (let i = 0; i < 100; i++) ctx.pool.run(ctx.desc);
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) ctx.pool.run(ctx.desc);
  return ((performance.now() - t0) * 1000) / iterations;
}
