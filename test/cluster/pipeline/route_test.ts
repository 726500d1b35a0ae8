/** Routes: addresses parsed, impossible routes named, and a planner replica turned into a route. */
import assert from "node:assert/strict";
import { planCluster } from "../../../cluster/planner/mod.ts";
import {
  parseAddress,
  PipelineConfigError,
  type PipelineRoute,
  routeFromReplica,
  routeProblem,
} from "../../../cluster/pipeline/mod.ts";
import { node, uniformModel } from "../planner/planner_fixtures.ts";

Deno.test("pipeline addresses parse as host:port or [v6]:port, anything else is a PipelineConfigError", () => {
  assert.deepEqual(parseAddress("127.0.0.1:7700"), { hostname: "127.0.0.1", port: 7700 });
  assert.deepEqual(parseAddress("[::1]:80"), { hostname: "::1", port: 80 });
  assert.deepEqual(parseAddress("gpu-box.lan:9"), { hostname: "gpu-box.lan", port: 9 });
  for (const bad of ["", "host", "host:0", "host:65536", ":80", "a:b:1", "[::1]", "h:-1"]) {
    assert.throws(() => parseAddress(bad), PipelineConfigError, bad);
  }
});

const stage = (nodeId: string, start: number, end: number, embedding: boolean, head: boolean) => ({
  nodeId,
  address: `${nodeId}:1`,
  start,
  end,
  embedding,
  head,
});

Deno.test("a route must cover the layers contiguously, embedding first and head last", () => {
  const ok: PipelineRoute = {
    epoch: 1,
    stages: [stage("a", 0, 2, true, false), stage("b", 2, 5, false, true)],
  };
  assert.equal(routeProblem(ok, 5), undefined);
  const cases: Array<[string, PipelineRoute, RegExp]> = [
    ["no stages", { epoch: 1, stages: [] }, /no stages/],
    [
      "a gap",
      { epoch: 1, stages: [stage("a", 0, 2, true, false), stage("b", 3, 5, false, true)] },
      /expected to start at 2/,
    ],
    ["short", { epoch: 1, stages: [stage("a", 0, 4, true, true)] }, /ends at layer 4, the model has 5/],
    ["head in the middle", {
      epoch: 1,
      stages: [stage("a", 0, 2, true, true), stage("b", 2, 5, false, true)],
    }, /head flag/],
    ["no embedding", { epoch: 1, stages: [stage("a", 0, 5, false, true)] }, /embedding flag/],
    ["bad epoch", { ...ok, epoch: -1 }, /epoch -1/],
    [
      "bad address",
      { epoch: 1, stages: [{ ...stage("a", 0, 5, true, true), address: "nowhere" }] },
      /not host:port/,
    ],
  ];
  for (const [name, route, pattern] of cases) assert.match(routeProblem(route, 5) ?? "", pattern, name);
});

Deno.test("a planner replica becomes a route with each node's gossip address, or none when one is unknown", () => {
  const plan = planCluster(
    {
      epoch: 4,
      members: [node("a", 10, 0.25), node("b", 10, 0.25), node("c", 10, 0.25)],
      model: uniformModel(6, 60, 20),
    },
  );
  const replica = plan.replicas[0];
  assert.ok(replica.stages.length > 1, "the memory caps force a split");
  const route = routeFromReplica(plan.epoch, replica, (id) => `${id}.lan:7700`)!;
  assert.equal(route.epoch, 4);
  assert.deepEqual(route.stages.map((s) => s.address), replica.stages.map((s) => `${s.nodeId}.lan:7700`));
  assert.equal(routeProblem(route, 6), undefined);
  assert.equal(
    routeFromReplica(plan.epoch, replica, (id) => (id === replica.stages[1].nodeId ? undefined : "x:1")),
    undefined,
  );
});
