/**
 * Version-1 frames pinned byte for byte. The wire format is append-only: a later version must still
 * decode every frame here to the same value, and may only change this file by adding cases.
 */
import assert from "node:assert/strict";
import { decodeFrame, encodeFrame, type Frame, FrameType, WireDtype } from "../../../cluster/pipeline/mod.ts";

/** Hex with spaces between fields (length · type · payload fields), for reading against the layout. */
function bytes(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  return Uint8Array.from({ length: clean.length / 2 }, (_, i) => parseInt(clean.slice(2 * i, 2 * i + 2), 16));
}

const GOLDEN: Array<{ name: string; hex: string; frame: Frame }> = [
  {
    name: "HELLO v1..1, epoch 3, node-a, 2 auth bytes",
    hex: "13000000 01  0100 0100 03000000 06 6e6f64652d61 02 aabb",
    frame: {
      type: FrameType.Hello,
      minVersion: 1,
      maxVersion: 1,
      planEpoch: 3,
      nodeId: "node-a",
      auth: new Uint8Array([0xaa, 0xbb]),
    },
  },
  {
    name: "FORWARD f16, one sequence of 2 rows, sample + reset",
    hex: "2b000000 02  03000000 01 0100 02000000" +
      "  0504030201000000 01000000 0200 03" + // segment: seqId, chunk, rows, flags
      "  07000000 08000000" + // positions
      "  003c 00c0 0038 ff7b", // hidden: 1, -2, 0.5, 65504
    frame: {
      type: FrameType.Forward,
      planEpoch: 3,
      dtype: WireDtype.F16,
      dim: 2,
      segments: [{ seqId: 0x01_0203_0405, chunk: 1, rows: 2, sample: true, reset: true }],
      positions: new Int32Array([7, 8]),
      hidden: new Float32Array([1, -2, 0.5, 65504]),
    },
  },
  {
    name: "FORWARD f32, one decode row",
    hex:
      "27000000 02  03000000 00 0100 02000000  0900000000000000 00000000 0100 00  00000000  0000803f 000000c0",
    frame: {
      type: FrameType.Forward,
      planEpoch: 3,
      dtype: WireDtype.F32,
      dim: 2,
      segments: [{ seqId: 9, chunk: 0, rows: 1, sample: false, reset: false }],
      positions: new Int32Array([0]),
      hidden: new Float32Array([1, -2]),
    },
  },
  {
    name: "TOKEN two ids at position 12, sample",
    hex: "20000000 03  0900000000000000 03000000 00000000 01 0c000000 0200 02010000 01000000",
    frame: {
      type: FrameType.Token,
      seqId: 9,
      planEpoch: 3,
      chunk: 0,
      position: 12,
      tokens: new Int32Array([258, 1]),
      sample: true,
      reset: false,
    },
  },
  {
    name: "CANCEL by the client",
    hex: "0a000000 04  0900000000000000 01",
    frame: { type: FrameType.Cancel, seqId: 9, reason: 1 },
  },
  {
    name: "ERROR epoch mismatch",
    hex: "16000000 05  0300 0900000000000000 0900 6f6c642065706f6368",
    frame: { type: FrameType.Error, code: 3, seqId: 9, message: "old epoch" },
  },
];

Deno.test("version-1 frames pinned as bytes still decode to the same values", () => {
  for (const { name, hex, frame } of GOLDEN) assert.deepEqual(decodeFrame(bytes(hex)), frame, name);
});

Deno.test("the encoder still writes version-1 frames byte for byte", () => {
  for (const { name, hex, frame } of GOLDEN) assert.deepEqual(encodeFrame(frame), bytes(hex), name);
});
