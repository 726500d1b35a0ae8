/**
 * The wasm backend's KV cache: K and V each one f32 block [slots, layers, ctx, kvDim] in linear memory,
 * with the layout's offset arithmetic and the (layer, slot, position) checks that kvStore and attention
 * (attention_ops.ts) run before touching it. Apart from the ops because it is a resource with a layout,
 * like the tensor handle in op_context.ts, not an op.
 *
 * @example
 * ```ts
 * const cache = createWasmKvCache(ctx, { layers: 2, slots: 1, ctx: 64, kvDim: 32 });
 * checkPlacement(cache.spec, 1, 0, 5);
 * const at = cache.k / 4 + cache.offset(0, 1, 5); // f32 index of K for slot 0, layer 1, position 5
 * ```
 */
import type { KvCache, KvCacheSpec } from "../backend.ts";
import { WasmBackendError } from "./errors.ts";
import type { OpContext } from "./op_context.ts";

/** A KV cache in the wasm backend's memory. */
export class WasmKvCache implements KvCache {
  constructor(
    readonly owner: object,
    readonly spec: KvCacheSpec,
    /** byte offsets of K and V, each f32 [slots, layers, ctx, kvDim] */
    readonly k: number,
    readonly v: number,
  ) {}
  /** element offset of (slot, layer, pos, 0) */
  offset(slot: number, layer: number, pos: number): number {
    const { layers, ctx, kvDim } = this.spec;
    return ((slot * layers + layer) * ctx + pos) * kvDim;
  }
}

/** Allocates a zeroed KV cache of `spec` (see Backend.createKvCache) and sizes attention's scores for it. */
export function createWasmKvCache(ctx: OpContext, spec: KvCacheSpec): WasmKvCache {
  ctx.live();
  for (const key of ["layers", "slots", "ctx", "kvDim"] as const) {
    if (!Number.isSafeInteger(spec[key]) || spec[key] <= 0) {
      throw new WasmBackendError(
        "bad_argument",
        `KV cache ${key} must be a positive integer, got ${spec[key]}`,
      );
    }
  }
  const bytes = spec.slots * spec.layers * spec.ctx * spec.kvDim * 4;
  const cache = new WasmKvCache(ctx.owner, { ...spec }, ctx.mem.alloc(bytes), ctx.mem.alloc(bytes));
  ctx.scores.get(ctx.pool.threads * spec.ctx * 4);
  return cache;
}

/** `c` as the WasmKvCache it is, after checking that this backend created it. */
export function asCache(ctx: OpContext, c: KvCache): WasmKvCache {
  if (!(c instanceof WasmKvCache) || c.owner !== ctx.owner) {
    throw new WasmBackendError("bad_argument", "KV cache was not created by this wasm backend");
  }
  return c;
}

/** Throws a RangeError unless (layer, slot, pos) lies inside a cache of `spec`. */
export function checkPlacement(spec: KvCacheSpec, layer: number, slot: number, pos: number): void {
  if (!Number.isInteger(layer) || layer < 0 || layer >= spec.layers) {
    throw new RangeError(`layer ${layer} outside KV cache of ${spec.layers}`);
  }
  if (slot < 0 || slot >= spec.slots) throw new RangeError(`slot ${slot} outside KV cache of ${spec.slots}`);
  if (pos < 0 || pos >= spec.ctx) throw new RangeError(`position ${pos} outside context of ${spec.ctx}`);
}
