import assert from "node:assert/strict";
import type { LiveLoad } from "../../cluster/gossip/mod.ts";
import { clusterTiming, loadBroadcastDue, LoadMeter } from "../../src/cluster_node/mod.ts";

Deno.test("tokens per second and utilisation are averaged over the window", () => {
  const meter = new LoadMeter(4_000);
  const idle = meter.sample(0, { queued: 0, active: 0, steps: 0, decodeTokens: 0 }, 0);
  assert.deepEqual(idle, {
    queueDepth: 0,
    activeSequences: 0,
    tokensPerSecond: 0,
    utilisation: 0,
    healthScore: 0,
  });
  // busy for 2 of the first 4 seconds, 100 tokens per busy second
  meter.sample(1_000, { queued: 0, active: 0, steps: 0, decodeTokens: 0 }, 0);
  meter.sample(2_000, { queued: 1, active: 2, steps: 50, decodeTokens: 100 }, 0);
  meter.sample(3_000, { queued: 0, active: 2, steps: 100, decodeTokens: 200 }, 0);
  const busy = meter.sample(4_000, { queued: 0, active: 0, steps: 100, decodeTokens: 200 }, 1);
  assert.equal(busy.tokensPerSecond, 50);
  assert.equal(busy.utilisation, 0.5);
  assert.equal(busy.healthScore, 1);
  // the busy seconds slide out of the window
  meter.sample(6_000, { queued: 0, active: 0, steps: 100, decodeTokens: 200 }, 0);
  const later = meter.sample(8_000, { queued: 0, active: 0, steps: 100, decodeTokens: 200 }, 0);
  assert.equal(later.tokensPerSecond, 0);
  assert.equal(later.utilisation, 0);
});

Deno.test("load is broadcast when it changed enough, never too often, and refreshed now and then", () => {
  const timing = clusterTiming("local"); // min 1 s, refresh 5 s
  const base: LiveLoad = {
    queueDepth: 0,
    activeSequences: 1,
    tokensPerSecond: 50,
    utilisation: 0.5,
    healthScore: 0,
  };
  const last = { load: base, at: 10_000 };
  const table: [string, Partial<LiveLoad>, number, boolean][] = [
    ["same load, soon", {}, 10_500, false],
    ["changed, but sooner than the minimum", { queueDepth: 5 }, 10_900, false],
    ["queue depth changed", { queueDepth: 1 }, 11_000, true],
    ["active sequences changed", { activeSequences: 2 }, 11_000, true],
    ["health changed", { healthScore: 2 }, 11_000, true],
    ["tokens/s within 20%", { tokensPerSecond: 58 }, 11_000, false],
    ["tokens/s beyond 20%", { tokensPerSecond: 61 }, 11_000, true],
    ["utilisation within 0.1", { utilisation: 0.55 }, 11_000, false],
    ["utilisation beyond 0.1", { utilisation: 0.65 }, 11_000, true],
    ["unchanged past the refresh", {}, 15_000, true],
  ];
  for (const [what, change, now, due] of table) {
    assert.equal(loadBroadcastDue(last, { ...base, ...change }, now, timing), due, what);
  }
  assert.equal(loadBroadcastDue(undefined, base, 0, timing), true, "nothing sent yet");
});
