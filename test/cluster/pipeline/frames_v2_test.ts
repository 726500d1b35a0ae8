/**
 * Version-2 frames: OPEN (a sequence's route, sampling parameters and history) and RECORD (sealed
 * batches of frames). Pinned as bytes like the version-1 frames (frames_golden_test.ts): later
 * versions may only add cases here.
 */
import assert from "node:assert/strict";
import {
  decodeFrame,
  decodeFramePayload,
  encodeFrame,
  FETCH_MAX_BYTES,
  type Frame,
  FRAME_HEADER_BYTES,
  FrameError,
  FrameType,
  negotiateVersion,
  OPEN_HISTORY_MAX,
  type OpenFrame,
  PROTOCOL_VERSION_MAX,
  ROUTE_MAX_STAGES,
  RUNTIME_PROTOCOL_VERSION,
  WireDtype,
} from "../../../cluster/pipeline/mod.ts";

function bytes(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  return Uint8Array.from({ length: clean.length / 2 }, (_, i) => parseInt(clean.slice(2 * i, 2 * i + 2), 16));
}

const OPEN: OpenFrame = {
  type: FrameType.Open,
  seqId: 9,
  planEpoch: 3,
  hop: 1,
  wireDtype: WireDtype.F32,
  route: [
    { start: 0, end: 2, embedding: true, head: false, address: "a:1" },
    { start: 2, end: 5, embedding: false, head: true, address: "b:2" },
  ],
  replyTo: "e",
  sampling: {
    temperature: 0.5,
    topK: 40,
    topP: 1,
    minP: 0,
    repetitionPenalty: 1,
    frequencyPenalty: 0,
    presencePenalty: 0,
    penaltyLastN: 64,
    seed: 7,
  },
  drawsDone: 2,
  history: Int32Array.of(1, 258),
};

const GOLDEN_V2: Array<{ name: string; hex: string; frame: Frame }> = [
  {
    name: "OPEN hop 1 of a 2-stage route, f32 wire, 2 history tokens",
    hex: "7c000000 06  0900000000000000 03000000 01 00 02" +
      "  00000000 02000000 01 03 613a31" + // stage 0: layers 0..2, embedding, "a:1"
      "  02000000 05000000 02 03 623a32" + // stage 1: layers 2..5, head, "b:2"
      "  01 65" + // replyTo "e"
      "  000000000000e03f 28000000 000000000000f03f 0000000000000000" + // temperature, topK, topP, minP
      "  000000000000f03f 0000000000000000 0000000000000000 40000000 0000000000001c40" + // penalties, lastN, seed
      "  02000000 02000000 01000000 02010000", // drawsDone, history
    frame: OPEN,
  },
  {
    name: "RECORD of 4 opaque bytes",
    hex: "05000000 07  deadbeef",
    frame: { type: FrameType.Record, data: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) },
  },
  {
    name: "FETCH 4096 bytes at offset 2^32 + 16",
    hex: "12000000 08  05000000 01 1000000001000000 00100000",
    frame: { type: FrameType.Fetch, reqId: 5, kind: 1, offset: 0x1_0000_0010, length: 4096 },
  },
  {
    name: "DATA ok, 3 bytes",
    hex: "0d000000 09  05000000 00 03000000 010203",
    frame: { type: FrameType.Data, reqId: 5, status: 0, bytes: Uint8Array.of(1, 2, 3) },
  },
];

Deno.test("version-2 frames pinned as bytes decode to the same values and encode byte for byte", () => {
  for (const { name, hex, frame } of GOLDEN_V2) {
    assert.deepEqual(decodeFrame(bytes(hex)), frame, name);
    assert.deepEqual(encodeFrame(frame), bytes(hex), name);
  }
});

Deno.test("version 3 appends feedUntil to OPEN; a version-2 OPEN decodes without it and encodes as before", () => {
  const v3 = encodeFrame({ ...OPEN, feedUntil: 77 });
  const v2 = encodeFrame(OPEN);
  assert.equal(v3.length, v2.length + 4);
  assert.deepEqual(decodeFrame(v3), { ...OPEN, feedUntil: 77 });
  assert.deepEqual(decodeFrame(v2), OPEN);
  assert.equal("feedUntil" in decodeFrame(v2), false);
  // 0 means "entry feeds": nothing is appended
  assert.deepEqual(encodeFrame({ ...OPEN, feedUntil: 0 }), v2);
  assert.throws(() => encodeFrame({ ...OPEN, feedUntil: -1 }), FrameError);
});

Deno.test("the runtime needs version 2; this build speaks versions 1 to 3", () => {
  assert.equal(PROTOCOL_VERSION_MAX, 3);
  assert.equal(RUNTIME_PROTOCOL_VERSION, 2);
  assert.equal(negotiateVersion({ minVersion: 1, maxVersion: 2 }, { minVersion: 1, maxVersion: 1 }), 1);
});

function refused(frame: OpenFrame, pattern: RegExp): void {
  assert.throws(() => encodeFrame(frame), (e) => e instanceof FrameError && pattern.test(e.message));
}

Deno.test("OPEN fields out of their limits are refused at encode", () => {
  refused({ ...OPEN, hop: 2 }, /hop 2 outside the route/);
  refused({ ...OPEN, route: [] }, /route of 0 stages/);
  refused({ ...OPEN, route: Array(ROUTE_MAX_STAGES + 1).fill(OPEN.route[0]) }, /route of 65 stages/);
  refused({ ...OPEN, route: [{ ...OPEN.route[0], address: "" }, OPEN.route[1]] }, /address length/);
  refused({ ...OPEN, route: [{ ...OPEN.route[0], start: 3 }, OPEN.route[1]] }, /layers 3\.\.2/);
  refused({ ...OPEN, replyTo: "" }, /replyTo/);
  refused({ ...OPEN, sampling: { ...OPEN.sampling, temperature: NaN } }, /temperature/);
  refused({ ...OPEN, sampling: { ...OPEN.sampling, seed: 0.5 } }, /seed/);
  refused({ ...OPEN, sampling: { ...OPEN.sampling, penaltyLastN: -2 } }, /penaltyLastN/);
  refused({ ...OPEN, history: Int32Array.of(-1) }, /negative history token/);
});

Deno.test("FETCH and DATA lengths beyond FETCH_MAX_BYTES are refused both ways", () => {
  assert.throws(
    () => encodeFrame({ type: FrameType.Fetch, reqId: 1, kind: 1, offset: 0, length: FETCH_MAX_BYTES + 1 }),
    FrameError,
  );
  const fetch = encodeFrame({ type: FrameType.Fetch, reqId: 1, kind: 1, offset: 0, length: 1 });
  new DataView(fetch.buffer).setUint32(FRAME_HEADER_BYTES + 13, FETCH_MAX_BYTES + 1, true);
  assert.throws(() => decodeFrame(fetch), FrameError);
  const data = encodeFrame({ type: FrameType.Data, reqId: 1, status: 0, bytes: new Uint8Array(4) });
  new DataView(data.buffer).setUint32(FRAME_HEADER_BYTES + 5, 5, true); // claims one byte more than it has
  assert.throws(() => decodeFrame(data), (e) => e instanceof FrameError && e.code === "truncated");
});

Deno.test("OPEN decoding checks counts before allocating and refuses damage with FrameError", () => {
  const good = encodeFrame(OPEN);
  const payload = good.slice(FRAME_HEADER_BYTES);
  const historyCountAt = payload.length - 4 - 2 * 4;
  const lying = payload.slice();
  new DataView(lying.buffer).setUint32(historyCountAt, OPEN_HISTORY_MAX, true);
  assert.throws(
    () => decodeFramePayload(FrameType.Open, lying),
    (e) => e instanceof FrameError && e.code === "truncated",
  );
  new DataView(lying.buffer).setUint32(historyCountAt, OPEN_HISTORY_MAX + 1, true);
  assert.throws(
    () => decodeFramePayload(FrameType.Open, lying),
    (e) => e instanceof FrameError && e.code === "bad-field",
  );
  const badHop = payload.slice();
  badHop[12] = 5; // hop past the 2 stages
  assert.throws(() => decodeFramePayload(FrameType.Open, badHop), /hop 5 outside a route of 2 stages/);
  const badFlags = payload.slice();
  badFlags[15 + 8] = 0x80; // stage 0 flags
  assert.throws(() => decodeFramePayload(FrameType.Open, badFlags), /unknown stage flag bits/);
  for (let cut = 0; cut < payload.length; cut++) {
    assert.throws(() => decodeFramePayload(FrameType.Open, payload.subarray(0, cut)), FrameError);
  }
  // bytes appended by a later version are ignored
  const longer = new Uint8Array(payload.length + 3);
  longer.set(payload);
  assert.deepEqual(decodeFramePayload(FrameType.Open, longer), OPEN);
});
