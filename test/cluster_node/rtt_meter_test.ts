/** The RTTs a node advertises for the planner (src/cluster_node/rtt_meter.ts). */
import assert from "node:assert/strict";
import {
  quantiseRttMs,
  RTT_PUBLISH_INTERVAL_MS,
  RTT_SETTLE_MS,
  RTT_WINDOW_MS,
  RttMeter,
  rttsChanged,
} from "../../src/cluster_node/mod.ts";

Deno.test("each peer's RTT is the smallest of its recent probes, in 0.1 ms steps, once it has settled", () => {
  const meter = new RttMeter();
  let t = 0;
  for (const ms of [0.42, 7.5, 0.38, 30, 0.47]) meter.sample(new Map([["b", ms], ["c", 2 * ms]]), t += 250);
  assert.deepEqual(meter.current(t), {}, "a peer measured for a moment only is not advertised yet");
  t = 250 + RTT_SETTLE_MS;
  meter.sample(new Map([["b", 9], ["c", 9]]), t);
  assert.deepEqual(meter.current(t), { b: 0.4, c: 0.8 }, "late probes on a busy host do not count");
  meter.sample(new Map([["b", Number.NaN], ["c", -1]]), t += 250);
  assert.deepEqual(meter.current(t), { b: 0.4, c: 0.8 }, "unusable figures are ignored");
  // a link that became slow shows once the fast samples leave the window
  const end = t + RTT_WINDOW_MS + 1_000;
  while (t < end) meter.sample(new Map([["b", 20.04]]), t += 250);
  assert.deepEqual(meter.current(t), { b: 20 }, "c is forgotten once absent");
  assert.equal(quantiseRttMs(0.25), 0.3);
});

Deno.test("a new set is published when a peer comes or goes or an RTT moves a lot, at most every interval", () => {
  const meter = new RttMeter();
  assert.equal(meter.publishDue(0), undefined, "nothing measured, nothing to publish");
  meter.sample(new Map([["b", 0.3], ["c", 0.4]]), 0);
  assert.equal(meter.publishDue(1), undefined, "not settled yet");
  meter.sample(new Map([["b", 0.3], ["c", 0.4]]), RTT_SETTLE_MS);
  assert.deepEqual(
    meter.publishDue(RTT_SETTLE_MS),
    { b: 0.3, c: 0.4 },
    "the first set goes out once settled",
  );
  assert.equal(meter.publishDue(RTT_SETTLE_MS + 500), undefined, "nothing changed");
  meter.sample(new Map([["b", 0.3]]), RTT_SETTLE_MS + 1_000);
  assert.equal(meter.publishDue(RTT_SETTLE_MS + 1_000), undefined, "a peer gone waits for the interval");
  assert.deepEqual(meter.publishDue(RTT_SETTLE_MS + RTT_PUBLISH_INTERVAL_MS), { b: 0.3 });
  const table: Array<[string, Record<string, number>, Record<string, number>, boolean]> = [
    ["jitter of a few tenths", { b: 0.3 }, { b: 0.7 }, false],
    ["a small relative change of a slow link", { b: 40 }, { b: 45 }, false],
    ["a link 4× slower", { b: 0.4 }, { b: 1.6 }, true],
    ["a peer gone", { b: 0.3, c: 1 }, { b: 0.3 }, true],
    ["a peer replaced", { b: 0.3 }, { c: 0.3 }, true],
    ["nothing at all yet", {}, {}, false],
  ];
  for (const [what, before, after, changed] of table) assert.equal(rttsChanged(before, after), changed, what);
  assert.equal(rttsChanged(undefined, {}), false);
});
