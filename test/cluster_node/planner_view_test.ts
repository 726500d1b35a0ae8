/**
 * The pure part of the pipeline node (src/pipeline_node/planner_view.ts) and the plan's status lines
 * (src/cluster_node/pipeline_status.ts): which gossip members the planner sees, the agreed epoch, and
 * the decisions a node takes from a plan.
 */
import assert from "node:assert/strict";
import { planCluster, totalModelBytes } from "../../cluster/planner/mod.ts";
import { memberRow, SMALL_MODEL_COST } from "../pipeline_node/planner_fixtures.ts";
import type { MemberRow } from "../../src/cluster_node/mod.ts";
import { formatPipeline, pipelineStatus } from "../../src/cluster_node/mod.ts";
import {
  avoiding,
  layoutEpoch,
  pipelineInUse,
  plannerView,
  RTT_FLOOR_MS,
  servesAlone,
  stageOf,
} from "../../src/pipeline_node/mod.ts";

const row = memberRow;
const cost = SMALL_MODEL_COST;

Deno.test("the planner sees only live members serving the model with a pipeline address, score and memory", () => {
  const view = plannerView([
    row("c"),
    row("a", {
      load: {
        queueDepth: 2,
        activeSequences: 1,
        tokensPerSecond: 0,
        utilisation: 0.37,
        ageMs: 0,
        via: "ack",
      },
    }),
    row("dead", { status: "dead" }),
    row("other-model", { models: ["x"] }),
    row("loading", { pipelineAddr: "" }),
    row("unscored", { score: 0 }),
    row("unknown-backend", { backend: "unknown" }),
    row("suspect", { status: "suspect" }),
  ], "m");
  assert.deepEqual(view.members.map((m) => m.id), ["a", "c", "suspect"]);
  assert.equal(view.members[0].load, 0.3, "loads are rounded down to 1/LOAD_STEPS so every node plans alike");
  assert.equal(view.depths.get("a"), 3);
  assert.equal(view.addresses.get("c"), "127.0.0.1:4001");
  assert.deepEqual([...view.alive].sort(), [
    "a",
    "c",
    "loading",
    "other-model",
    "suspect",
    "unknown-backend",
    "unscored",
  ]);
});

Deno.test("equal layouts get equal epochs, other layouts other epochs, never 0", () => {
  const small = totalModelBytes(cost) * 0.6;
  const members = ["a", "b"].map((id) => ({
    id,
    backend: "wasm" as const,
    memoryBytes: small,
    bytesPerSec: 1e9,
    load: 0,
  }));
  const split = planCluster({ epoch: 7, members, model: cost });
  const again = planCluster({ epoch: 9, members: [...members].reverse(), model: cost });
  const alone = planCluster({ epoch: 7, members: [{ ...members[0], memoryBytes: 1e12 }], model: cost });
  assert.equal(split.replicas[0].stages.length, 2);
  assert.equal(layoutEpoch(split), layoutEpoch(again));
  assert.notEqual(layoutEpoch(split), layoutEpoch(alone));
  assert.ok(layoutEpoch(split) > 0 && layoutEpoch(split) <= 0xffff_ffff);

  assert.equal(stageOf(split, "b")?.end, cost.layers);
  assert.equal(stageOf(split, "z"), undefined);
  assert.equal(servesAlone(split, "a"), false);
  assert.equal(servesAlone(alone, "a"), true);
  assert.equal(pipelineInUse(split, members, totalModelBytes(cost)), true);
  assert.equal(pipelineInUse(alone, [{ ...members[0], memoryBytes: 1e12 }], totalModelBytes(cost)), false);
  assert.equal(avoiding(split, new Set(["b"])).replicas.length, 0);
  assert.equal(avoiding(split, new Set(["q"])).replicas.length, 1);

  const lines = formatPipeline(
    pipelineStatus(split, { mode: "pipeline", reason: "no-plan", model: "m", modelBytes: 1 }),
  );
  assert.match(lines[0], /^plan: +pipeline · epoch 7 \(no-plan\) · m · 1 replica/);
  assert.match(lines.join("\n"), /a {2}layers 0-\d \+embd {2}compute [\d.]+ ms\/token {2}hop [\d.]+ ms/);
  assert.match(lines.join("\n"), /\+ b: stage/);
});

/** Three members that each hold a little over half the model: the plan uses two of them. */
function halfRows(observer: string, rtts: Record<string, Record<string, number>>): MemberRow[] {
  const small = Math.ceil(totalModelBytes(cost) * 0.6);
  return ["a", "b", "c"].map((name) =>
    row(name, {
      self: name === observer,
      memoryBudgetBytes: small,
      // what the observer measured itself: never part of the plan
      ...(name === observer ? {} : { rttMs: name === "a" ? 0.2 : 9 }),
      ...(rtts[name] ? { peerRttsMs: rtts[name] } : {}),
    })
  );
}

Deno.test("two nodes with the same gossip, each with its own probe RTTs, compute the same plan", () => {
  const advertised = { a: { b: 0.3, c: 1.4 }, b: { a: 0.3, c: 2.5 }, c: { a: 1.5 } };
  const seenByA = plannerView(halfRows("a", advertised), "m");
  const seenByC = plannerView(halfRows("c", advertised).reverse(), "m");
  assert.deepEqual(seenByA.rttMs, seenByC.rttMs);
  assert.deepEqual(
    seenByA.rttMs,
    { a: { b: RTT_FLOOR_MS, c: 1.4 }, b: { a: RTT_FLOOR_MS, c: 2.5 }, c: { a: 1.5 } },
    "the advertised RTTs, both directions, enter the view; scheduling noise under the floor does not",
  );
  const planOf = (v: typeof seenByA) =>
    layoutEpoch(planCluster({ epoch: 0, members: v.members, model: cost, rttMs: v.rttMs }));
  assert.equal(planOf(seenByA), planOf(seenByC));
});

Deno.test("a slow link, advertised by either end, moves the split off that pair", () => {
  const pairOf = (rtts: Record<string, Record<string, number>>) => {
    const v = plannerView(halfRows("a", rtts), "m");
    const plan = planCluster({ epoch: 0, members: v.members, model: cost, rttMs: v.rttMs });
    assert.equal(plan.replicas.length, 1);
    return plan.replicas[0].stages.map((s) => s.nodeId).sort().join("");
  };
  const fast = pairOf({});
  const [x, y] = fast.split("");
  // the planner takes the larger direction: one end reporting the slow link is enough
  const slow = pairOf({ [x]: { [y]: 40 }, [y]: { [x]: 0.3 } });
  assert.notEqual(slow, fast, `the split stays on ${fast} across a 40 ms link`);
  assert.equal(pairOf({ [y]: { [x]: 40 } }), slow);
  // RTTs to members outside the plan's view (another model, the node itself) are ignored
  assert.equal(pairOf({ [x]: { [x]: 40, z: 40 } }), fast);
  // and so are differences under the floor: sub-millisecond jitter on one host moves nothing
  assert.equal(pairOf({ [x]: { [y]: 0.9 }, [y]: { [x]: 0.9 }, a: { b: 0.1, c: 0.1 }, b: { c: 0.1 } }), fast);
});
