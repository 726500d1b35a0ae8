/**
 * A stage runner behind its in-memory I/O twin (no sockets): what the last stage does with the tokens
 * it samples, with and without OPEN's feedUntil.
 */
import assert from "node:assert/strict";
import {
  type Frame,
  FrameType,
  type OpenFrame,
  type StageIo,
  StageRunner,
  WireDtype,
} from "../../../cluster/pipeline/mod.ts";
import { createReferenceBackend } from "../../../src/backend/reference/reference_backend.ts";
import { defaultSamplingParams } from "../../../src/engine/sampler.ts";
import { openGguf } from "../../../src/gguf/mod.ts";
import { modelConfigFromGguf } from "../../../src/model/model_config.ts";
import { loadModelWeights } from "../../../src/model/model_weights.ts";
import { singleNodeGreedy, STORIES, until } from "./support/pipeline_fixtures.ts";

interface Sent {
  readonly to: string;
  readonly frame: Frame;
}

/** A whole-model runner (one stage) or the last stage of a 2-stage route, recording what it sends. */
async function runner(start: number, spinWaitMs?: number, onNext?: (frame: Frame) => void) {
  const file = await openGguf(STORIES);
  const cfg = modelConfigFromGguf(file.header);
  const backend = createReferenceBackend();
  // start < 0: the first stage (layers 0..-start) of a 2-stage route
  const range = start < 0
    ? { start: 0, end: -start, embedding: true, head: false }
    : { start, end: cfg.layers, embedding: start === 0, head: true };
  const weights = await loadModelWeights(file, backend, cfg, range);
  file.close();
  const sent: Sent[] = [];
  const io: StageIo = {
    toEntry: (replyTo, frame) => (sent.push({ to: replyTo, frame }), true),
    toNext: (address, frame) => {
      sent.push({ to: address, frame });
      onNext?.(frame);
    },
    log: () => {},
  };
  const options = { epochs: [1], ctx: 64, spinWaitMs };
  return { stage: new StageRunner({ backend, cfg, weights }, io, options), sent };
}

function open(route: OpenFrame["route"], prompt: readonly number[], feedUntil?: number): OpenFrame {
  return {
    type: FrameType.Open,
    seqId: 7,
    planEpoch: 1,
    hop: route.length - 1,
    wireDtype: WireDtype.F32,
    route,
    replyTo: "entry",
    sampling: {
      ...defaultSamplingParams(),
      temperature: 0,
      seed: 1,
      penaltyLastN: 64,
    } as OpenFrame["sampling"],
    drawsDone: 0,
    history: Int32Array.from(prompt),
    ...(feedUntil === undefined ? {} : { feedUntil }),
  };
}

const tokensTo = (sent: Sent[], to: string) =>
  sent.filter((s) => s.to === to && s.frame.type === FrameType.Token).map((s) =>
    s.frame.type === FrameType.Token ? [s.frame.position, s.frame.tokens[0]] : []
  );

Deno.test("a one-stage route with feedUntil decodes on its own up to the budget, streaming every token to the entry", async () => {
  const prompt = [1, 403, 407];
  const expected = await singleNodeGreedy(STORIES, prompt, 6);
  const { stage, sent } = await runner(0);
  try {
    const whole = { start: 0, end: 5, embedding: true, head: true, address: "self:1" };
    // positions 3..8 hold the 6 tokens; the one at 8 ends the budget and is not fed
    stage.open(open([whole], prompt, prompt.length + 6 - 1));
    stage.tokens({
      type: FrameType.Token,
      seqId: 7,
      planEpoch: 1,
      chunk: 0,
      position: 0,
      tokens: Int32Array.from(prompt),
      sample: true,
      reset: false,
    });
    assert.ok(
      await until(() => tokensTo(sent, "entry").length === 6, 5_000),
      JSON.stringify(tokensTo(sent, "entry")),
    );
    assert.deepEqual(tokensTo(sent, "entry"), expected.map((t, i) => [prompt.length + i, t]));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(tokensTo(sent, "entry").length, 6, "nothing is decoded past the budget");
    assert.equal(stage.stats().queuedRows, 0);
  } finally {
    await stage.close();
  }
});

Deno.test("the last stage sends each sampled token to the first stage only when OPEN asks for it", async () => {
  const { stage, sent } = await runner(3);
  const file = await openGguf(STORIES);
  const dim = modelConfigFromGguf(file.header).dim;
  file.close();
  const route = [
    { start: 0, end: 3, embedding: true, head: false, address: "first:1" },
    { start: 3, end: 5, embedding: false, head: true, address: "last:2" },
  ];
  const hidden = (seqId: number, position: number) => ({
    type: FrameType.Forward as const,
    planEpoch: 1,
    dtype: WireDtype.F32,
    dim,
    segments: [{ seqId, chunk: 0, rows: 1, sample: true, reset: false }],
    positions: Int32Array.of(position),
    hidden: new Float32Array(dim).fill(0.01),
  });
  try {
    stage.open(open(route, [1, 403], 10));
    stage.open({ ...open(route, [1, 403]), seqId: 8 });
    stage.forward(hidden(7, 0));
    stage.forward(hidden(8, 0));
    assert.ok(await until(() => tokensTo(sent, "entry").length === 2, 5_000));
    const fed = sent.filter((s) => s.to === "first:1");
    assert.equal(fed.length, 1, "only the sequence with feedUntil is fed");
    const f = fed[0].frame;
    assert.ok(f.type === FrameType.Token && f.seqId === 7 && f.position === 1 && f.sample);
  } finally {
    await stage.close();
  }
});

Deno.test("a stage polls for another micro-batch on its way instead of sleeping, but not for a lone stream", async () => {
  const route = [
    { start: 0, end: 3, embedding: true, head: false, address: "first:1" },
    { start: 3, end: 5, embedding: false, head: true, address: "last:2" },
  ];
  const token = (seqId: number, position: number, t: number) => ({
    type: FrameType.Token as const,
    seqId,
    planEpoch: 1,
    chunk: 0,
    position,
    tokens: Int32Array.of(t),
    sample: true,
    reset: false,
  });
  /**
   * First stage of a 2-stage route with `seqIds` streams: the cap makes one group per sequence when
   * there are two; each one's next decode input comes back 5 ms after its FORWARD left, like a token
   * from the last stage, up to position 3.
   */
  const run = async (spinWaitMs: number, seqIds: readonly number[]) => {
    // assigned once the runner exists; the frame callback above it runs only later
    // deno-lint-ignore prefer-const
    let stage!: StageRunner;
    const made = await runner(-3, spinWaitMs, (frame) => {
      if (frame.type !== FrameType.Forward) return;
      const { seqId } = frame.segments[0];
      const position = frame.positions[frame.positions.length - 1] + 1;
      if (position < 4) setTimeout(() => stage.tokens(token(seqId, position, 403)), 5);
    });
    stage = made.stage;
    try {
      for (const seqId of seqIds) stage.open({ ...open(route, [1, 403]), seqId, hop: 0 });
      for (const seqId of seqIds) stage.tokens(token(seqId, 0, 1));
      assert.ok(await until(() => stage.stats().rows === 4 * seqIds.length, 5_000));
      const forwards = made.sent.filter((s) => s.frame.type === FrameType.Forward).map((s) => s.frame);
      return { spinWaits: stage.stats().spinWaits, forwards };
    } finally {
      await stage.close();
    }
  };
  const polled = await run(1_000, [7, 8]);
  assert.ok(polled.spinWaits >= 1, `spin waits: ${polled.spinWaits}`);
  const slept = await run(0, [7, 8]);
  assert.equal(slept.spinWaits, 0);
  const rows = (frames: Frame[]) =>
    frames.flatMap((f) => f.type === FrameType.Forward ? [`${f.segments[0].seqId}@${f.positions[0]}`] : [])
      .sort();
  assert.deepEqual(rows(polled.forwards), rows(slept.forwards), "polling changes when a step runs, not what");
  // one stream: its next row is a round trip away, the stage sleeps
  assert.equal((await run(1_000, [7])).spinWaits, 0);
});
