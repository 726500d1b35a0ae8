/**
 * Seeded fuzzing of the frame decoder and the stream framer: random valid frames, the same frames
 * mutated (bit flips, truncation, extension, spliced runs, rewritten length headers) and pure noise.
 * Every input must decode or throw FrameError — never another error, never a hang.
 */
import assert from "node:assert/strict";
import {
  decodeFrame,
  encodeFrame,
  type Frame,
  FRAME_HEADER_BYTES,
  FrameError,
  FrameReader,
  FrameType,
  WireDtype,
} from "../../../cluster/pipeline/mod.ts";
import { mulberry32 } from "../../quant/test_data.ts";

type Rand = () => number;
const int = (rand: Rand, n: number) => Math.floor(rand() * n);

function randomBytes(rand: Rand, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => int(rand, 256));
}

/** A random valid frame of every type, with small shapes so 10,000 of them stay fast. */
function randomFrame(rand: Rand): Frame {
  const seqId = 1 + int(rand, 2 ** 40);
  switch (int(rand, 9)) {
    case 0:
      return {
        type: FrameType.Hello,
        minVersion: 1,
        maxVersion: 1 + int(rand, 3),
        planEpoch: int(rand, 2 ** 32),
        nodeId: `node-${int(rand, 1000)}`,
        auth: randomBytes(rand, int(rand, 33)),
      };
    case 1: {
      const dim = 1 + int(rand, 16);
      const segments = Array.from({ length: 1 + int(rand, 3) }, (_, i) => ({
        seqId: seqId + i,
        chunk: int(rand, 4),
        rows: 1 + int(rand, 3),
        sample: rand() < 0.5,
        reset: rand() < 0.5,
      }));
      const n = segments.reduce((s, x) => s + x.rows, 0);
      return {
        type: FrameType.Forward,
        planEpoch: int(rand, 100),
        dtype: rand() < 0.5 ? WireDtype.F16 : WireDtype.F32,
        dim,
        segments,
        positions: Int32Array.from({ length: n }, () => int(rand, 4096)),
        hidden: Float32Array.from({ length: n * dim }, () => (rand() - 0.5) * 100),
      };
    }
    case 2:
      return {
        type: FrameType.Token,
        seqId,
        planEpoch: int(rand, 100),
        chunk: int(rand, 4),
        position: int(rand, 4096),
        tokens: Int32Array.from({ length: 1 + int(rand, 8) }, () => int(rand, 50000)),
        sample: rand() < 0.5,
        reset: rand() < 0.5,
      };
    case 3:
      return { type: FrameType.Cancel, seqId, reason: int(rand, 4) };
    case 5: {
      const stages = 1 + int(rand, 3);
      return {
        type: FrameType.Open,
        seqId,
        planEpoch: int(rand, 100),
        hop: int(rand, stages),
        wireDtype: rand() < 0.5 ? WireDtype.F16 : WireDtype.F32,
        route: Array.from({ length: stages }, (_, i) => ({
          start: i * 2,
          end: i * 2 + 2,
          embedding: i === 0,
          head: i === stages - 1,
          address: `127.0.0.1:${1000 + int(rand, 60000)}`,
        })),
        replyTo: `entry-${int(rand, 100)}`,
        sampling: {
          temperature: rand(),
          topK: int(rand, 100),
          topP: rand(),
          minP: rand() * 0.1,
          repetitionPenalty: 1 + rand(),
          frequencyPenalty: rand(),
          presencePenalty: rand(),
          penaltyLastN: int(rand, 128) - 1,
          seed: int(rand, 2 ** 32),
        },
        drawsDone: int(rand, 50),
        history: Int32Array.from({ length: int(rand, 8) }, () => int(rand, 50000)),
      };
    }
    case 6:
      return { type: FrameType.Record, data: randomBytes(rand, int(rand, 48)) };
    case 7:
      return {
        type: FrameType.Fetch,
        reqId: int(rand, 2 ** 32),
        kind: int(rand, 3),
        offset: int(rand, 2 ** 40),
        length: int(rand, 1 << 20),
      };
    case 8:
      return {
        type: FrameType.Data,
        reqId: int(rand, 2 ** 32),
        status: int(rand, 2),
        bytes: randomBytes(rand, int(rand, 40)),
      };
    default:
      return {
        type: FrameType.Error,
        code: 1 + int(rand, 7),
        seqId: int(rand, 3),
        message: "x".repeat(int(rand, 40)),
      };
  }
}

function mutate(rand: Rand, src: Uint8Array): Uint8Array {
  let b = src.slice();
  switch (int(rand, 6)) {
    case 0:
      for (let i = 0, n = 1 + int(rand, 6); i < n; i++) b[int(rand, b.length)] ^= 1 << int(rand, 8);
      break;
    case 1:
      b = b.subarray(0, int(rand, b.length + 1));
      break;
    case 2: {
      const out = new Uint8Array(b.length + 1 + int(rand, 32));
      out.set(b);
      out.set(randomBytes(rand, out.length - b.length), b.length);
      b = out;
      break;
    }
    case 3: {
      const at = int(rand, b.length);
      b.set(randomBytes(rand, Math.min(b.length - at, 1 + int(rand, 12))), at);
      break;
    }
    case 4: // keep the header honest about the (mutated) size, so the payload decoder sees the damage
      for (let i = 0, n = 1 + int(rand, 4); i < n; i++) {
        b[FRAME_HEADER_BYTES + int(rand, b.length - FRAME_HEADER_BYTES)] = int(rand, 256);
      }
      break;
    default: // a lying length header
      new DataView(b.buffer).setUint32(0, int(rand, 2) ? int(rand, 2 ** 32) : int(rand, b.length + 8), true);
  }
  return b;
}

function decodesOrFrameError(bytes: Uint8Array): Frame | undefined {
  try {
    return decodeFrame(bytes);
  } catch (e) {
    if (!(e instanceof FrameError)) throw new Error(`non-FrameError for ${bytes.length} bytes: ${e}`);
    return undefined;
  }
}

Deno.test("10,000 random, mutated and noise frames each decode or throw FrameError", () => {
  const rand = mulberry32(20240607);
  let decoded = 0, rejected = 0;
  for (let i = 0; i < 10_000; i++) {
    const frame = randomFrame(rand);
    const good = encodeFrame(frame);
    const roundTrip = decodeFrame(good);
    assert.equal(roundTrip.type, frame.type);
    const input = i % 10 === 9 ? randomBytes(rand, int(rand, 64)) : mutate(rand, good);
    const result = decodesOrFrameError(input);
    if (result) {
      decoded++;
      encodeFrame(result); // whatever the decoder accepts is within the encoder's limits
    } else {
      rejected++;
    }
  }
  // both outcomes must occur, or the mutations are not exercising the decoder
  assert.ok(decoded > 500 && rejected > 500, `decoded ${decoded}, rejected ${rejected}`);
});

/** Splits `bytes` into random chunks, as a socket might deliver them. */
async function* chunked(rand: Rand, bytes: Uint8Array): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.length;) {
    const n = 1 + int(rand, 64);
    yield bytes.slice(at, at + n);
    at += n;
  }
}

Deno.test("the stream framer over mutated streams yields frames or FrameError and always terminates", async () => {
  const rand = mulberry32(77);
  for (let round = 0; round < 300; round++) {
    const parts = Array.from({ length: 1 + int(rand, 6) }, () => {
      const good = encodeFrame(randomFrame(rand));
      return rand() < 0.3 ? mutate(rand, good) : good;
    });
    const stream = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) {
      stream.set(p, at);
      at += p.length;
    }
    const reader = new FrameReader(chunked(rand, stream), { maxFrameBytes: 1 << 16 });
    // each frame read consumes at least a header and a type byte; a broken framing repeats its error
    const maxReads = Math.ceil(stream.length / FRAME_HEADER_BYTES) + 2;
    let last: unknown;
    for (let reads = 0;; reads++) {
      assert.ok(reads <= maxReads, "more reads than the stream can hold frames: the framer lost its place");
      try {
        if ((await reader.read()) === null) break;
      } catch (e) {
        assert.ok(e instanceof FrameError, `non-FrameError: ${e}`);
        if (e === last) break; // the framing is broken: the reader repeats its failure
        last = e;
      }
    }
  }
});
