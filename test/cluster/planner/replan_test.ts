import assert from "node:assert/strict";
import {
  layoutKey,
  nextPlan,
  planCluster,
  planFromLayout,
  type PlannerInput,
  type PlannerMember,
  recostPlan,
  shouldReplan,
} from "../../../cluster/planner/mod.ts";
import { node, uniformModel } from "./planner_fixtures.ts";

const MODEL = uniformModel(22, 50, 130);
const view = (epoch: number, members: PlannerMember[]): PlannerInput => ({ epoch, members, model: MODEL });
const THREE = [node("a", 10, 0.6), node("b", 10, 0.6), node("c", 10, 0.6)];

Deno.test("without a current plan the first candidate is adopted", () => {
  const { plan, decision } = nextPlan(undefined, view(1, THREE));
  assert.equal(decision.reason, "no-plan");
  assert.equal(plan.epoch, 1);
});

Deno.test("small load changes keep the plan and its epoch; a large shift starts a new epoch", () => {
  const first = planCluster(view(1, THREE));
  const cases: Array<[string, number, boolean]> = [
    ["b at 5% load", 0.05, false],
    ["b at 10% load", 0.1, false],
    ["b at 60% load", 0.6, true],
  ];
  for (const [name, load, replan] of cases) {
    const members = THREE.map((m) => (m.id === "b" ? { ...m, load } : m));
    const { plan, decision } = nextPlan(first, view(2, members));
    assert.equal(decision.replan, replan, `${name}: gain ${decision.gain}`);
    assert.equal(plan.epoch, replan ? 2 : 1, name);
    if (!replan) {
      assert.equal(layoutKey(plan), layoutKey(first), name);
      const bMs = (p: typeof plan) => p.replicas[0].stages.find((s) => s.nodeId === "b")!.computeMs;
      assert.ok(Math.abs(bMs(plan) - bMs(first) / (1 - load)) < 1e-9, `${name}: the kept plan is re-costed`);
    }
  }
});

Deno.test("a plan whose stage node left is broken and replaced at once", () => {
  const first = planCluster(view(1, THREE));
  const withoutB = THREE.filter((m) => m.id !== "b").map((m) => ({ ...m, memoryBytes: 1e9 }));
  const recosted = recostPlan(first, view(2, withoutB));
  assert.equal(recosted.brokenReplicas, 1);
  assert.deepEqual(recosted.replicas, []);
  const { plan, decision } = nextPlan(first, view(2, withoutB));
  assert.equal(decision.reason, "broken");
  assert.equal(plan.epoch, 2);
  assert.deepEqual(plan.replicas[0].stages.map((s) => s.nodeId).sort(), ["a", "c"]);
});

Deno.test("a stage whose node now reports too little memory, or too much load, breaks its replica", () => {
  const first = planCluster(view(1, THREE));
  const shrunk = THREE.map((m) => (m.id === "c" ? { ...m, memoryBytes: 0.1e9 } : m));
  assert.equal(recostPlan(first, view(2, shrunk)).brokenReplicas, 1);
  const busy = THREE.map((m) => (m.id === "c" ? { ...m, load: 0.99 } : m));
  assert.equal(recostPlan(first, view(2, busy)).brokenReplicas, 1);
});

Deno.test("a joining node that adds a replica is used by the next epoch; one that adds nothing is not", () => {
  const first = planCluster(view(1, THREE));
  const joined = nextPlan(first, view(2, [...THREE, node("d", 10, 2)]));
  assert.equal(joined.decision.reason, "gain");
  assert.ok(joined.plan.replicas.some((r) => r.stages.some((s) => s.nodeId === "d")));
  const useless = nextPlan(first, view(2, [...THREE, node("tiny", 10, 0.01)]));
  assert.equal(useless.decision.replan, false);
  assert.equal(useless.plan.epoch, 1);
});

Deno.test("the threshold decides: the same gain replans below it and holds above it", () => {
  const current = recostPlan(planCluster(view(1, THREE)), view(2, THREE));
  const bigger = planCluster(view(2, [...THREE, node("d", 10, 0.6)]));
  const gain = shouldReplan(current, bigger, 0).gain;
  assert.ok(gain > 0);
  assert.equal(shouldReplan(current, bigger, gain * 0.9).replan, true);
  assert.equal(shouldReplan(current, bigger, gain * 1.1).replan, false);
});

Deno.test("a candidate with the current layout never replans, even if it predicts a gain", () => {
  const two = view(1, [node("a", 10, 2), node("b", 10, 2)]);
  const current = planCluster(two);
  const faster = planCluster({
    ...two,
    members: two.members.map((m) => ({ ...m, bytesPerSec: m.bytesPerSec * 2 })),
  });
  const reordered = { ...faster, replicas: [...faster.replicas].reverse() };
  assert.equal(layoutKey(reordered), layoutKey(current), "replica order does not change the layout");
  assert.deepEqual(shouldReplan(current, reordered, 0.1), { replan: false, reason: "steady", gain: 0 });
});

Deno.test("alternating load reports between two values never flap the plan", () => {
  let plan = planCluster(view(1, THREE));
  const key = layoutKey(plan);
  for (let i = 0; i < 20; i++) {
    const load = i % 2 === 0 ? 0.08 : 0;
    plan = nextPlan(plan, view(2 + i, THREE.map((m) => (m.id === "a" ? { ...m, load } : m)))).plan;
    assert.equal(layoutKey(plan), key);
    assert.equal(plan.epoch, 1);
  }
});

Deno.test("a layout taken from another node is costed like the plan it came from; a malformed one is broken", () => {
  const input = view(1, THREE);
  const made = planCluster(input);
  const layout = made.replicas.map((r) =>
    r.stages.map((s) => ({ nodeId: s.nodeId, start: s.start, end: s.end }))
  );
  const taken = planFromLayout(77, layout, input);
  assert.equal(taken.epoch, 77);
  assert.equal(layoutKey(taken), layoutKey(made));
  assert.equal(taken.tokensPerSec, made.tokensPerSec);
  assert.equal(taken.brokenReplicas, 0);
  assert.ok(
    taken.decisions.every((d) => d.included === made.decisions.find((m) => m.nodeId === d.nodeId)!.included),
  );
  assert.equal(nextPlan(taken, input).decision.replan, false);
  const s = (nodeId: string, start: number, end: number) => ({ nodeId, start, end });
  const table: Array<[string, Array<Array<ReturnType<typeof s>>>]> = [
    ["a gap between stages", [[s("a", 0, 10), s("b", 11, 22)]]],
    ["a node twice", [[s("a", 0, 10), s("a", 10, 22)]]],
    ["a node in two replicas", [[s("a", 0, 10), s("b", 10, 22)], [s("a", 0, 11), s("c", 11, 22)]]],
    ["part of the model", [[s("a", 0, 10), s("b", 10, 20)]]],
    ["a node not in the view", [[s("a", 0, 10), s("zz", 10, 22)]]],
  ];
  for (const [what, bad] of table) {
    const p = planFromLayout(5, bad, input);
    assert.ok(p.brokenReplicas > 0, what);
    assert.equal(nextPlan(p, input).decision.reason, "broken", what);
  }
});
