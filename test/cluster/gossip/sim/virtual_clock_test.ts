import assert from "node:assert/strict";
import { NodeClock, VirtualScheduler } from "../../../../cluster/gossip/sim/virtual_clock.ts";

Deno.test("virtual events run in time order, ties in scheduling order, and can be cancelled", () => {
  const s = new VirtualScheduler(1000);
  const log: string[] = [];
  s.schedule(1300, () => log.push("c"));
  s.schedule(1100, () => log.push("a"));
  s.schedule(1100, () => log.push("b"));
  s.schedule(1200, () => log.push("x")).cancel();
  s.schedule(500, () => log.push(`past@${s.now()}`));
  s.runUntil(1250);
  assert.deepEqual(log, ["past@1000", "a", "b"]);
  assert.equal(s.now(), 1250);
  s.runFor(100);
  assert.deepEqual(log, ["past@1000", "a", "b", "c"]);
});

Deno.test("a paused node runs its held timers and deliveries at resume, in due order", () => {
  const s = new VirtualScheduler(0);
  const c = new NodeClock(s);
  const log: string[] = [];
  c.setTimer(100, () => log.push(`t100@${c.now()}`));
  c.setTimer(300, () => log.push(`t300@${c.now()}`));
  s.schedule(200, () => c.run(() => log.push(`packet@${c.now()}`)));
  s.runUntil(50);
  c.pause();
  s.runUntil(1000);
  assert.deepEqual(log, []);
  c.resume();
  assert.deepEqual(log, ["t100@1000", "packet@1000", "t300@1000"]);
});

Deno.test("a halted node never runs anything again", () => {
  const s = new VirtualScheduler(0);
  const c = new NodeClock(s);
  let ran = 0;
  c.setTimer(10, () => ran++);
  c.pause();
  s.schedule(5, () => c.run(() => ran++));
  s.runUntil(20);
  c.halt();
  c.resume();
  c.setTimer(1, () => ran++);
  s.runFor(100);
  assert.equal(ran, 0);
});

Deno.test("a slow node runs each event late by slowMs", () => {
  const s = new VirtualScheduler(0);
  const c = new NodeClock(s);
  c.slowMs = 250;
  const at: number[] = [];
  c.setTimer(100, () => at.push(c.now()));
  s.schedule(10, () => c.run(() => at.push(c.now())));
  s.runFor(1000);
  assert.deepEqual(at, [260, 350]);
});
