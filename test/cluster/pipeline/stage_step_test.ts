/** The pure parts of a stage step: how many items a step takes, and which. */
import assert from "node:assert/strict";
import { WireDtype } from "../../../cluster/pipeline/mod.ts";
import {
  microBatchItems,
  type StageSequence,
  takeBatch,
  type WorkItem,
} from "../../../cluster/pipeline/stage_step.ts";

function seq(seqId: number, routeStages: number): StageSequence {
  return {
    seqId,
    epoch: 1,
    slot: seqId,
    replyTo: "entry",
    wireDtype: WireDtype.F32,
    routeStages,
    feedUntil: 0,
    queuedTo: 0,
    lastActive: 0,
    ended: false,
  };
}

function decode(s: StageSequence): WorkItem {
  return { seq: s, chunk: 0, start: 0, rows: 1, tokens: Int32Array.of(5), sample: true };
}

Deno.test("the micro-batch cap splits a k-stage route's sequences into k groups; one stage is uncapped", () => {
  const table: Array<[sequences: number, stages: number, cap: number]> = [
    [8, 1, Infinity],
    [8, 2, 4],
    [8, 3, 3],
    [9, 2, 5],
    [1, 4, 1],
    [0, 2, Infinity], // no sequences: nothing to cap
  ];
  for (const [n, stages, cap] of table) {
    const sequences = Array.from({ length: n }, (_, i) => seq(i, stages));
    assert.equal(microBatchItems(sequences), n === 0 ? Infinity : cap, `${n} sequences on ${stages} stages`);
  }
  // mixed routes: the longest decides
  assert.equal(microBatchItems([seq(1, 1), seq(2, 3), seq(3, 1), seq(4, 1)]), 2);
});

Deno.test("a capped step takes the oldest items up to the cap and leaves the rest queued in order", () => {
  const sequences = Array.from({ length: 8 }, (_, i) => seq(i, 3));
  const queue = sequences.map(decode);
  const cap = microBatchItems(sequences); // 3
  const first = takeBatch(queue, 64, 4, cap);
  assert.deepEqual(first.map((w) => w.seq.seqId), [0, 1, 2]);
  assert.deepEqual(queue.map((w) => w.seq.seqId), [3, 4, 5, 6, 7]);
  sequences[3].ended = true; // an ended sequence's item is dropped, not counted
  assert.deepEqual(takeBatch(queue, 64, 4, cap).map((w) => w.seq.seqId), [4, 5, 6]);
  assert.deepEqual(takeBatch(queue, 64, 4, cap).map((w) => w.seq.seqId), [7]);
  assert.equal(queue.length, 0);
});
