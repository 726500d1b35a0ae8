import assert from "node:assert/strict";
import {
  bf16BitsToF32,
  F16_NAN,
  f16BitsToF32,
  f32ArrayToF16Bits,
  f32ToBf16Bits,
  f32ToF16Bits,
  f32ToF16BitsSoft,
  HAS_FLOAT16_ARRAY,
} from "../../src/quant/f16.ts";
import { mulberry32 } from "./test_data.ts";

const f32OfBits = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0];

Deno.test("f16 bit patterns decode to their exact values, including subnormals, infinities and NaN", () => {
  const cases: Array<[number, number]> = [
    [0x0000, 0],
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125],
    [0x7bff, 65504],
    [0x0400, 2 ** -14],
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24],
    [0x8001, -(2 ** -24)],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ];
  for (const [bits, value] of cases) assert.equal(f16BitsToF32(bits), value, `0x${bits.toString(16)}`);
  assert.ok(Object.is(f16BitsToF32(0x8000), -0));
  assert.ok(Number.isNaN(f16BitsToF32(0x7e00)));
  assert.ok(Number.isNaN(f16BitsToF32(0xfd01)));
});

Deno.test("f32 to f16 rounds to nearest with ties to even, overflowing to infinity", () => {
  const cases: Array<[number, number, string]> = [
    [1, 0x3c00, "one"],
    [65504, 0x7bff, "largest finite"],
    [65519.99, 0x7bff, "just below the overflow tie"],
    [65520, 0x7c00, "overflow tie rounds to even (infinity)"],
    [1e10, 0x7c00, "overflow"],
    [-1e10, 0xfc00, "negative overflow"],
    [Infinity, 0x7c00, "infinity"],
    [1 + 2 ** -11, 0x3c00, "tie between 0x3c00 and 0x3c01 goes to even"],
    [1 + 3 * 2 ** -11, 0x3c02, "tie between 0x3c01 and 0x3c02 goes to even"],
    [1 + 2 ** -11 + 2 ** -20, 0x3c01, "just above a tie rounds up"],
    [2 ** -24, 0x0001, "smallest subnormal"],
    [2 ** -25, 0x0000, "half the smallest subnormal ties to zero"],
    [2 ** -25 * 1.0000001, 0x0001, "just above half rounds up"],
    [3 * 2 ** -25, 0x0002, "subnormal tie between 1 and 2 goes to even"],
    [2 ** -14 - 2 ** -25, 0x0400, "subnormal rounding carries into the smallest normal"],
    [1e-30, 0x0000, "underflow"],
    [-0, 0x8000, "negative zero"],
  ];
  for (const [value, bits, what] of cases) {
    assert.equal(f32ToF16Bits(value), bits, `${what}: native path`);
    assert.equal(f32ToF16BitsSoft(value), bits, `${what}: software path`);
  }
  assert.equal(f32ToF16Bits(NaN), F16_NAN);
  assert.equal(f32ToF16BitsSoft(f32OfBits(0xffc00001)), F16_NAN);
});

Deno.test("f32 to f16 rounds the f32 value, not the double (two-step like ggml)", () => {
  // 1 + 2^-11 + 2^-40 is above the f16 tie as a double but rounds to exactly the tie as an f32
  assert.equal(f32ToF16Bits(1 + 2 ** -11 + 2 ** -40), 0x3c00);
});

Deno.test("every f16 value survives f16 → f32 → f16", () => {
  for (let h = 0; h < 65536; h++) {
    if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue; // NaNs become the canonical NaN
    assert.equal(f32ToF16Bits(f16BitsToF32(h)), h);
    assert.equal(f32ToF16BitsSoft(f16BitsToF32(h)), h);
  }
});

Deno.test("software and native f16 rounding agree on random f32 bit patterns", () => {
  assert.ok(HAS_FLOAT16_ARRAY, "this V8 has Float16Array, so the native path is the one in use");
  const rand = mulberry32(99);
  const values = new Float32Array(200_000);
  const bits = new Uint32Array(values.buffer);
  for (let i = 0; i < bits.length; i++) {
    // bias exponents toward the f16 range so rounding, subnormal and overflow paths are all hit
    const exp = 100 + Math.floor(rand() * 50);
    bits[i] = ((rand() < 0.5 ? 0x80000000 : 0) | (exp << 23) | Math.floor(rand() * 0x800000)) >>> 0;
  }
  const bulk = f32ArrayToF16Bits(values);
  for (let i = 0; i < values.length; i++) {
    const soft = f32ToF16BitsSoft(values[i]);
    assert.equal(f32ToF16Bits(values[i]), soft, `value ${values[i]}`);
    assert.equal(bulk[i], soft, `bulk value ${values[i]}`);
  }
});

Deno.test("bulk f16 conversion makes every NaN the canonical NaN", () => {
  const out = f32ArrayToF16Bits(new Float32Array([NaN, -NaN, f32OfBits(0x7f800001), 1]));
  assert.deepEqual(Array.from(out), [F16_NAN, F16_NAN, F16_NAN, 0x3c00]);
});

Deno.test("f32 to bf16 rounds to nearest even on the bit pattern and keeps NaN quiet", () => {
  const cases: Array<[number, number, string]> = [
    [1, 0x3f80, "one"],
    [1.00390625, 0x3f80, "tie (1 + 2^-8) goes to even"],
    [1.01171875, 0x3f82, "tie (1 + 3·2^-8) goes to even"],
    [f32OfBits(0x3f808001), 0x3f81, "one ulp above a tie rounds up"],
    [-2, 0xc000, "negative"],
    [Infinity, 0x7f80, "infinity"],
    [3.4028234663852886e38, 0x7f80, "FLT_MAX rounds up to infinity"],
    [f32OfBits(0x00000001), 0x0000, "smallest f32 subnormal rounds to zero"],
    [f32OfBits(0x00018000), 0x0002, "subnormal tie goes to even (not flushed)"],
    [f32OfBits(0x7f800001), 0x7fc0, "signalling NaN becomes quiet"],
    [f32OfBits(0xffc12345), 0xffc1, "NaN keeps sign and top payload"],
  ];
  for (const [value, bits, what] of cases) assert.equal(f32ToBf16Bits(value), bits, what);
  assert.equal(bf16BitsToF32(0x3f80), 1);
  assert.equal(bf16BitsToF32(0xc0a0), -5);
  assert.ok(Number.isNaN(bf16BitsToF32(0x7fc0)));
});
