import assert from "node:assert/strict";
import { dequantize } from "../../src/quant/dequantize.ts";
import { QuantError } from "../../src/quant/errors.ts";
import { GgmlType, ggmlTypeInfo } from "../../src/quant/ggml_type.ts";
import { quantize } from "../../src/quant/quantize.ts";
import { nearestInt } from "../../src/quant/quantize_k.ts";
import { mixedValues, normalValues, sha256Hex } from "./test_data.ts";

const F16_EPS = 2 ** -11; // relative rounding error of an f16 scale

/**
 * Error bounds per type on N(0, 1) data. `worst` bounds |error| / (absmax of the 32-value block); for the
 * legacy types it is derived from the format (half a quantisation step, or a whole step where the reference
 * clamps the far extreme, plus the f16 rounding of the scales); for the K-quants it is the measured value
 * with margin. `rmse` bounds the RMS error relative to the RMS of the data.
 */
const ERROR_BOUNDS: Array<{ type: GgmlType; worst: number; rmse: number }> = [
  { type: GgmlType.F32, worst: 0, rmse: 0 },
  { type: GgmlType.F16, worst: F16_EPS, rmse: 3e-4 },
  { type: GgmlType.BF16, worst: 2 ** -8, rmse: 2.5e-3 },
  { type: GgmlType.Q8_0, worst: 1 / 254 + 2 * F16_EPS, rmse: 7e-3 },
  // the extreme opposite max maps to +8 (+16) and is clamped to 7 (15): a whole step of amax/8 (amax/16)
  { type: GgmlType.Q4_0, worst: 1 / 8 + 4 * F16_EPS, rmse: 0.1 },
  { type: GgmlType.Q5_0, worst: 1 / 16 + 4 * F16_EPS, rmse: 0.05 },
  // half a step of (max − min)/15 (/31), with max − min ≤ 2·amax
  { type: GgmlType.Q4_1, worst: 1 / 15 + 4 * F16_EPS, rmse: 0.09 },
  { type: GgmlType.Q5_1, worst: 1 / 31 + 4 * F16_EPS, rmse: 0.045 },
  { type: GgmlType.Q4_K, worst: 0.12, rmse: 0.085 },
  { type: GgmlType.Q5_K, worst: 0.07, rmse: 0.045 },
  { type: GgmlType.Q6_K, worst: 0.025, rmse: 0.022 },
];

for (const { type, worst, rmse } of ERROR_BOUNDS) {
  Deno.test(`${GgmlType[type]} quantise → dequantise stays within its error bound`, () => {
    const x = normalValues(256 * 64, 3);
    const q = quantize(type, x);
    const info = ggmlTypeInfo(type)!;
    assert.equal(q.length, (x.length / info.blockSize) * info.typeSize);
    const y = dequantize(type, q, x.length);
    let se = 0, sx = 0;
    for (let b = 0; b < x.length; b += 32) {
      let amax = 0;
      for (let i = b; i < b + 32; i++) amax = Math.max(amax, Math.abs(x[i]));
      for (let i = b; i < b + 32; i++) {
        const e = Math.abs(y[i] - x[i]);
        assert.ok(e <= worst * amax, `value ${i}: ${x[i]} came back as ${y[i]} (block absmax ${amax})`);
        se += e * e;
        sx += x[i] * x[i];
      }
    }
    assert.ok(Math.sqrt(se / sx) <= rmse, `relative RMS error ${Math.sqrt(se / sx)} > ${rmse}`);
  });

  Deno.test(`${GgmlType[type]} quantises an all-zero block to values that dequantise to exactly zero`, () => {
    const y = dequantize(type, quantize(type, new Float32Array(256)), 256);
    assert.ok(y.every((v) => v === 0));
  });
}

Deno.test("Q4_0 known answer: values −16..15 give scale 2 and levels round((x/2)+8) clamped to 15", () => {
  const x = Float32Array.from({ length: 32 }, (_, j) => j - 16);
  const level = (j: number) => Math.min(15, Math.floor((j + 1) / 2));
  const expected = [0x00, 0x40, ...Array.from({ length: 16 }, (_, j) => level(j) | (level(j + 16) << 4))];
  assert.deepEqual(Array.from(quantize(GgmlType.Q4_0, x)), expected);
});

Deno.test("Q8_0 known answer: an absmax of 127 gives scale 1 and the integers themselves", () => {
  const ints = [-127, ...Array.from({ length: 31 }, (_, j) => 3 * (j + 1) - 50)];
  const expected = [0x00, 0x3c, ...ints.map((v) => v & 0xff)];
  assert.deepEqual(Array.from(quantize(GgmlType.Q8_0, Float32Array.from(ints))), expected);
});

Deno.test("Q8_0 rounds half away from zero like C's roundf", () => {
  // absmax 127 → scale 1: ±2.5 → ±3, ±0.5 → ±1
  const x = new Float32Array(32);
  x[0] = 127;
  x[1] = 2.5;
  x[2] = -2.5;
  x[3] = 0.5;
  x[4] = -0.5;
  const q = quantize(GgmlType.Q8_0, x);
  assert.deepEqual(Array.from(q.subarray(2, 7)).map((b) => (b << 24) >> 24), [127, 3, -3, 1, -1]);
});

Deno.test("Q4_1 known answer: values −4..11 give scale 1, min −4 and levels x + 4", () => {
  const x = Float32Array.from({ length: 32 }, (_, j) => (j % 16) - 4);
  const expected = [0x00, 0x3c, 0x00, 0xc4, ...Array.from({ length: 16 }, (_, j) => j | (j << 4))];
  assert.deepEqual(Array.from(quantize(GgmlType.Q4_1, x)), expected);
});

Deno.test("Q5_0 known answer: values −16..15 give scale 1, levels 0..31 and the 5th bits in qh", () => {
  const x = Float32Array.from({ length: 32 }, (_, j) => j - 16);
  const expected = [
    0x00,
    0x3c,
    0x00,
    0x00,
    0xff,
    0xff,
    ...Array.from({ length: 16 }, (_, j) => j | (j << 4)),
  ];
  assert.deepEqual(Array.from(quantize(GgmlType.Q5_0, x)), expected);
});

Deno.test("nearestInt rounds half to even like ggml's nearest_int", () => {
  const cases: Array<[number, number]> = [
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [-0.5, 0],
    [-1.5, -2],
    [2.4999998, 2],
    [7.6, 8],
  ];
  for (const [f, want] of cases) assert.equal(nearestInt(Math.fround(f)), want, `${f}`);
});

// SHA-256 of ggml-reference output for mixedValues(256 * 22, 20240611): quantised bytes and the f32 bytes
// of their dequantisation. Produced by a C transcription of ggml's quantize_row_*_ref / dequantize_row_*
// (gcc 12, -O2 -ffp-contract=off), so these pin bit-exactness with ggml's float semantics.
const GGML_REFERENCE_DIGESTS: Array<{ type: GgmlType; quant: string; dequant: string }> = [
  {
    type: GgmlType.Q4_0,
    quant: "933a42ff3ef88771af973eaae5bdb7a5aa3ec7e367fecdf4e63dd314f77b9e75",
    dequant: "c63d72584c3a88597fd6d47ecc5e60263e17c7a5de2345caa4e9c72611acb17b",
  },
  {
    type: GgmlType.Q4_1,
    quant: "90826a2bc19780ec7613918ab09e9b1766a9cfb609b0a08b7765eae6e60ace4a",
    dequant: "47e9fe750a204241cebf688cdccdef51ca0c3a4b0f165d16354349104d83fb7e",
  },
  {
    type: GgmlType.Q5_0,
    quant: "4a38593b218d26e6900974325c03579b5f5e20f077f9e42a29cd3fe3413a43b1",
    dequant: "add20eb506b202bec3c2441fd9a62f23fffb087887772bdbc5c29264a9922641",
  },
  {
    type: GgmlType.Q5_1,
    quant: "c9eb1176ab760648736dcaf95dc4b576a9a8fabeff1034c12704756567ce37f4",
    dequant: "72a30cc57d3764129cd1bd5859e964c59e1327185a0685fd577dd60f93cc2b58",
  },
  {
    type: GgmlType.Q8_0,
    quant: "88805e5f45d8d543a30568c0a44731f05baeeae87427ea3bad24c00a902c09d8",
    dequant: "565d91e7f174675057c0520c6ae3207c7eedec1e2511a0e6a016d2f019cd12af",
  },
  {
    type: GgmlType.Q4_K,
    quant: "46cb5c810bd4b283a6d4a5977ddb91ba4a28eadc6a6db50550977b6df592e786",
    dequant: "51973a77f08c4b52e465da82c8f803a7297e0f6bf013fd8991434b4921f84bc2",
  },
  {
    type: GgmlType.Q5_K,
    quant: "c8a31a191a817ba6a2446a7f5a2f182cf985f6ee74d91cf644271c011818aca3",
    dequant: "6d62b952bb62b4a903fa2fa69553a55e8582d5380e25162414f97f385e8f4e0c",
  },
  {
    type: GgmlType.Q6_K,
    quant: "5e6795b957ae352d4318620eb916445984e37faa1c5a387aa07dfaf4f618f938",
    dequant: "b1f4c53a01f3054c362ba70c0077d4f8e0eb053f58bebe8ab4fe27df1c89d6a2",
  },
];

for (const { type, quant, dequant } of GGML_REFERENCE_DIGESTS) {
  Deno.test(`${GgmlType[type]} quantise and dequantise are bit-exact with ggml's reference on mixed data`, async () => {
    const x = mixedValues(256 * 22, 20240611);
    const q = quantize(type, x);
    assert.equal(await sha256Hex(q), quant, "quantised bytes");
    const y = dequantize(type, q, x.length);
    assert.equal(await sha256Hex(new Uint8Array(y.buffer)), dequant, "dequantised values");
  });
}

Deno.test("quantize rejects partial blocks and types it cannot encode with QuantError", () => {
  assert.throws(
    () => quantize(GgmlType.Q4_0, new Float32Array(33)),
    (e) => e instanceof QuantError && e.kind === "bad_length",
  );
  assert.throws(
    () => quantize(GgmlType.Q6_K, new Float32Array(255)),
    (e) => e instanceof QuantError && e.kind === "bad_length",
  );
  assert.throws(
    () => quantize(GgmlType.Q2_K, new Float32Array(256)),
    (e) => e instanceof QuantError && e.kind === "unsupported_type",
  );
});

Deno.test("F32, F16 and BF16 quantise element by element with no block structure", () => {
  const x = Float32Array.from([1, -2.5, 0.1]);
  assert.deepEqual(Array.from(new Float32Array(quantize(GgmlType.F32, x).buffer)), Array.from(x));
  assert.deepEqual(Array.from(new Uint16Array(quantize(GgmlType.F16, x).buffer)), [0x3c00, 0xc100, 0x2e66]);
  assert.deepEqual(Array.from(new Uint16Array(quantize(GgmlType.BF16, x).buffer)), [0x3f80, 0xc020, 0x3dcd]);
});
