import assert from "node:assert/strict";
import {
  lanConfig,
  localConfig,
  resolveConfig,
  validateConfig,
  withoutLifeguard,
} from "../../../cluster/gossip/config.ts";
import { GossipConfigError } from "../../../cluster/gossip/errors.ts";

Deno.test("lan profile carries memberlist's DefaultLANConfig values", () => {
  const c = lanConfig("n");
  assert.deepEqual(
    [c.tcpTimeoutMs, c.indirectChecks, c.retransmitMult, c.suspicionMult, c.suspicionMaxTimeoutMult],
    [10000, 3, 4, 4, 6],
  );
  assert.deepEqual(
    [c.pushPullIntervalMs, c.probeIntervalMs, c.probeTimeoutMs, c.awarenessMaxMultiplier],
    [30000, 1000, 500, 8],
  );
  assert.deepEqual([c.gossipNodes, c.gossipIntervalMs, c.gossipToTheDeadMs], [3, 200, 30000]);
  validateConfig(c);
});

Deno.test("local profile is faster than lan and valid", () => {
  const lan = lanConfig("n"), local = localConfig("n");
  assert.ok(local.probeIntervalMs < lan.probeIntervalMs);
  assert.ok(local.probeTimeoutMs < lan.probeTimeoutMs);
  assert.ok(local.gossipIntervalMs < lan.gossipIntervalMs);
  validateConfig(local);
});

Deno.test("resolveConfig applies overrides and rejects out-of-range fields by name", () => {
  assert.equal(resolveConfig("local", { name: "a", label: "x" }).label, "x");
  const bad: [Partial<ReturnType<typeof lanConfig>>, string][] = [
    [{ name: "" }, "name"],
    [{ name: "x".repeat(129) }, "name"],
    [{ label: "l".repeat(256) }, "label"],
    [{ probeIntervalMs: 0 }, "probeIntervalMs"],
    [{ probeTimeoutMs: 2000 }, "probeTimeoutMs"],
    [{ gossipNodes: -1 }, "gossipNodes"],
    [{ suspicionMult: Number.NaN }, "suspicionMult"],
  ];
  for (const [override, field] of bad) {
    assert.throws(
      () => resolveConfig("lan", { name: "n", ...override }),
      (e) => e instanceof GossipConfigError && e.field === field,
      field,
    );
  }
});

Deno.test("withoutLifeguard switches off every Lifeguard extension", () => {
  const c = withoutLifeguard(lanConfig("n"));
  assert.deepEqual(
    [c.suspicionMaxTimeoutMult, c.awarenessMaxMultiplier, c.indirectNacks, c.buddyProbes],
    [1, 1, false, false],
  );
});
