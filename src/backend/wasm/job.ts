/**
 * Job descriptors, mirroring wasm/src/job.rs: 32 u32 words in linear memory, word 0 the op code, then
 * the op's arguments (byte offsets, counts, f32 bits). Each kernel module documents its own words.
 *
 * @example
 * ```ts
 * writeDesc(mem, descPtr, [Op.Add, out, a, b, length]);
 * ```
 */
import type { LinearMemory } from "./linear_memory.ts";

/** Op codes (wasm/src/job.rs). */
export const Op = {
  /** does nothing: measures one synchronised dispatch */
  Nop: 0,
  Matmul: 1,
  /** f32 rows → int8 records (wasm/src/act_quant.rs) */
  Quant: 2,
  RmsNorm: 4,
  Rope: 5,
  Attention: 6,
  SiluMul: 7,
  Add: 8,
  Softmax: 9,
  Embed: 10,
  AddBias: 11,
  /** read-only bandwidth probe */
  Probe: 12,
} as const;

/** Words in one descriptor. */
export const DESC_WORDS = 32;
/** Bytes of one descriptor. */
export const DESC_BYTES = DESC_WORDS * 4;

/** Matmul flag: run the integer stage through the relaxed-SIMD module. */
export const FLAG_RELAXED = 1;
/** Matmul flag: F16 weights hold inf/NaN, use the exact conversion. */
export const FLAG_F16_NONFINITE = 2;

/** A descriptor word that is an f32 rather than an integer. */
export class F32Word {
  constructor(readonly value: number) {}
}

/** Writes `words` (integers, or {@link F32Word}s stored as their f32 bits) at byte offset `ptr`. */
export function writeDesc(mem: LinearMemory, ptr: number, words: readonly (number | F32Word)[]): void {
  if (words.length > DESC_WORDS) throw new RangeError(`descriptor of ${words.length} words > ${DESC_WORDS}`);
  const u32 = mem.u32;
  const f32 = mem.f32;
  const base = ptr >>> 2;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w instanceof F32Word) f32[base + i] = w.value;
    else u32[base + i] = w;
  }
}
