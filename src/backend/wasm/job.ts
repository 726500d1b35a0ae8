/**
 * Job descriptors, mirroring wasm/src/job.rs: 32 u32 words in linear memory, word 0 the op code, then
 * the op's arguments (byte offsets, counts, f32 bits). Each kernel module documents its own words. Word
 * 30 is the job's work counter, zeroed here: threads claim chunks of work from it. Word 31 stays 0: the
 * kernels build their constant vectors from it (wasm/src/simd.rs, `Consts`).
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
  /** f32 rows → int8 blocks of 32 with their scales and sums (wasm/src/act_quant.rs) */
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
  /** f32 rows with each group of 8 columns stored evens first (F16 matmul input) */
  Pair: 13,
  /** F32 SwiGLU: out = silu(x · gateᵀ) · (x · upᵀ) in one dispatch */
  GateUpSilu: 14,
  /** index of each row's highest value (wasm/src/greedy.rs) */
  Greedy: 15,
} as const;

/** Words in one descriptor. */
export const DESC_WORDS = 32;
/** Word counting claimed chunks of work. */
const COUNTER_WORD = 30;
/** Words a job may use: the last two are the work counter and the kernels' runtime zero. */
const ARG_WORDS = COUNTER_WORD;
/** Bytes of one descriptor. */
export const DESC_BYTES = DESC_WORDS * 4;

/** Matmul flag: run the integer stage through the relaxed-SIMD module. */
export const FLAG_RELAXED = 1;
/** Matmul flag: F16 weights (or Q4_0/Q8_0 block scales) hold inf/NaN, use the exact conversion. */
export const FLAG_F16_NONFINITE = 2;

/** A descriptor word that is an f32 rather than an integer. */
export class F32Word {
  constructor(readonly value: number) {}
}

/** Writes `words` (integers, or {@link F32Word}s stored as their f32 bits) at byte offset `ptr`. */
export function writeDesc(mem: LinearMemory, ptr: number, words: readonly (number | F32Word)[]): void {
  if (words.length > ARG_WORDS) throw new RangeError(`descriptor of ${words.length} words > ${ARG_WORDS}`);
  const u32 = mem.u32;
  const f32 = mem.f32;
  const base = ptr >>> 2;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w instanceof F32Word) f32[base + i] = w.value;
    else u32[base + i] = w;
  }
  u32[base + COUNTER_WORD] = 0;
}
