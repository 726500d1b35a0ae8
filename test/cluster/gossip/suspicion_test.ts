import assert from "node:assert/strict";
import { Suspicion } from "../../../cluster/gossip/suspicion.ts";
import { Awareness } from "../../../cluster/gossip/awareness.ts";
import { NodeClock, VirtualScheduler } from "../../../cluster/gossip/sim/virtual_clock.ts";

function setup() {
  const sched = new VirtualScheduler(0);
  const clock = new NodeClock(sched);
  const fired: { at: number; n: number }[] = [];
  return { sched, clock, fired, onTimeout: (n: number) => fired.push({ at: clock.now(), n }) };
}

Deno.test("suspicion without confirmations fires at the maximum timeout", () => {
  const { sched, clock, fired, onTimeout } = setup();
  new Suspicion("a", 3, 2000, 30000, clock, onTimeout);
  sched.runFor(29999);
  assert.equal(fired.length, 0);
  sched.runFor(1);
  assert.deepEqual(fired, [{ at: 30000, n: 0 }]);
});

Deno.test("suspicion expecting no confirmations fires at the minimum timeout", () => {
  const { sched, clock, fired, onTimeout } = setup();
  new Suspicion("a", 0, 2000, 30000, clock, onTimeout);
  sched.runFor(60000);
  assert.deepEqual(fired, [{ at: 2000, n: 0 }]);
});

Deno.test("independent confirmations shorten the suspicion timer", () => {
  // [confirm at ms, expected fire time]: k=3, min=2 s, max=30 s.
  const table: { confirms: [number, string][]; fireAt: number; n: number }[] = [
    { confirms: [[2000, "b"]], fireAt: 16000, n: 1 },
    { confirms: [[2000, "b"], [3000, "c"]], fireAt: 7810, n: 2 },
    { confirms: [[2000, "b"], [3000, "c"], [4000, "d"]], fireAt: 4000, n: 3 },
    { confirms: [[0, "b"], [0, "c"], [0, "d"]], fireAt: 2000, n: 3 },
  ];
  for (const c of table) {
    const { sched, clock, fired, onTimeout } = setup();
    const s = new Suspicion("a", 3, 2000, 30000, clock, onTimeout);
    for (const [at, from] of c.confirms) {
      sched.runUntil(at);
      assert.equal(s.confirm(from), true);
    }
    sched.runFor(60000);
    assert.deepEqual(fired, [{ at: c.fireAt, n: c.n }], JSON.stringify(c.confirms));
  }
});

Deno.test("duplicate, originator and surplus confirmations are not counted", () => {
  const { sched, clock, fired, onTimeout } = setup();
  const s = new Suspicion("a", 2, 2000, 30000, clock, onTimeout);
  assert.equal(s.confirm("a"), false, "the originator does not confirm its own suspicion");
  assert.equal(s.confirm("b"), true);
  assert.equal(s.confirm("b"), false, "one confirmation per peer");
  assert.equal(s.confirm("c"), true);
  assert.equal(s.confirm("d"), false, "k already reached");
  assert.equal(s.confirmations, 2);
  sched.runFor(60000);
  assert.deepEqual(fired, [{ at: 2000, n: 2 }]);
});

Deno.test("a confirmation after the minimum has passed fires at once", () => {
  const { sched, clock, fired, onTimeout } = setup();
  const s = new Suspicion("a", 1, 2000, 30000, clock, onTimeout);
  sched.runUntil(5000);
  s.confirm("b");
  sched.runUntil(5000);
  assert.deepEqual(fired, [{ at: 5000, n: 1 }]);
});

Deno.test("a cancelled suspicion never fires", () => {
  const { sched, clock, fired, onTimeout } = setup();
  const s = new Suspicion("a", 1, 2000, 30000, clock, onTimeout);
  sched.runUntil(1000);
  s.cancel();
  assert.equal(s.confirm("b"), false);
  sched.runFor(60000);
  assert.equal(fired.length, 0);
});

Deno.test("awareness score is clamped and multiplies timeouts", () => {
  // [deltas, expected score, scaled 1000 ms]
  const table: [number[], number, number][] = [
    [[], 0, 1000],
    [[1], 1, 2000],
    [[1, 1, 1, -1], 2, 3000],
    [[10], 7, 8000],
    [[10, -3], 4, 5000],
    [[-5], 0, 1000],
    [[3, -10, 1], 1, 2000],
  ];
  for (const [deltas, score, scaled] of table) {
    const a = new Awareness(8);
    for (const d of deltas) a.applyDelta(d);
    assert.equal(a.score, score, JSON.stringify(deltas));
    assert.equal(a.scaleTimeout(1000), scaled);
  }
  const off = new Awareness(1);
  off.applyDelta(5);
  assert.equal(off.scaleTimeout(1000), 1000, "max 1 disables local health scaling");
});
