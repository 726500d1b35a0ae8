import assert from "node:assert/strict";
import {
  CancelReason,
  decodeFrame,
  decodeFramePayload,
  encodeFrame,
  ERROR_MESSAGE_MAX_BYTES,
  FORWARD_MAX_ROWS,
  type ForwardFrame,
  type Frame,
  FRAME_HEADER_BYTES,
  FRAME_MAX_BYTES,
  FrameError,
  FrameType,
  HIDDEN_DIM_MAX,
  negotiateVersion,
  NODE_ID_MAX_BYTES,
  SEQUENCE_ID_MAX,
  WireDtype,
  WireErrorCode,
} from "../../../cluster/pipeline/mod.ts";
import { roundToF16 } from "../../../src/quant/f16.ts";
import { normalValues } from "../../quant/test_data.ts";

function forward(dtype: WireDtype, rows = 3, dim = 8): ForwardFrame {
  return {
    type: FrameType.Forward,
    planEpoch: 7,
    dtype,
    dim,
    segments: [
      { seqId: 11, chunk: 2, rows: rows - 1, sample: false, reset: true },
      { seqId: SEQUENCE_ID_MAX, chunk: 0, rows: 1, sample: true, reset: false },
    ],
    positions: Int32Array.from({ length: rows }, (_, i) => 100 + i),
    hidden: normalValues(rows * dim, 5, 3),
  };
}

function throwsFrameError(fn: () => unknown, code?: FrameError["code"]): FrameError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof FrameError, `expected FrameError, got ${e}`);
    if (code) assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail("expected a FrameError");
}

Deno.test("every frame type round-trips through encode and decode", () => {
  const frames: Frame[] = [
    {
      type: FrameType.Hello,
      minVersion: 1,
      maxVersion: 3,
      planEpoch: 4_000_000_000,
      nodeId: "gpu-ö-1",
      auth: new Uint8Array([9, 8, 7]),
    },
    forward(WireDtype.F32),
    {
      type: FrameType.Token,
      seqId: 2 ** 40 + 3,
      planEpoch: 1,
      chunk: 5,
      position: 511,
      tokens: new Int32Array([1, 32000, 2 ** 31 - 1]),
      sample: true,
      reset: false,
    },
    { type: FrameType.Cancel, seqId: 1, reason: CancelReason.Failover },
    { type: FrameType.Error, code: WireErrorCode.EpochMismatch, seqId: 0, message: "epoch 3 is gone" },
    { type: FrameType.Error, code: 999, seqId: 77, message: "" },
  ];
  for (const frame of frames) assert.deepEqual(decodeFrame(encodeFrame(frame)), frame);
});

Deno.test("f16 hidden states come back rounded to the nearest half, f32 exactly", () => {
  const f16 = forward(WireDtype.F16, 5, 64);
  const decoded = decodeFrame(encodeFrame(f16)) as ForwardFrame;
  assert.deepEqual(decoded.hidden, f16.hidden.map(roundToF16));
  assert.deepEqual(decoded.segments, f16.segments);
  const f32 = forward(WireDtype.F32, 5, 64);
  assert.deepEqual((decodeFrame(encodeFrame(f32)) as ForwardFrame).hidden, f32.hidden);
});

Deno.test("f16 on the wire takes half the hidden-state bytes of f32", () => {
  const a = encodeFrame(forward(WireDtype.F16, 4, 256)).length;
  const b = encodeFrame(forward(WireDtype.F32, 4, 256)).length;
  assert.equal(b - a, 4 * 256 * 2);
});

Deno.test("hidden states taken from a subarray view encode only that view", () => {
  const big = normalValues(100, 9);
  const frame = { ...forward(WireDtype.F32, 2, 8), hidden: big.subarray(30, 46) };
  assert.deepEqual((decodeFrame(encodeFrame(frame)) as ForwardFrame).hidden, big.slice(30, 46));
});

Deno.test("fields out of their limits are refused at encode with FrameError", () => {
  const base = forward(WireDtype.F16);
  const cases: Array<[string, Frame]> = [
    ["seq id 0", { type: FrameType.Cancel, seqId: 0, reason: 0 }],
    ["seq id past 2^53", { type: FrameType.Cancel, seqId: 2 ** 53, reason: 0 }],
    ["dim 0", { ...base, dim: 0, hidden: new Float32Array(0) }],
    ["hidden of the wrong length", { ...base, hidden: new Float32Array(5) }],
    ["positions of the wrong length", { ...base, positions: new Int32Array(2) }],
    ["negative position", { ...base, positions: new Int32Array([0, -1, 2]) }],
    ["no segments", { ...base, segments: [] }],
    [
      "too many rows",
      {
        ...base,
        dim: 1,
        segments: [{ seqId: 1, chunk: 0, rows: FORWARD_MAX_ROWS + 1, sample: true, reset: false }],
        positions: new Int32Array(FORWARD_MAX_ROWS + 1),
        hidden: new Float32Array(FORWARD_MAX_ROWS + 1),
      },
    ],
    [
      "empty node id",
      {
        type: FrameType.Hello,
        minVersion: 1,
        maxVersion: 1,
        planEpoch: 0,
        nodeId: "",
        auth: new Uint8Array(),
      },
    ],
    [
      "node id too long",
      {
        type: FrameType.Hello,
        minVersion: 1,
        maxVersion: 1,
        planEpoch: 0,
        nodeId: "x".repeat(NODE_ID_MAX_BYTES + 1),
        auth: new Uint8Array(),
      },
    ],
    [
      "inverted version range",
      {
        type: FrameType.Hello,
        minVersion: 2,
        maxVersion: 1,
        planEpoch: 0,
        nodeId: "a",
        auth: new Uint8Array(),
      },
    ],
    [
      "no tokens",
      {
        type: FrameType.Token,
        seqId: 1,
        planEpoch: 0,
        chunk: 0,
        position: 0,
        tokens: new Int32Array(),
        sample: false,
        reset: false,
      },
    ],
  ];
  for (const [name, frame] of cases) {
    assert.throws(() => encodeFrame(frame), FrameError, name);
  }
});

Deno.test("a frame whose hidden states exceed FRAME_MAX_BYTES is refused before allocating it", () => {
  const rows = FORWARD_MAX_ROWS;
  const dim = Math.ceil(FRAME_MAX_BYTES / (rows * 4)) + 1;
  assert.ok(dim <= HIDDEN_DIM_MAX);
  const frame: ForwardFrame = {
    type: FrameType.Forward,
    planEpoch: 0,
    dtype: WireDtype.F32,
    dim,
    segments: [{ seqId: 1, chunk: 0, rows, sample: false, reset: false }],
    positions: new Int32Array(rows),
    hidden: new Float32Array(rows * dim),
  };
  const e = throwsFrameError(() => encodeFrame(frame), "bad-field");
  assert.match(e.message, /FRAME_MAX_BYTES/);
});

Deno.test("a long ERROR message is truncated at a character boundary instead of refused", () => {
  const message = "é".repeat(ERROR_MESSAGE_MAX_BYTES); // 2 bytes each
  const decoded = decodeFrame(encodeFrame({ type: FrameType.Error, code: 7, seqId: 0, message })) as {
    message: string;
  };
  assert.equal(decoded.message, "é".repeat(ERROR_MESSAGE_MAX_BYTES / 2));
});

Deno.test("a FORWARD whose counts promise more bytes than it has is a truncation error, not an allocation", () => {
  const bytes = encodeFrame(forward(WireDtype.F16, 2, 4));
  const payload = bytes.slice(FRAME_HEADER_BYTES);
  const view = new DataView(payload.buffer);
  view.setUint32(7, HIDDEN_DIM_MAX); // dim: the rows now claim 2 × 65536 f16 values
  throwsFrameError(() => decodeFramePayload(FrameType.Forward, payload), "truncated");
  view.setUint32(7, HIDDEN_DIM_MAX + 1);
  throwsFrameError(() => decodeFramePayload(FrameType.Forward, payload), "bad-field");
});

Deno.test("decode rejects unknown types, bad lengths, unknown flags and invalid UTF-8 with FrameError", () => {
  const cancel = encodeFrame({ type: FrameType.Cancel, seqId: 5, reason: 0 });
  throwsFrameError(() => decodeFramePayload(200, new Uint8Array(4)), "unknown-type");
  throwsFrameError(() => decodeFrame(cancel.subarray(0, 3)), "truncated");
  throwsFrameError(() => decodeFrame(cancel.subarray(0, cancel.length - 1)), "truncated");
  const huge = cancel.slice();
  new DataView(huge.buffer).setUint32(0, 0xffff_ffff, true);
  throwsFrameError(() => decodeFrame(huge), "too-large");
  const zero = cancel.slice();
  new DataView(zero.buffer).setUint32(0, 0, true);
  throwsFrameError(() => decodeFrame(zero), "bad-field");

  const token = encodeFrame({
    type: FrameType.Token,
    seqId: 1,
    planEpoch: 0,
    chunk: 0,
    position: 0,
    tokens: new Int32Array([1]),
    sample: false,
    reset: false,
  });
  const flagged = token.slice();
  flagged[FRAME_HEADER_BYTES + 16] = 0x80;
  throwsFrameError(() => decodeFrame(flagged), "bad-field");

  const hello = encodeFrame({
    type: FrameType.Hello,
    minVersion: 1,
    maxVersion: 1,
    planEpoch: 0,
    nodeId: "ab",
    auth: new Uint8Array(),
  });
  const badText = hello.slice();
  badText[FRAME_HEADER_BYTES + 9] = 0xff;
  throwsFrameError(() => decodeFrame(badText), "bad-field");
});

Deno.test("bytes appended after the known fields are ignored, so a later version can add fields", () => {
  const frame: Frame = { type: FrameType.Cancel, seqId: 5, reason: CancelReason.Client };
  const bytes = encodeFrame(frame);
  const longer = new Uint8Array(bytes.length + 3);
  longer.set(bytes);
  longer.set([1, 2, 3], bytes.length);
  new DataView(longer.buffer).setUint32(0, bytes.length - 4 + 3, true);
  assert.deepEqual(decodeFrame(longer), frame);
});

Deno.test("version negotiation picks the highest common version, or none", () => {
  const cases: Array<[[number, number], [number, number], number | undefined]> = [
    [[1, 1], [1, 1], 1],
    [[1, 3], [2, 5], 3],
    [[1, 2], [3, 4], undefined],
    [[4, 6], [1, 5], 5],
  ];
  for (const [[aMin, aMax], [bMin, bMax], want] of cases) {
    const got = negotiateVersion({ minVersion: aMin, maxVersion: aMax }, {
      minVersion: bMin,
      maxVersion: bMax,
    });
    assert.equal(got, want, `${aMin}..${aMax} with ${bMin}..${bMax}`);
  }
});
