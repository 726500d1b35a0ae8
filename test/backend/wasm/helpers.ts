/**
 * Shared helpers of the wasm backend tests: seeded inputs, bit-level comparison, and the plain-TS
 * product every matmul is checked against (dequantise with src/quant, then f64 sums).
 */
import assert from "node:assert/strict";
import type { Backend, Tensor, Weight } from "../../../src/backend/backend.ts";
import { dequantize, type GgmlType, quantize } from "../../../src/quant/mod.ts";
import { createInputRng } from "../conformance.ts";

export { createInputRng };

/** A fresh seed per run, printed by failing assertions; EDGERING_TEST_SEED replays one. */
export function freshSeed(): number {
  const fixed = Deno.env.get("EDGERING_TEST_SEED");
  return fixed ? Number(fixed) : Math.floor(Math.random() * 2 ** 31);
}

/** `count` normal values with standard deviation `scale`. */
export function normals(rng: ReturnType<typeof createInputRng>, count: number, scale = 1): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.normal() * scale;
  return out;
}

/** A tensor holding `values`. */
export function tensorOf(b: Backend, values: Float32Array): Tensor {
  const t = b.alloc(values.length);
  b.write(t, values);
  return t;
}

/** Uploads `values` quantised to `type` as a [rows, cols] matrix; returns the weight and its bytes. */
export function matrixOf(
  b: Backend,
  type: GgmlType,
  rows: number,
  cols: number,
  values: Float32Array,
): { weight: Weight; bytes: Uint8Array } {
  const bytes = quantize(type, values);
  return { weight: b.uploadWeight({ name: "w", type, dims: [cols, rows] }, bytes), bytes };
}

/** Asserts bit-identical arrays, naming the first differing index. */
export function assertSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i]) assert.fail(`${what}: first differing index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

/** The exact product of dequantised weights [rows, cols] with x [n, cols], as f64: out [n, rows]. */
export function exactProduct(
  w: Float32Array,
  x: Float32Array,
  rows: number,
  cols: number,
  n: number,
): Float64Array {
  const out = new Float64Array(n * rows);
  for (let t = 0; t < n; t++) {
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let c = 0; c < cols; c++) sum += w[r * cols + c] * x[t * cols + c];
      out[t * rows + r] = sum;
    }
  }
  return out;
}

/**
 * Per-element error bound of a product whose activations were quantised to int8 in blocks of 32
 * (scale d = max|x|/127, so each x moves by at most d/2): Σ_blocks d/2 · Σ|w|, plus f32 rounding of the
 * sums (2⁻¹⁸ of Σ|w·x|, generous for the few thousand terms tested here).
 */
export function int8Bound(
  w: Float32Array,
  x: Float32Array,
  rows: number,
  cols: number,
  n: number,
): Float64Array {
  const out = new Float64Array(n * rows);
  for (let t = 0; t < n; t++) {
    const half = new Float64Array(cols / 32);
    for (let b = 0; b < cols / 32; b++) {
      let amax = 0;
      for (let c = 0; c < 32; c++) amax = Math.max(amax, Math.abs(x[t * cols + b * 32 + c]));
      half[b] = amax / 127 / 2;
    }
    for (let r = 0; r < rows; r++) {
      let bound = 0, magnitude = 0;
      for (let c = 0; c < cols; c++) {
        const wv = Math.abs(w[r * cols + c]);
        bound += wv * half[c >> 5];
        magnitude += wv * Math.abs(x[t * cols + c]);
      }
      out[t * rows + r] = bound * 1.0001 + magnitude * 2 ** -18 + 1e-30;
    }
  }
  return out;
}

/** Asserts |actual − expected| ≤ bound element-wise, naming the first bad index. */
export function assertWithin(
  actual: Float32Array,
  expected: Float64Array,
  bound: Float64Array,
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= bound[i])) {
      assert.fail(
        `${what}: first bad index ${i}: expected ${expected[i]}, got ${actual[i]} (allowed ±${bound[i]})`,
      );
    }
  }
}

/** Dequantised values of quantised bytes. */
export function valuesOf(type: GgmlType, bytes: Uint8Array, count: number): Float32Array {
  return dequantize(type, bytes, count);
}
