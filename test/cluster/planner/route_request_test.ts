import assert from "node:assert/strict";
import { planCluster, routeRequest } from "../../../cluster/planner/mod.ts";
import { node, uniformModel } from "./planner_fixtures.ts";

const MODEL = uniformModel(22, 50, 130);
// gpu alone (12.3 ms/token) and a two-CPU pipeline (~64 ms/token)
const PLAN = planCluster({
  epoch: 1,
  members: [node("gpu", 100, 8), node("cpu1", 10, 0.8), node("cpu2", 10, 0.8)],
  model: MODEL,
});

Deno.test("routing sends a request to the replica expected to finish it first", () => {
  assert.equal(PLAN.replicas.length, 2);
  const [gpu, cpu] = PLAN.replicas;
  const cases: Array<[string, Record<string, number>, number]> = [
    ["all idle: the fast replica", {}, 0],
    ["a few queued on the GPU: still the GPU", { gpu: 3 }, 0],
    ["the GPU deeply queued: the CPU pipeline", { gpu: 20 }, 1],
    ["both queued: the busiest stage of the pipeline counts", { gpu: 20, cpu1: 0, cpu2: 5 }, 0],
  ];
  for (const [name, depths, want] of cases) {
    const route = routeRequest(PLAN, depths)!;
    assert.equal(route.replica, want, name);
    const r = PLAN.replicas[want];
    const depth = Math.max(...r.stages.map((s) => depths[s.nodeId] ?? 0));
    assert.equal(route.expectedMs, r.latencyMs + depth * r.costMs, name);
  }
  assert.ok(gpu.latencyMs + 20 * gpu.costMs > cpu.latencyMs);
});

Deno.test("live depths may come as a Map; unknown or invalid ones fall back to the planned depth", () => {
  assert.equal(routeRequest(PLAN, new Map([["gpu", 20]]))!.replica, 1);
  assert.equal(routeRequest(PLAN, new Map([["gpu", NaN]]))!.replica, 0);
  assert.equal(routeRequest(PLAN, { gpu: -4 })!.replica, 0);
  const planned = planCluster({
    epoch: 1,
    members: [{ ...node("gpu", 100, 8), queueDepth: 30 }, node("cpu1", 10, 0.8), node("cpu2", 10, 0.8)],
    model: MODEL,
  });
  assert.equal(routeRequest(planned)!.replica, 1, "the depth gossip reported at planning time");
  assert.equal(routeRequest(planned, { gpu: 0 })!.replica, 0, "a live depth overrides it");
});

Deno.test("equal replicas split ties toward the lower index; an empty plan routes nowhere", () => {
  const twins = planCluster({ epoch: 1, members: [node("a", 10, 2), node("b", 10, 2)], model: MODEL });
  assert.equal(routeRequest(twins)!.replica, 0);
  assert.equal(routeRequest(twins, { a: 1 })!.replica, 1);
  const none = planCluster({ epoch: 1, members: [node("a", 10, 0.1)], model: MODEL });
  assert.equal(routeRequest(none), undefined);
});
