/**
 * ggml tensor types and their codecs: f16/bf16 conversion, dequantisation to f32 and reference quantisation.
 *
 * @example
 * ```ts
 * import { dequantize, GgmlType, quantize } from "./src/quant/mod.ts";
 * const q = quantize(GgmlType.Q4_K, weights); // weights.length a multiple of 256
 * const w = dequantize(GgmlType.Q4_K, q, weights.length);
 * ```
 */
export * from "./ggml_type.ts";
export * from "./errors.ts";
export * from "./f16.ts";
export { dequantize, minK4, scaleK4 } from "./dequantize.ts";
export { FLT_MAX, quantize } from "./quantize.ts";
export { nearestInt } from "./quantize_k.ts";
