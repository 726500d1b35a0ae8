/**
 * Stage servers seen from the wire: KV slots taken by OPEN and freed by CANCEL or a vanished entry on
 * every stage, misrouted and wrong-epoch sequences refused with an ERROR, long prefills split into
 * steps, and thousands of malformed frames dropped and counted while the stage keeps serving.
 */
import assert from "node:assert/strict";
import {
  CancelReason,
  encodeFrame,
  type ErrorFrame,
  type Frame,
  FrameType,
  type OpenFrame,
  PipelineConnection,
  PipelineEngine,
  type TokenFrame,
  WireDtype,
  WireErrorCode,
} from "../../../cluster/pipeline/mod.ts";
import { defaultSamplingParams } from "../../../src/engine/sampler.ts";
import { mulberry32 } from "../../quant/test_data.ts";
import {
  modelInfo,
  routeOf,
  split,
  startStages,
  STORIES,
  testKeyring,
  tokensOf,
  until,
} from "./support/pipeline_fixtures.ts";

const GREEDY = { ...defaultSamplingParams(), temperature: 0 };
const reference = JSON.parse(await Deno.readTextFile("../shared/reference/stories260K.json")) as {
  prompt_ids: number[];
  generated_ids: number[];
};
const SAMPLING = {
  temperature: 0,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repetitionPenalty: 1,
  frequencyPenalty: 0,
  presencePenalty: 0,
  penaltyLastN: 64,
  seed: 1,
};

Deno.test("cancelling a stream frees its KV slot on every stage", async () => {
  const keyring = await testKeyring();
  const servers = await startStages(STORIES, split([0, 2, 4, 5]), { keyring, slots: 4 });
  const info = await modelInfo(STORIES);
  const engine = new PipelineEngine({
    nodeId: "entry",
    cfg: info.cfg,
    tokenizer: info.tokenizer,
    keyring,
    resolveRoute: () => routeOf(servers),
    ctx: 256,
  });
  try {
    const stream = engine.submit({ prompt: reference.prompt_ids, maxTokens: 200, sampling: GREEDY });
    let n = 0;
    for await (const _ of stream) {
      if (++n === 3) {
        for (const s of servers) {
          assert.equal(s.stats().sequences, 1, `stage ${s.range.start} holds the sequence`);
        }
        for (const s of servers) assert.equal(s.stats().freeSlots, 3);
        stream.cancel();
      }
    }
    assert.equal((await stream.done).finishReason, "cancelled");
    assert.ok(
      await until(() => servers.every((s) => s.stats().sequences === 0 && s.stats().freeSlots === 4), 2_000),
      JSON.stringify(servers.map((s) => s.stats())),
    );
  } finally {
    await engine.close();
    for (const s of servers) await s.close();
  }
});

/** A hand-driven entry: one connection per stage under the same reply id, frames collected. */
async function rawEntry(addresses: string[]) {
  const keyring = await testKeyring();
  const frames: Frame[] = [];
  const conns: PipelineConnection[] = [];
  for (const address of addresses) {
    const conn = await PipelineConnection.connect(address, { nodeId: "raw-entry", keyring });
    conn.start({ frame: (f) => frames.push(f) });
    conns.push(conn);
  }
  return { conns, frames };
}

function openFrame(seqId: number, route: OpenFrame["route"], epoch = 1): OpenFrame {
  return {
    type: FrameType.Open,
    seqId,
    planEpoch: epoch,
    hop: 0,
    wireDtype: WireDtype.F16,
    route,
    replyTo: "raw-entry",
    sampling: SAMPLING,
    drawsDone: 0,
    history: Int32Array.from(reference.prompt_ids),
  };
}

function promptFrame(seqId: number, epoch = 1): TokenFrame {
  return {
    type: FrameType.Token,
    seqId,
    planEpoch: epoch,
    chunk: 0,
    position: 0,
    tokens: Int32Array.from(reference.prompt_ids),
    sample: true,
    reset: false,
  };
}

Deno.test("an entry that disconnects without CANCEL has its sequences freed on every stage", async () => {
  const keyring = await testKeyring();
  const servers = await startStages(STORIES, split([0, 3, 5]), { keyring });
  const route = routeOf(servers).stages.map(({ start, end, embedding, head, address }) => ({
    start,
    end,
    embedding,
    head,
    address,
  }));
  const entry = await rawEntry(servers.map((s) => s.address));
  try {
    entry.conns[0].send(openFrame(5, route));
    entry.conns[0].send(promptFrame(5));
    assert.ok(await until(() => entry.frames.some((f) => f.type === FrameType.Token), 2_000));
    const token = entry.frames.find((f) => f.type === FrameType.Token) as TokenFrame;
    assert.equal(token.tokens[0], reference.generated_ids[0]);
    assert.equal(token.position, reference.prompt_ids.length);
    for (const s of servers) assert.equal(s.stats().sequences, 1);
    for (const c of entry.conns) c.close();
    assert.ok(await until(() => servers.every((s) => s.stats().sequences === 0), 2_000));
  } finally {
    for (const s of servers) await s.close();
  }
});

Deno.test("a misrouted OPEN, an unserved epoch and rows out of order are refused with an ERROR to the entry", async () => {
  const keyring = await testKeyring();
  const [server] = await startStages(STORIES, split([0, 5]), { keyring });
  const entry = await rawEntry([server.address]);
  const full = { start: 0, end: 5, embedding: true, head: true, address: server.address };
  const errorFor = (seqId: number) =>
    entry.frames.find((f): f is ErrorFrame => f.type === FrameType.Error && f.seqId === seqId);
  try {
    entry.conns[0].send(openFrame(1, [{ ...full, end: 4 }]));
    entry.conns[0].send(openFrame(2, [full], 7));
    entry.conns[0].send(openFrame(3, [full]));
    entry.conns[0].send({ ...promptFrame(3), position: 2 });
    assert.ok(await until(() => [1, 2, 3].every((id) => errorFor(id)), 2_000));
    assert.equal(errorFor(1)!.code, WireErrorCode.BadFrame);
    assert.match(errorFor(1)!.message, /layers 0\.\.4, this stage holds 0\.\.5/);
    assert.equal(errorFor(2)!.code, WireErrorCode.EpochMismatch);
    assert.equal(errorFor(3)!.code, WireErrorCode.BadFrame);
    assert.match(errorFor(3)!.message, /position 2, expected 0/);
    assert.equal(server.stats().sequences, 0);
  } finally {
    for (const c of entry.conns) c.close();
    await server.close();
  }
});

Deno.test("a prompt longer than a stage's batch runs in several steps with the same result", async () => {
  const keyring = await testKeyring();
  const servers = await startStages(STORIES, split([0, 2, 5]), { keyring, maxBatch: 2 });
  const info = await modelInfo(STORIES);
  const engine = new PipelineEngine({
    nodeId: "entry",
    cfg: info.cfg,
    tokenizer: info.tokenizer,
    keyring,
    resolveRoute: () => routeOf(servers),
    ctx: 256,
    prefillChunk: 3,
    wireDtype: WireDtype.F32,
  });
  try {
    const got = await tokensOf(
      engine.submit({ prompt: reference.prompt_ids, maxTokens: 8, sampling: GREEDY }),
    );
    assert.deepEqual(got, reference.generated_ids.slice(0, 8));
    assert.ok(servers[0].stats().steps >= 3 + 7, `${servers[0].stats().steps} steps`);
  } finally {
    await engine.close();
    for (const s of servers) await s.close();
  }
});

type Rand = () => number;
const int = (rand: Rand, n: number) => Math.floor(rand() * n);

/** Valid frames of every type a stage receives, aimed at sequence 77 (open) or random ones. */
function randomFrame(rand: Rand, address: string): Frame {
  const seqId = rand() < 0.6 ? 77 : 1 + int(rand, 1000);
  const full = { start: 0, end: 5, embedding: true, head: true, address };
  switch (int(rand, 6)) {
    case 5:
      return {
        type: FrameType.Fetch,
        reqId: int(rand, 100),
        kind: int(rand, 3),
        offset: int(rand, 2_000_000),
        length: int(rand, 5000),
      };
    case 0:
      return { ...openFrame(seqId, [full], rand() < 0.8 ? 1 : int(rand, 4)), history: Int32Array.of(1, 2) };
    case 1: {
      const n = 1 + int(rand, 4);
      return {
        type: FrameType.Token,
        seqId,
        planEpoch: rand() < 0.9 ? 1 : 2,
        chunk: 0,
        position: int(rand, 8),
        tokens: Int32Array.from({ length: n }, () => int(rand, 600)),
        sample: rand() < 0.5,
        reset: false,
      };
    }
    case 2: {
      const dim = rand() < 0.5 ? 64 : 1 + int(rand, 70);
      return {
        type: FrameType.Forward,
        planEpoch: 1,
        dtype: WireDtype.F16,
        dim,
        segments: [{ seqId, chunk: 0, rows: 1, sample: true, reset: false }],
        positions: Int32Array.of(int(rand, 4)),
        hidden: Float32Array.from({ length: dim }, () => rand() - 0.5),
      };
    }
    case 3:
      return { type: FrameType.Cancel, seqId, reason: int(rand, 5) };
    default:
      return { type: FrameType.Error, code: int(rand, 10), seqId, message: "fuzz" };
  }
}

function mutate(rand: Rand, src: Uint8Array): Uint8Array {
  const b = src.slice();
  switch (int(rand, 4)) {
    case 0:
      for (let i = 0, n = 1 + int(rand, 4); i < n; i++) b[5 + int(rand, b.length - 5)] ^= 1 << int(rand, 8);
      return b;
    case 1: // shorter payload, honest length: truncation inside a field
      return fixLength(b.subarray(0, 5 + int(rand, b.length - 5)));
    case 2: // a lying length
      new DataView(b.buffer).setUint32(0, int(rand, 2 ** 32), true);
      return b;
    default: // an unknown frame type
      b[4] = 8 + int(rand, 240);
      return b;
  }
}

function fixLength(b: Uint8Array): Uint8Array {
  const out = b.slice();
  new DataView(out.buffer).setUint32(0, out.length - 4, true);
  return out;
}

Deno.test("thousands of malformed frames at a stage are dropped and counted, and the stage keeps serving", async () => {
  const keyring = await testKeyring();
  const [server] = await startStages(STORIES, split([0, 5]), { keyring, slots: 8 });
  const fuzz = await rawEntry([server.address]);
  const rand = mulberry32(31337);
  try {
    // garbage before any handshake: each connection is refused
    for (let i = 0; i < 20; i++) {
      const raw = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      await raw.write(crypto.getRandomValues(new Uint8Array(1 + int(rand, 200))));
      await raw.closeWrite();
      for await (const _ of raw.readable) { /* until the stage hangs up */ }
    }
    // and inside an authenticated connection, every kind of damage, one record per frame
    const conn = fuzz.conns[0];
    conn.send(openFrame(77, [{ start: 0, end: 5, embedding: true, head: true, address: server.address }]));
    let mutated = 0;
    for (let i = 0; i < 3000; i++) {
      const good = encodeFrame(randomFrame(rand, server.address));
      const bytes = rand() < 0.75 ? (mutated++, mutate(rand, good)) : good;
      conn.sendRaw(bytes);
      await conn.flushed();
    }
    for (let id = 1; id <= 1000; id++) {
      conn.send({ type: FrameType.Cancel, seqId: id, reason: CancelReason.Client });
    }
    // a sentinel sequence: once its token is back, the stage has handled every frame sent before it
    const full = { start: 0, end: 5, embedding: true, head: true, address: server.address };
    conn.send(openFrame(4242, [full]));
    conn.send(promptFrame(4242));
    const answered = () => fuzz.frames.some((f) => f.type === FrameType.Token && f.seqId === 4242);
    assert.ok(await until(answered, 5_000), "the stage answers after the fuzz");
    conn.send({ type: FrameType.Cancel, seqId: 4242, reason: CancelReason.Finished });
    assert.ok(await until(() => server.stats().sequences === 0, 2_000), JSON.stringify(server.stats()));
    const stats = server.stats();
    assert.ok(stats.refusedPeers >= 20, `refused ${stats.refusedPeers}`);
    assert.ok(stats.badFrames > mutated / 3, `${stats.badFrames} bad frames of ${mutated} mutated`);
    assert.equal(stats.handlerErrors, 0);
    assert.ok(!conn.isClosed, "malformed frames inside records do not cost the peer its connection");
    assert.ok(
      fuzz.frames.some((f) => f.type === FrameType.Error),
      "bad input was answered with ERROR frames",
    );

    // the stage still serves a real request correctly
    const info = await modelInfo(STORIES);
    const engine = new PipelineEngine({
      nodeId: "entry",
      cfg: info.cfg,
      tokenizer: info.tokenizer,
      keyring,
      resolveRoute: () => routeOf([server]),
      ctx: 256,
    });
    const got = await tokensOf(
      engine.submit({ prompt: reference.prompt_ids, maxTokens: 12, sampling: GREEDY }),
    );
    await engine.close();
    assert.deepEqual(got, reference.generated_ids.slice(0, 12));
  } finally {
    for (const c of fuzz.conns) c.close();
    await server.close();
  }
});
