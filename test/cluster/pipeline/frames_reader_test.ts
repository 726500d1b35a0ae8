import assert from "node:assert/strict";
import {
  encodeFrame,
  type Frame,
  FRAME_HEADER_BYTES,
  FrameError,
  FrameReader,
  FrameType,
  WireDtype,
} from "../../../cluster/pipeline/mod.ts";
import { normalValues } from "../../quant/test_data.ts";

const FRAMES: Frame[] = [
  { type: FrameType.Hello, minVersion: 1, maxVersion: 1, planEpoch: 2, nodeId: "a", auth: new Uint8Array() },
  {
    type: FrameType.Forward,
    planEpoch: 2,
    dtype: WireDtype.F32,
    dim: 16,
    segments: [{ seqId: 5, chunk: 0, rows: 3, sample: true, reset: false }],
    positions: new Int32Array([0, 1, 2]),
    hidden: normalValues(48, 1),
  },
  { type: FrameType.Cancel, seqId: 5, reason: 0 },
];

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function* chunks(...parts: Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield p;
}

async function readAll(reader: FrameReader): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of reader) out.push(f);
  return out;
}

const STREAM = concat(FRAMES.map(encodeFrame));

Deno.test("frames split at every byte boundary are reassembled", async () => {
  for (let cut = 0; cut <= STREAM.length; cut++) {
    const got = await readAll(new FrameReader(chunks(STREAM.slice(0, cut), STREAM.slice(cut))));
    assert.deepEqual(got, FRAMES, `cut at ${cut}`);
  }
});

Deno.test("a stream delivered one byte at a time, or all in one chunk, gives the same frames", async () => {
  const bytewise = Array.from(STREAM, (b) => new Uint8Array([b]));
  assert.deepEqual(await readAll(new FrameReader(chunks(...bytewise))), FRAMES);
  assert.deepEqual(await readAll(new FrameReader(chunks(STREAM))), FRAMES);
});

Deno.test("a frame larger than the initial buffer grows it", async () => {
  const big: Frame = {
    ...(FRAMES[1] as Frame & { type: FrameType.Forward }),
    dim: 8192,
    hidden: normalValues(3 * 8192, 2),
  };
  const bytes = encodeFrame(big);
  const pieces = [bytes.slice(0, 1000), bytes.slice(1000, 50_000), bytes.slice(50_000)];
  assert.deepEqual(await readAll(new FrameReader(chunks(...pieces))), [big]);
});

Deno.test("a ReadableStream source works like an async iterable", async () => {
  const stream = ReadableStream.from([STREAM.slice(0, 10), STREAM.slice(10)]);
  assert.deepEqual(await readAll(new FrameReader(stream)), FRAMES);
});

Deno.test("a length over the limit is refused as soon as the header arrives, without reading on", async () => {
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(header.buffer).setUint32(0, 1 << 20, true);
  header[4] = FrameType.Forward;
  async function* source() {
    yield header;
    throw new Error("the reader pulled past an over-limit header");
  }
  const reader = new FrameReader(source(), { maxFrameBytes: 1 << 16 });
  await assert.rejects(reader.read(), (e) => e instanceof FrameError && e.code === "too-large");
  await assert.rejects(reader.read(), FrameError, "the reader stays failed");
});

Deno.test("a stream that ends inside a frame is a truncation error; a clean end is null", async () => {
  const reader = new FrameReader(chunks(STREAM.slice(0, STREAM.length - 1)));
  assert.deepEqual(await reader.read(), FRAMES[0]);
  assert.deepEqual(await reader.read(), FRAMES[1]);
  await assert.rejects(reader.read(), (e) => e instanceof FrameError && e.code === "truncated");
  await assert.rejects(reader.read(), FrameError);
  const clean = new FrameReader(chunks(encodeFrame(FRAMES[2])));
  assert.deepEqual(await clean.read(), FRAMES[2]);
  assert.equal(await clean.read(), null);
  assert.equal(await clean.read(), null);
});

Deno.test("after a malformed or unknown frame the reader continues with the next one", async () => {
  const unknown = new Uint8Array([3, 0, 0, 0, 99, 1, 2]); // type 99, 2 payload bytes
  const zeroSeq = encodeFrame({ type: FrameType.Cancel, seqId: 1, reason: 0 });
  zeroSeq.fill(0, FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + 8); // sequence id 0
  const reader = new FrameReader(chunks(concat([unknown, zeroSeq, encodeFrame(FRAMES[2])])));
  await assert.rejects(reader.read(), (e) => e instanceof FrameError && e.code === "unknown-type");
  await assert.rejects(reader.read(), (e) => e instanceof FrameError && e.code === "bad-field");
  assert.deepEqual(await reader.read(), FRAMES[2]);
  assert.equal(await reader.read(), null);
});

Deno.test("frames written in small pieces over a real TCP connection arrive whole", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sent = Array.from({ length: 20 }, (_, i) => FRAMES[i % FRAMES.length]);
  const server = (async () => {
    const conn = await listener.accept();
    const bytes = concat(sent.map(encodeFrame));
    for (let at = 0; at < bytes.length; at += 7) {
      const piece = bytes.subarray(at, at + 7);
      for (let done = 0; done < piece.length;) done += await conn.write(piece.subarray(done));
    }
    conn.close();
  })();
  const client = await Deno.connect({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port });
  client.setNoDelay(true);
  const got = await readAll(new FrameReader(client.readable));
  await server;
  listener.close();
  assert.deepEqual(got, sent);
});
