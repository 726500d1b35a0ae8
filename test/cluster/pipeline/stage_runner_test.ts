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
async function runner(start: number) {
  const file = await openGguf(STORIES);
  const cfg = modelConfigFromGguf(file.header);
  const backend = createReferenceBackend();
  const range = { start, end: cfg.layers, embedding: start === 0, head: true };
  const weights = await loadModelWeights(file, backend, cfg, range);
  file.close();
  const sent: Sent[] = [];
  const io: StageIo = {
    toEntry: (replyTo, frame) => (sent.push({ to: replyTo, frame }), true),
    toNext: (address, frame) => void sent.push({ to: address, frame }),
    log: () => {},
  };
  return { stage: new StageRunner({ backend, cfg, weights }, io, { epochs: [1], ctx: 64 }), sent };
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
