import assert from "node:assert/strict";
import { dequantize } from "../../src/quant/dequantize.ts";
import { QuantError } from "../../src/quant/errors.ts";
import { f32ToBf16Bits, f32ToF16Bits } from "../../src/quant/f16.ts";
import { GgmlType } from "../../src/quant/ggml_type.ts";
import { quantize } from "../../src/quant/quantize.ts";
import { mulberry32 } from "./test_data.ts";

// Known-answer blocks: each block is built by hand from the format description (ggml-common.h block
// structs), and the expected values come from the per-element formula, written independently of the
// loop-structured dequantisers under test. Scales are powers of two so every expected value is exact.

const f16 = (x: number): [number, number] => {
  const h = f32ToF16Bits(x);
  return [h & 0xff, h >> 8];
};
const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const range = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));

/** 6-bit scales/mins of the 8 sub-blocks packed into 12 bytes (Q4_K/Q5_K `scales`). */
function packScalesK4(sc: number[], m: number[]): number[] {
  const q = new Array(12).fill(0);
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      q[j] |= sc[j] & 63;
      q[j + 4] |= m[j] & 63;
    } else {
      q[j + 4] = (sc[j] & 0xf) | ((m[j] & 0xf) << 4);
      q[j - 4] |= (sc[j] >> 4) << 6;
      q[j] |= (m[j] >> 4) << 6;
    }
  }
  return q;
}

interface KnownBlock {
  type: GgmlType;
  bytes: number[];
  expected: number[];
}

function q4_0Block(): KnownBlock {
  const qs = range(16, (j) => j | ((15 - j) << 4));
  const expected = [...range(16, (j) => (j - 8) * 0.5), ...range(16, (j) => (15 - j - 8) * 0.5)];
  return { type: GgmlType.Q4_0, bytes: [...f16(0.5), ...qs], expected };
}

function q4_1Block(): KnownBlock {
  const qs = range(16, (j) => j | (((j * 3) & 15) << 4));
  const expected = [...range(16, (j) => j * 0.25 - 1), ...range(16, (j) => ((j * 3) & 15) * 0.25 - 1)];
  return { type: GgmlType.Q4_1, bytes: [...f16(0.25), ...f16(-1), ...qs], expected };
}

function q5_0Block(): KnownBlock {
  const qh = 0xa5c3_0f96; // bit j: 5th bit of value j
  const qs = range(16, (j) => ((j * 5) & 15) | ((15 - j) << 4));
  const bit = (i: number) => (qh >>> i) & 1;
  const expected = [
    ...range(16, (j) => (((j * 5) & 15) + 16 * bit(j) - 16) * 2),
    ...range(16, (j) => ((15 - j) + 16 * bit(j + 16) - 16) * 2),
  ];
  return { type: GgmlType.Q5_0, bytes: [...f16(2), ...le32(qh), ...qs], expected };
}

function q5_1Block(): KnownBlock {
  const qh = 0x1234_fedc;
  const qs = range(16, (j) => (j & 15) | (((j + 7) & 15) << 4));
  const bit = (i: number) => (qh >>> i) & 1;
  const expected = [
    ...range(16, (j) => (j + 16 * bit(j)) * 0.125 + 3),
    ...range(16, (j) => (((j + 7) & 15) + 16 * bit(j + 16)) * 0.125 + 3),
  ];
  return { type: GgmlType.Q5_1, bytes: [...f16(0.125), ...f16(3), ...le32(qh), ...qs], expected };
}

function q8_0Block(): KnownBlock {
  const q = range(32, (j) => j * 8 - 128); // -128 .. 120
  return {
    type: GgmlType.Q8_0,
    bytes: [...f16(0.0625), ...q.map((v) => v & 0xff)],
    expected: q.map((v) => v * 0.0625),
  };
}

const K_SC = [1, 2, 3, 4, 17, 33, 50, 63]; // values above 15 exercise the packed high bits
const K_M = [0, 5, 10, 63, 20, 31, 47, 60];

function q4_kBlock(): KnownBlock {
  const qs = range(128, (k) => (k * 7 + 3) & 0xff);
  // value i: sub-block b = i/32 uses the low nibbles (even b) or high nibbles (odd b) of the 64-value group
  const expected = range(256, (i) => {
    const b = Math.floor(i / 32), g = Math.floor(i / 64), l = i % 32;
    const byte = qs[g * 32 + l];
    const q = b % 2 === 0 ? byte & 15 : byte >> 4;
    return 0.5 * K_SC[b] * q - 0.25 * K_M[b];
  });
  return {
    type: GgmlType.Q4_K,
    bytes: [...f16(0.5), ...f16(0.25), ...packScalesK4(K_SC, K_M), ...qs],
    expected,
  };
}

function q5_kBlock(): KnownBlock {
  const qh = range(32, (l) => (l * 37 + 11) & 0xff);
  const qs = range(128, (k) => (k * 13 + 5) & 0xff);
  const expected = range(256, (i) => {
    const b = Math.floor(i / 32), g = Math.floor(i / 64), l = i % 32;
    const byte = qs[g * 32 + l];
    const low = b % 2 === 0 ? byte & 15 : byte >> 4;
    const high = (qh[l] >> b) & 1; // sub-block b takes bit b of qh[l]
    return 0.25 * K_SC[b] * (low + 16 * high) - 0.125 * K_M[b];
  });
  return {
    type: GgmlType.Q5_K,
    bytes: [...f16(0.25), ...f16(0.125), ...packScalesK4(K_SC, K_M), ...qh, ...qs],
    expected,
  };
}

function q6_kBlock(): KnownBlock {
  const ql = range(128, (k) => (k * 29 + 1) & 0xff);
  const qh = range(64, (k) => (k * 53 + 7) & 0xff);
  const sc = range(16, (k) => (k % 2 === 0 ? k - 8 : 127 - k * 9)); // signed scales, some negative
  // value i: half h = i/128, quarter r = (i%128)/32, l = i%32; the 6-bit q joins a nibble of ql with 2 bits of qh
  const expected = range(256, (i) => {
    const h = Math.floor(i / 128), r = Math.floor((i % 128) / 32), l = i % 32;
    const lowByte = ql[h * 64 + l + (r % 2) * 32];
    const low = r < 2 ? lowByte & 15 : lowByte >> 4;
    const high = (qh[h * 32 + l] >> (2 * r)) & 3;
    const scale = sc[h * 8 + Math.floor(l / 16) + 2 * r];
    return 0.5 * scale * ((low | (high << 4)) - 32);
  });
  return { type: GgmlType.Q6_K, bytes: [...ql, ...qh, ...sc.map((s) => s & 0xff), ...f16(0.5)], expected };
}

function f16Block(): KnownBlock {
  const values = [1, -2, 0.5, 65504, 2 ** -24, -0, Infinity, 0.1];
  const bits = values.map(f32ToF16Bits);
  return {
    type: GgmlType.F16,
    bytes: bits.flatMap((h) => [h & 0xff, h >> 8]),
    expected: [1, -2, 0.5, 65504, 2 ** -24, -0, Infinity, 0.0999755859375],
  };
}

function bf16Block(): KnownBlock {
  const values = [1, -2, 3.140625, 1e-40, -Infinity];
  return {
    type: GgmlType.BF16,
    bytes: values.map(f32ToBf16Bits).flatMap((h) => [h & 0xff, h >> 8]),
    expected: [
      1,
      -2,
      3.140625,
      new Float32Array(new Uint32Array([f32ToBf16Bits(1e-40) << 16]).buffer)[0],
      -Infinity,
    ],
  };
}

function f32Block(): KnownBlock {
  const values = [1.5, -0, 3.4028234663852886e38, 1e-45];
  return {
    type: GgmlType.F32,
    bytes: [...new Uint8Array(new Float32Array(values).buffer)],
    expected: values,
  };
}

const KNOWN_BLOCKS: KnownBlock[] = [
  f32Block(),
  f16Block(),
  bf16Block(),
  q4_0Block(),
  q4_1Block(),
  q5_0Block(),
  q5_1Block(),
  q8_0Block(),
  q4_kBlock(),
  q5_kBlock(),
  q6_kBlock(),
];

for (const block of KNOWN_BLOCKS) {
  Deno.test(`${GgmlType[block.type]} known-answer block dequantises to the values its format describes`, () => {
    const out = dequantize(block.type, new Uint8Array(block.bytes), block.expected.length);
    assert.equal(out.length, block.expected.length);
    for (let i = 0; i < out.length; i++) {
      assert.ok(
        Object.is(out[i], Math.fround(block.expected[i])),
        `value ${i}: got ${out[i]}, want ${block.expected[i]}`,
      );
    }
  });

  Deno.test(`${GgmlType[block.type]} dequantises each block of a multi-block run independently`, () => {
    // the same block three times after an odd offset: proves block stride and unaligned input both work
    const bytes = new Uint8Array(1 + 3 * block.bytes.length);
    for (let k = 0; k < 3; k++) bytes.set(block.bytes, 1 + k * block.bytes.length);
    const out = dequantize(block.type, bytes.subarray(1), 3 * block.expected.length);
    for (let i = 0; i < out.length; i++) {
      assert.ok(Object.is(out[i], Math.fround(block.expected[i % block.expected.length])), `value ${i}`);
    }
  });
}

Deno.test("dequantize fills a caller's output buffer and returns it", () => {
  const block = q4_0Block();
  const out = new Float32Array(40).fill(7);
  const result = dequantize(GgmlType.Q4_0, new Uint8Array(block.bytes), 32, out);
  assert.equal(result, out);
  assert.equal(out[0], -4);
  assert.equal(out[32], 7, "values past count are left alone");
});

Deno.test("dequantize rejects partial blocks, short input, small output and unknown types with QuantError", () => {
  const cases: Array<[string, () => unknown]> = [
    ["partial block", () => dequantize(GgmlType.Q4_0, new Uint8Array(18), 31)],
    ["short input", () => dequantize(GgmlType.Q8_0, new Uint8Array(33), 32)],
    ["small output", () => dequantize(GgmlType.F32, new Uint8Array(16), 4, new Float32Array(3))],
    ["negative count", () => dequantize(GgmlType.F32, new Uint8Array(16), -4)],
    ["Q2_K is not supported", () => dequantize(GgmlType.Q2_K, new Uint8Array(84), 256)],
    ["unknown type id", () => dequantize(99 as GgmlType, new Uint8Array(4), 1)],
  ];
  for (const [what, run] of cases) assert.throws(run, QuantError, what);
});

Deno.test("dequantising a 4096×4096 Q4_0 tensor takes well under a second", () => {
  const n = 4096 * 4096;
  const rand = mulberry32(5);
  const bytes = new Uint8Array((n / 32) * 18);
  for (let i = 0; i < bytes.length; i++) bytes[i] = rand() * 256;
  for (let o = 0; o < bytes.length; o += 18) [bytes[o], bytes[o + 1]] = f16(0.01); // finite scales
  const out = new Float32Array(n);
  dequantize(GgmlType.Q4_0, bytes, n, out); // warm-up
  const t0 = performance.now();
  dequantize(GgmlType.Q4_0, bytes, n, out);
  const ms = performance.now() - t0;
  assert.ok(ms < 500, `took ${ms.toFixed(0)} ms`);
});

Deno.test("requantising dequantised values reproduces them (the grids of quantize and dequantize agree)", () => {
  // values already on each grid: quantising a dequantised block must give the same block back
  const types = [GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.Q6_K];
  const rand = mulberry32(8);
  const x = new Float32Array(512).map(() => rand() * 2 - 1);
  for (const type of types) {
    const q = quantize(type, x);
    const back = dequantize(type, q, x.length);
    const again = dequantize(type, quantize(type, back), x.length);
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(again[i] - back[i]));
    assert.ok(worst <= 1e-6 * 4, `${GgmlType[type]}: requantising moved a value by ${worst}`);
  }
});
