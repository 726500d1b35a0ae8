import assert from "node:assert/strict";
import { quantile, SimCluster } from "../../../../cluster/gossip/sim/sim_cluster.ts";

/** Crashes `crashes` nodes one after another in an N-node ring and returns every live node's
 * detection time (ms) for each. The full 20-seed figures are in `bench/gossip.ts`. */
function detectionTimes(
  profile: "lan" | "local",
  seeds: number[],
  crashes: number,
  settleMs: number,
): number[] {
  const all: number[] = [];
  for (const seed of seeds) {
    const c = new SimCluster({ n: 50, profile, seed });
    assert.notEqual(c.boot(), -1, "ring converges");
    for (let k = 0; k < crashes; k++) {
      // Crash at a random phase of the probe cycle, not right after a tick.
      c.runFor(1_000 + 137 * k);
      const victim = c.members[5 + 7 * k].name;
      const t0 = c.now();
      c.crash(victim);
      c.runFor(settleMs);
      all.push(...c.detectionTimes(victim, t0));
    }
  }
  return all;
}

Deno.test("lan profile: every live node marks a crashed node dead, p50 ≤ 13 s and p99 ≤ 20 s at N=50", () => {
  const times = detectionTimes("lan", [1, 2], 4, 30_000);
  assert.equal(times.length, 2 * (49 + 48 + 47 + 46));
  assert.ok(times.every(Number.isFinite), "every live node detected every crash");
  const p50 = quantile(times, 0.5), p99 = quantile(times, 0.99);
  assert.ok(p50 <= 13_000, `p50 ${p50}`);
  assert.ok(p99 <= 20_000, `p99 ${p99}`);
  // Suspicion is at least 4·log10(50)·1 s: detection can never be instant.
  assert.ok(quantile(times, 0) >= 6_000, `min ${quantile(times, 0)}`);
});

Deno.test("local profile: crash detection p50 ≤ 4 s at N=50", () => {
  const times = detectionTimes("local", [3], 4, 15_000);
  assert.ok(times.every(Number.isFinite));
  const p50 = quantile(times, 0.5);
  assert.ok(p50 <= 4_000, `p50 ${p50}`);
});
