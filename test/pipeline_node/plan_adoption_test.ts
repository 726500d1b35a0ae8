/**
 * A joining node adopts the plan the ring runs (src/pipeline_node/plan_adoption.ts): which advertised
 * plan counts as running, and what a joiner then follows — the running layout and its epoch unless the
 * hysteresis rule says a re-plan is due, in which case it is the plan the ring's own nodes compute.
 */
import assert from "node:assert/strict";
import {
  layoutKey,
  nextPlan,
  type Plan,
  planFromLayout,
  type PlannerInput,
  totalModelBytes,
} from "../../cluster/planner/mod.ts";
import type { MemberPlan, MemberRow } from "../../src/cluster_node/mod.ts";
import { memberRow, SMALL_MODEL_COST } from "./planner_fixtures.ts";
import {
  epochOfLayout,
  layoutEpoch,
  plannerView,
  referencePlan,
  runningPlan,
} from "../../src/pipeline_node/mod.ts";

const cost = SMALL_MODEL_COST;
/** each node holds a little over half the model: any two of them form the pipeline */
const HALF = Math.ceil(totalModelBytes(cost) * 0.6);

function row(name: string, extra: Partial<MemberRow> = {}): MemberRow {
  return memberRow(name, {
    pipelineAddr: `127.0.0.1:${4000 + name.charCodeAt(0)}`,
    memoryBudgetBytes: HALF,
    ...extra,
  });
}

/** The running plan b:0-2 > c:2-4 as its nodes advertise it. */
const B_THEN_C = [[{ node: "b", start: 0, end: 2 }, { node: "c", start: 2, end: 4 }]];

function advert(replicas: MemberPlan["replicas"]): MemberPlan {
  return { epoch: epochOfLayout({ epoch: 0, replicas }), replicas };
}

function inputOf(rows: MemberRow[]) {
  const view = plannerView(rows, "m");
  return { view, input: { epoch: 0, members: view.members, model: cost, rttMs: view.rttMs } };
}

/** What a node that follows `current` does with `input`: the plan and epoch it ends on. */
function follow(current: Plan | undefined, input: PlannerInput): Plan {
  const { plan, decision } = nextPlan(current, input);
  return decision.replan ? { ...plan, epoch: layoutEpoch(plan) } : plan;
}

Deno.test("the running plan is the epoch most members follow; a tie goes to the smaller epoch", () => {
  const e1 = advert(B_THEN_C);
  const e2 = advert([[{ node: "a", start: 0, end: 2 }, { node: "b", start: 2, end: 4 }]]);
  const own = (epoch: number) => ({ epoch }) as Plan;
  const table: Array<[string, Plan | undefined, Array<[string, MemberPlan]>, number | undefined]> = [
    ["nobody has a plan", undefined, [], undefined],
    ["a joiner takes the only advertised plan", undefined, [["b", e1]], e1.epoch],
    ["the majority wins over the own plan", own(e2.epoch), [["b", e1], ["c", e1]], e1.epoch],
    ["the own plan counts as a vote", own(e2.epoch), [["b", e2], ["c", e1]], e2.epoch],
    [
      "a tie goes to the smaller epoch",
      own(e2.epoch),
      [["b", e1]],
      Math.min(e1.epoch, e2.epoch),
    ],
    ["this node's own (stale) advert is not a vote", own(e2.epoch), [["self", e1]], e2.epoch],
  ];
  for (const [what, mine, plans, expected] of table) {
    assert.equal(runningPlan(mine, "self", new Map(plans))?.epoch, expected, what);
  }
  // a layout is returned only when it hashes to the epoch it is advertised with
  assert.deepEqual(runningPlan(undefined, "self", new Map([["b", e1]]))?.replicas, B_THEN_C);
  const forged = { epoch: e1.epoch, replicas: e2.replicas };
  assert.deepEqual(runningPlan(undefined, "self", new Map([["b", forged]])), { epoch: e1.epoch });
});

Deno.test("a joining node adopts the running layout and its epoch rather than plan from scratch", () => {
  const running = advert(B_THEN_C);
  // a joins a ring where b and c run b > c; from scratch a would propose a layout of its own
  const { view, input } = inputOf([
    row("a", { self: true }),
    row("b", { plan: running }),
    row("c", { plan: running }),
  ]);
  const scratch = follow(undefined, input);
  assert.notEqual(layoutKey(scratch), "b:0-2>c:2-4", "without adoption the joiner proposes another layout");

  const reference = referencePlan(undefined, view, "a", input);
  assert.equal(reference.adopted, true);
  const joined = follow(reference.plan, input);
  assert.equal(layoutKey(joined), "b:0-2>c:2-4");
  assert.equal(joined.epoch, running.epoch, "the joiner follows the ring's epoch");
  assert.ok(joined.replicas[0].stages.every((s) => s.computeMs > 0), "costed under the joiner's view");
  const left = joined.decisions.find((d) => d.nodeId === "a")!;
  assert.equal(left.included, false);
  assert.match(left.detail, /hysteresis/);
  // and a member of the running plan, re-planning from its own plan with the same view, agrees
  const own = planFromLayout(running.epoch, [[{ nodeId: "b", start: 0, end: 2 }, {
    nodeId: "c",
    start: 2,
    end: 4,
  }]], input);
  assert.equal(follow(own, input).epoch, joined.epoch);
});

Deno.test("a joiner re-plans with the ring when the hysteresis rule says a re-plan is due", () => {
  const running = advert(B_THEN_C);
  const busy = {
    queueDepth: 0,
    activeSequences: 0,
    tokensPerSecond: 0,
    utilisation: 0.8,
    ageMs: 0,
    via: "ack" as const,
  };
  // c became busy: moving its layers to the idle joiner gains far more than the threshold
  const { view, input } = inputOf([
    row("a", { self: true }),
    row("b", { plan: running }),
    row("c", { plan: running, load: busy }),
  ]);
  const joined = follow(referencePlan(undefined, view, "a", input).plan, input);
  const member = follow(
    planFromLayout(
      running.epoch,
      running.replicas!.map((r) => r.map((s) => ({ nodeId: s.node, ...s }))),
      input,
    ),
    input,
  );
  assert.notEqual(joined.epoch, running.epoch);
  assert.equal(layoutKey(joined), layoutKey(member));
  assert.equal(joined.epoch, member.epoch, "the joiner and the ring's members start the same new epoch");
  assert.ok(joined.replicas[0].stages.every((s) => s.nodeId !== "c"));
});

Deno.test("a running layout that names a member gone from the view is broken: the joiner re-plans", () => {
  const running = advert([[{ node: "b", start: 0, end: 2 }, { node: "gone", start: 2, end: 4 }]]);
  const { view, input } = inputOf([row("a", { self: true }), row("b", { plan: running }), row("c")]);
  const reference = referencePlan(undefined, view, "a", input);
  assert.equal(reference.plan?.brokenReplicas, 1);
  const { decision } = nextPlan(reference.plan, input);
  assert.equal(decision.reason, "broken");
  assert.equal(layoutKey(follow(reference.plan, input)), layoutKey(follow(undefined, input)));
});

Deno.test("nodes that follow different epochs converge on the one most of them follow", () => {
  const bc = advert(B_THEN_C);
  const ab = advert([[{ node: "a", start: 0, end: 2 }, { node: "b", start: 2, end: 4 }]]);
  const rows = [row("a", { plan: ab }), row("b", { plan: bc }), row("c", { plan: bc })];
  const { view, input } = inputOf(rows);
  const aOwn = planFromLayout(ab.epoch, [[{ nodeId: "a", start: 0, end: 2 }, {
    nodeId: "b",
    start: 2,
    end: 4,
  }]], input);
  const reference = referencePlan(aOwn, view, "a", input);
  assert.equal(reference.adopted, true);
  assert.equal(follow(reference.plan, input).epoch, bc.epoch);
});
