/**
 * What a stage accepts from the network (stage_input.ts): pure checks, table-driven.
 */
import assert from "node:assert/strict";
import {
  FrameType,
  type OpenFrame,
  type OpenStage,
  PipelineConfigError,
  WireDtype,
  WireErrorCode,
} from "../../../cluster/pipeline/mod.ts";
import {
  admitOpen,
  checkRange,
  forwardInputProblem,
  rowsProblem,
  tokenInputProblem,
} from "../../../cluster/pipeline/stage_input.ts";
import { defaultSamplingParams } from "../../../src/engine/sampler.ts";

const first: OpenStage = { start: 0, end: 3, embedding: true, head: false, address: "a:1" };
const last: OpenStage = { start: 3, end: 6, embedding: false, head: true, address: "b:1" };

function open(route: readonly OpenStage[], hop: number, extra: Partial<OpenFrame> = {}): OpenFrame {
  return {
    type: FrameType.Open,
    seqId: 1,
    planEpoch: 1,
    hop,
    wireDtype: WireDtype.F16,
    route,
    replyTo: "entry",
    sampling: { ...defaultSamplingParams(), temperature: 0.8, seed: 5 } as OpenFrame["sampling"],
    drawsDone: 0,
    history: Int32Array.of(1, 2),
    ...extra,
  };
}

Deno.test("an OPEN for this stage's layers names the next hop, or on the last stage the sampler and the first stage", () => {
  const mid = admitOpen(open([first, last], 0), first);
  assert.deepEqual(mid, { next: "b:1", feedUntil: 0 });
  const end = admitOpen(open([first, last], 1, { feedUntil: 9 }), last);
  assert.ok(!("code" in end));
  assert.equal(end.next, undefined);
  assert.equal(end.first, "a:1");
  assert.equal(end.feedUntil, 9);
  assert.deepEqual(end.sampler?.history, [1, 2]);
});

Deno.test("a replayed OPEN continues the sampler's random stream after the draws already made", () => {
  const fresh = admitOpen(open([first, last], 1), last);
  const replay = admitOpen(open([first, last], 1, { drawsDone: 3 }), last);
  assert.ok(!("code" in fresh) && !("code" in replay));
  for (let i = 0; i < 3; i++) fresh.sampler!.rng.nextFloat();
  assert.equal(replay.sampler!.rng.nextFloat(), fresh.sampler!.rng.nextFloat());
});

Deno.test("an OPEN naming other layers, a head before the end, or bad sampling is refused as a bad frame", () => {
  const headFirst: OpenStage = { ...last, start: 0, embedding: true };
  const cases: Array<[OpenFrame, OpenStage, RegExp]> = [
    [open([first, last], 0), last, /names layers 0..3, this stage holds 3..6/],
    [open([headFirst, last], 0), headFirst, /head must end the route/],
    [
      open([first, last], 1, { sampling: { ...open([], 0).sampling, temperature: -1 } }),
      last,
      /temperature/,
    ],
  ];
  for (const [frame, range, message] of cases) {
    const got = admitOpen(frame, range);
    assert.ok("code" in got, `expected a refusal for ${message}`);
    assert.equal(got.code, WireErrorCode.BadFrame);
    assert.match(got.message, message);
  }
});

Deno.test("token input is refused away from the embedding and for ids outside the vocabulary", () => {
  assert.equal(tokenInputProblem(Int32Array.of(1, 511), first, 512), undefined);
  assert.match(tokenInputProblem(Int32Array.of(1), last, 512)!.message, /without the embedding/);
  assert.match(tokenInputProblem(Int32Array.of(1, 512), first, 512)!.message, /token id 512 outside/);
});

Deno.test("hidden-state input is refused at the first stage, at another width, or in broken positions", () => {
  const frame = (dim: number, positions: number[]) => ({
    type: FrameType.Forward as const,
    planEpoch: 1,
    dtype: WireDtype.F32,
    dim,
    segments: [],
    positions: Int32Array.from(positions),
    hidden: new Float32Array(positions.length * dim),
  });
  assert.equal(forwardInputProblem(frame(4, [0, 7, 8]), 1, 2, last, 4), undefined);
  assert.match(forwardInputProblem(frame(4, [0]), 0, 1, first, 4)!.message, /at the first stage/);
  assert.match(
    forwardInputProblem(frame(8, [0]), 0, 1, last, 4)!.message,
    /hidden width 8, the model's is 4/,
  );
  assert.match(forwardInputProblem(frame(4, [5, 7]), 0, 2, last, 4)!.message, /not consecutive from 5/);
});

Deno.test("rows must continue their sequence and fit the stage context", () => {
  assert.equal(rowsProblem(4, 2, 4, 6), undefined);
  assert.match(rowsProblem(5, 1, 4, 64)!.message, /start at position 5, expected 4/);
  assert.match(rowsProblem(4, 3, 4, 6)!.message, /position 6 is past the stage context of 6/);
});

Deno.test("a stage range outside the model, or empty without embedding or head, is a config error", () => {
  checkRange({ start: 0, end: 6, embedding: true, head: true }, 6);
  checkRange({ start: 6, end: 6, embedding: false, head: true }, 6);
  for (const r of [{ start: 2, end: 7 }, { start: 3, end: 2 }, { start: 2, end: 2 }]) {
    assert.throws(() => checkRange({ ...r, embedding: false, head: false }, 6), PipelineConfigError);
  }
});
