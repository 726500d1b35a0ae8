import assert from "node:assert/strict";
import { type PlanInput, planStep } from "../../src/engine/batch_plan.ts";

const decode = (): PlanInput => ({ decoding: true, pending: 1 });
const prefill = (pending: number): PlanInput => ({ decoding: false, pending });

Deno.test("every decoding sequence feeds one token per step, before any prefill", () => {
  const plan = planStep([prefill(10), decode(), decode()], { maxBatch: 64, prefillChunk: 8 });
  assert.deepEqual(plan.entries, [
    { index: 1, count: 1, emitsLogits: true },
    { index: 2, count: 1, emitsLogits: true },
    { index: 0, count: 8, emitsLogits: false },
  ]);
  assert.equal(plan.tokens, 10);
  assert.equal(plan.outputs, 2);
});

Deno.test("prefill is bounded by the chunk while others decode, by the batch when no one does", () => {
  const cases: Array<
    { seqs: PlanInput[]; maxBatch: number; chunk: number; tokens: number; outputs: number }
  > = [
    { seqs: [decode(), prefill(100)], maxBatch: 64, chunk: 16, tokens: 17, outputs: 1 },
    { seqs: [prefill(100)], maxBatch: 64, chunk: 16, tokens: 64, outputs: 0 },
    { seqs: [prefill(10), prefill(100)], maxBatch: 64, chunk: 16, tokens: 64, outputs: 1 },
    { seqs: [decode(), prefill(5), prefill(5)], maxBatch: 64, chunk: 8, tokens: 9, outputs: 2 },
    { seqs: [decode(), decode(), decode(), prefill(40)], maxBatch: 4, chunk: 32, tokens: 4, outputs: 3 },
    { seqs: [], maxBatch: 4, chunk: 32, tokens: 0, outputs: 0 },
  ];
  for (const c of cases) {
    const plan = planStep(c.seqs, { maxBatch: c.maxBatch, prefillChunk: c.chunk });
    assert.equal(plan.tokens, c.tokens, JSON.stringify(c));
    assert.equal(plan.outputs, c.outputs, JSON.stringify(c));
    assert.ok(plan.tokens <= c.maxBatch);
  }
});

Deno.test("a prompt's last chunk emits logits; earlier chunks do not", () => {
  const first = planStep([prefill(20)], { maxBatch: 16, prefillChunk: 16 });
  assert.deepEqual(first.entries, [{ index: 0, count: 16, emitsLogits: false }]);
  const last = planStep([prefill(4)], { maxBatch: 16, prefillChunk: 16 });
  assert.deepEqual(last.entries, [{ index: 0, count: 4, emitsLogits: true }]);
});

Deno.test("prefill goes to the oldest admitted sequence first", () => {
  const plan = planStep([prefill(30), prefill(30)], { maxBatch: 40, prefillChunk: 40 });
  assert.deepEqual(plan.entries, [
    { index: 0, count: 30, emitsLogits: true },
    { index: 1, count: 10, emitsLogits: false },
  ]);
});
