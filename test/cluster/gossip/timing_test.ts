import assert from "node:assert/strict";
import {
  initialIncarnation,
  isPlausibleIncarnation,
  pushPullScaleMs,
  remainingSuspicionMs,
  retransmitLimit,
  suspicionConfirmationsWanted,
  suspicionTimeoutMs,
} from "../../../cluster/gossip/timing.ts";

Deno.test("suspicion timeout scales with log10 of the ring size, floored at 1", () => {
  // Same table as memberlist's TestUtil_SuspicionTimeout (mult 3, 1 s interval, divided by 3).
  const table: [number, number][] = [[5, 1000], [10, 1000], [50, 1698], [100, 2000], [500, 2698], [
    1000,
    3000,
  ]];
  for (const [n, perMult] of table) {
    assert.equal(suspicionTimeoutMs(3, n, 1000), 3 * perMult, `n=${n}`);
  }
  assert.equal(suspicionTimeoutMs(4, 50, 1000), 6792);
  assert.equal(suspicionTimeoutMs(4, 0, 1000), 4000, "empty ring uses scale 1");
});

Deno.test("remaining suspicion time shrinks logarithmically with confirmations", () => {
  // [n, k, elapsed, min, max, expected] — memberlist's TestSuspicion_remainingSuspicionTime.
  const table: [number, number, number, number, number, number][] = [
    [0, 3, 0, 2000, 30000, 30000],
    [1, 3, 2000, 2000, 30000, 14000],
    [2, 3, 3000, 2000, 30000, 4810],
    [3, 3, 4000, 2000, 30000, -2000],
    [4, 3, 5000, 2000, 30000, -3000],
    [5, 3, 10000, 2000, 30000, -8000],
  ];
  for (const [n, k, elapsed, min, max, want] of table) {
    assert.equal(remainingSuspicionMs(n, k, elapsed, min, max), want, `n=${n} elapsed=${elapsed}`);
  }
  assert.equal(remainingSuspicionMs(0, 0, 500, 2000, 30000), 1500, "k=0 means the minimum timeout");
});

Deno.test("confirmations wanted are mult-2 unless the ring is too small", () => {
  const table: [number, number, number][] = [[4, 50, 2], [4, 4, 2], [4, 3, 0], [3, 3, 1], [3, 2, 0], [
    6,
    10,
    4,
  ], [2, 10, 0]];
  for (const [mult, n, want] of table) {
    assert.equal(suspicionConfirmationsWanted(mult, n), want, `mult=${mult} n=${n}`);
  }
});

Deno.test("retransmit limit is mult times ceil(log10(N+1))", () => {
  const table: [number, number, number][] = [[3, 0, 0], [3, 1, 3], [3, 99, 6], [4, 50, 8], [4, 200, 12], [
    4,
    9,
    4,
  ], [4, 10, 8]];
  for (const [mult, n, want] of table) assert.equal(retransmitLimit(mult, n), want, `mult=${mult} n=${n}`);
});

Deno.test("push-pull interval doubles past 32 members and grows with log2 N", () => {
  const table: [number, number][] = [[1, 1000], [32, 1000], [33, 2000], [64, 2000], [65, 3000], [128, 3000], [
    200,
    4000,
  ]];
  for (const [n, want] of table) assert.equal(pushPullScaleMs(1000, n), want, `n=${n}`);
});

Deno.test("incarnation starts at the Unix second and beats a persisted one", () => {
  assert.equal(initialIncarnation(1_700_000_000_500), 1_700_000_000);
  assert.equal(initialIncarnation(1_700_000_000_500, 1_600_000_000), 1_700_000_000);
  assert.equal(initialIncarnation(1_700_000_000_500, 1_700_000_005), 1_700_000_006);
});

Deno.test("incarnations far ahead of the clock are implausible", () => {
  const now = 1_700_000_000_000;
  assert.equal(isPlausibleIncarnation(1_700_000_000 + 86400, now, 86400), true);
  assert.equal(isPlausibleIncarnation(1_700_000_000 + 86401, now, 86400), false);
  assert.equal(isPlausibleIncarnation(0xffff_ffff, now, 86400), false);
  assert.equal(isPlausibleIncarnation(5, 0, 86400), true);
});
