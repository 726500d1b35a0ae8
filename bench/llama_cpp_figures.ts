/**
 * llama.cpp's tokens/s on the synthetic presets, the baseline `bench/cpu.ts` divides by (llama.cpp cannot
 * run here: no network, no native toolchain for it).
 *
 * Source: issue 3, "Reference figures" — llama.cpp native CPU build with AVX-512/VNNI, upstream commit
 * 0253fb2, on a machine of this kind (AMD Zen 5, 2 vCPUs), `llama-bench -p 128 -n 64 -r 5`, medians of
 * 15 samples. Two-thread figures vary up to 1.5× between runs on that shared machine; one-thread figures
 * are steady. llama.cpp's default Q4_0 keeps `output.weight` in Q6_K (ours keeps it in Q4_0).
 *
 * @example
 * ```ts
 * const ref = llamaCppFigure("tinyllama-1.1b", "Q4_0", 1);
 * console.log(ref?.decode); // 33.5
 * ```
 */

/** One llama.cpp measurement, tokens/s. */
export interface LlamaCppFigure {
  /** prompt processing of 128 tokens (`-p 128`), tokens/s */
  readonly prefill: number;
  /** generation (`-n 64`), tokens/s */
  readonly decode: number;
}

/** Where the figures come from, printed under the table. */
export const LLAMA_CPP_SOURCE =
  "llama.cpp 0253fb2 (AVX-512/VNNI, Zen 5, 2 vCPUs), llama-bench -p 128 -n 64 -r 5, medians of 15 (issue 3)";

/** [preset][type][threads] → figures; types as GgmlType names. */
const FIGURES: Readonly<Record<string, Readonly<Record<string, Readonly<Record<number, LlamaCppFigure>>>>>> =
  {
    "llama-110m": {
      F16: { 1: { prefill: 618, decode: 92.6 }, 2: { prefill: 1262, decode: 132 } },
      Q8_0: { 1: { prefill: 498, decode: 163 }, 2: { prefill: 952, decode: 187 } },
      Q4_0: { 1: { prefill: 1109, decode: 213 }, 2: { prefill: 1494, decode: 242 } },
    },
    "tinyllama-1.1b": {
      F16: { 1: { prefill: 75.3, decode: 12.0 }, 2: { prefill: 139, decode: 20.0 } },
      Q8_0: { 1: { prefill: 51.4, decode: 20.8 }, 2: { prefill: 113, decode: 30.5 } },
      Q4_0: { 1: { prefill: 116, decode: 33.5 }, 2: { prefill: 181, decode: 50.5 } },
    },
  };

/** llama.cpp's figures for a preset, type name (`"Q8_0"`) and thread count, or undefined when not measured. */
export function llamaCppFigure(preset: string, type: string, threads: number): LlamaCppFigure | undefined {
  return FIGURES[preset]?.[type]?.[threads];
}
