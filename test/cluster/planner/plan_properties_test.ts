/**
 * Properties of the planner over random small clusters (fast-check, fixed seeds so failures replay).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  nextPlan,
  planCluster,
  type PlannerInput,
  recostPlan,
  shouldReplan,
} from "../../../cluster/planner/mod.ts";
import { assertWellFormed, bruteForce, clusterArb, layersOf, NO_GUARD } from "./planner_fixtures.ts";

const RUNS = { numRuns: 300, seed: 7 };

Deno.test("every layer is in exactly one stage per replica, in order, within each node's memory", () => {
  fc.assert(
    fc.property(clusterArb(6), fc.boolean(), (input, guard) => {
      assertWellFormed(planCluster(input, guard ? {} : NO_GUARD), input);
    }),
    RUNS,
  );
});

Deno.test("the plan is the same whatever order gossip lists the members and RTTs in", () => {
  fc.assert(
    fc.property(clusterArb(5), fc.infiniteStream(fc.nat()), (input, randoms) => {
      const it = randoms[Symbol.iterator]();
      const shuffled = [...input.members].map((m) => ({ m, k: it.next().value as number }))
        .sort((a, b) => a.k - b.k).map((x) => x.m);
      const rttMs = Object.fromEntries(Object.entries(input.rttMs ?? {}).reverse());
      assert.deepEqual(planCluster({ ...input, members: shuffled, rttMs }), planCluster(input));
    }),
    RUNS,
  );
});

Deno.test("the plan's total rate is within 5% of the brute-force optimum on clusters of up to 4 nodes", () => {
  fc.assert(
    fc.property(clusterArb(4), (input) => {
      const plan = planCluster(input, NO_GUARD);
      const brute = bruteForce(input);
      assert.ok(
        plan.tokensPerSec >= 0.95 * brute.tokensPerSec,
        `${plan.tokensPerSec} vs ${brute.tokensPerSec}`,
      );
      assert.ok(plan.tokensPerSec <= brute.tokensPerSec * (1 + 1e-9), "no plan beats exhaustive search");
      assert.equal(
        plan.replicas.length === 0,
        brute.tokensPerSec === 0,
        "a plan exists iff some replica fits",
      );
    }),
    { numRuns: 200, seed: 11 },
  );
});

Deno.test("a single pipeline's bottleneck + hops is within 5% of the brute-force optimum", () => {
  fc.assert(
    fc.property(clusterArb(4), (input) => {
      const plan = planCluster(input, { ...NO_GUARD, maxReplicas: 1 });
      const { bestReplicaCost } = bruteForce(input);
      if (bestReplicaCost === Infinity) return assert.equal(plan.replicas.length, 0);
      const r = plan.replicas[0];
      assert.ok(r.costMs <= 1.05 * bestReplicaCost, `${r.costMs} vs ${bestReplicaCost}`);
    }),
    { numRuns: 200, seed: 12 },
  );
});

Deno.test("with free hops, a single pipeline's bottleneck is within 5% of the brute-force optimum", () => {
  const freeHops = (input: PlannerInput): PlannerInput => ({
    ...input,
    members: input.members.map((m) => ({ ...m, linkBytesPerSec: 1e300 })),
    rttMs: Object.fromEntries(
      input.members.map((a) => [a.id, Object.fromEntries(input.members.map((b) => [b.id, 0]))]),
    ),
  });
  fc.assert(
    fc.property(clusterArb(4).map(freeHops), (input) => {
      const plan = planCluster(input, { ...NO_GUARD, maxReplicas: 1, hopOverheadMs: 0 });
      const { bestReplicaCost } = bruteForce(input, { hopOverheadMs: 0 }); // = the smallest bottleneck
      if (bestReplicaCost === Infinity) return assert.equal(plan.replicas.length, 0);
      assert.ok(
        plan.replicas[0].bottleneckMs <= 1.05 * bestReplicaCost,
        `${plan.replicas[0].bottleneckMs} vs ${bestReplicaCost}`,
      );
    }),
    { numRuns: 100, seed: 13 },
  );
});

Deno.test("raising one node's load never gives it more layers in a single pipeline", () => {
  fc.assert(
    fc.property(
      clusterArb(4, 0.3),
      fc.nat(),
      fc.double({ min: 0.2, max: 0.6, noNaN: true }),
      (input, pick, extra) => {
        const busy = input.members[pick % input.members.length];
        const options = { maxReplicas: 1 };
        const before = planCluster(input, options);
        const members = input.members.map((m) => (m === busy ? { ...m, load: m.load + extra } : m));
        const after = planCluster({ ...input, members }, options);
        assert.ok(
          layersOf(after, busy.id) <= layersOf(before, busy.id),
          `${busy.id}: ${layersOf(before, busy.id)} → ${layersOf(after, busy.id)} layers`,
        );
      },
    ),
    RUNS,
  );
});

Deno.test("load noise of ±0.02 never triggers a re-plan at the default 10% threshold", () => {
  fc.assert(
    fc.property(
      clusterArb(4, 0.5),
      fc.array(fc.array(fc.double({ min: -0.02, max: 0.02, noNaN: true }), { minLength: 4, maxLength: 4 }), {
        minLength: 5,
        maxLength: 5,
      }),
      (input, noise) => {
        let plan = planCluster(input, NO_GUARD);
        for (const step of noise) {
          const members = input.members.map((m, i) => ({ ...m, load: Math.max(0, m.load + step[i]) }));
          const view = { ...input, epoch: input.epoch + 1, members };
          const candidate = planCluster(view, NO_GUARD);
          assert.equal(shouldReplan(recostPlan(plan, view, NO_GUARD), candidate).replan, false);
          const next = nextPlan(plan, view, NO_GUARD);
          assert.equal(next.plan.epoch, input.epoch, "the plan keeps its epoch");
          plan = next.plan;
        }
      },
    ),
    RUNS,
  );
});
