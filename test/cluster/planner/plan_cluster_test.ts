/**
 * Readable planner scenarios. The model in most of them is TinyLlama-sized: 22 layers of 50 MB and a
 * 130 MB embedding plus a 130 MB head, 1.36 GB in all.
 */
import assert from "node:assert/strict";
import {
  type ModelCost,
  type Plan,
  planCluster,
  PlannerError,
  type PlannerInput,
  type PlannerMember,
} from "../../../cluster/planner/mod.ts";
import { assertWellFormed, layersOf, node, uniformModel } from "./planner_fixtures.ts";

const MODEL = uniformModel(22, 50, 130);

function plan(
  members: PlannerMember[],
  options = {},
  model: ModelCost = MODEL,
  rttMs?: PlannerInput["rttMs"],
): Plan {
  const input = { epoch: 5, members, model, rttMs };
  const p = planCluster(input, options);
  assertWellFormed(p, input);
  return p;
}

const layout = (p: Plan) =>
  p.replicas.map((r) => r.stages.map((s) => `${s.nodeId}:${s.start}-${s.end}`).join(" > "));
const reasonOf = (p: Plan, id: string) => p.decisions.find((d) => d.nodeId === id)!.reason;

Deno.test("one fast GPU and two slow CPUs: the GPU holds the model and runs it alone", () => {
  const p = plan([node("gpu", 100, 8), node("cpu1", 10, 0.5), node("cpu2", 10, 0.5)]);
  assert.deepEqual(layout(p), ["gpu:0-22"]);
  assert.equal(p.epoch, 5);
  assert.equal(reasonOf(p, "gpu"), "stage");
  assert.equal(reasonOf(p, "cpu1"), "slower");
  assert.equal(reasonOf(p, "cpu2"), "slower");
  const r = p.replicas[0];
  assert.equal(r.latencyMs, r.costMs, "one stage: no hops, latency = cost");
  // it streams 22 layers and the head (1230 MB) per token; the embedding lookup reads one row
  assert.ok(Math.abs(r.costMs - 12.3) < 1e-3, `${r.costMs}: 1230 MB at 100 GB/s`);
});

Deno.test("one fast GPU and two slow CPUs that together hold the model: two replicas", () => {
  const p = plan([node("gpu", 100, 8), node("cpu1", 10, 0.8), node("cpu2", 10, 0.8)]);
  assert.deepEqual(layout(p).length, 2);
  assert.deepEqual(layout(p)[0], "gpu:0-22", "the fastest replica comes first");
  assert.deepEqual(p.replicas[1].stages.map((s) => s.nodeId).sort(), ["cpu1", "cpu2"]);
  assert.ok(Math.abs(p.tokensPerSec - p.replicas.reduce((s, r) => s + 1000 / r.costMs, 0)) < 1e-9);
});

Deno.test("the latency guard keeps a GPU alone rather than split it with half-speed CPUs", () => {
  const members = [node("gpu", 100, 8), node("cpu1", 50, 0.5), node("cpu2", 50, 0.5)];
  const guarded = plan(members);
  assert.deepEqual(layout(guarded), ["gpu:0-22"]);
  const unguarded = plan(members, { maxLatencyStretch: Infinity });
  assert.equal(unguarded.replicas[0].stages.length, 3, "without the guard the split wins on throughput");
  assert.ok(unguarded.tokensPerSec > guarded.tokensPerSec * 1.5);
  assert.ok(unguarded.replicas[0].latencyMs > guarded.replicas[0].latencyMs * 1.25, "…at a latency cost");
});

Deno.test("a model no node can hold alone is split with layers in proportion to speed", () => {
  const p = plan([node("a", 20, 0.8), node("b", 10, 0.8), node("c", 10, 0.8)]);
  assert.equal(p.replicas.length, 1);
  assert.equal(p.replicas[0].stages.length, 3);
  assert.ok(layersOf(p, "a") > layersOf(p, "b") + 3 && layersOf(p, "a") > layersOf(p, "c") + 3, layout(p)[0]);
  const r = p.replicas[0];
  assert.ok(r.stages.every((s) => s.computeMs <= r.bottleneckMs));
  assert.ok(r.bottleneckMs < 1360 / 40 * 1.15, `bottleneck ${r.bottleneckMs} near the ideal ${1360 / 40} ms`);
  assert.ok(Math.abs(r.latencyMs - (r.stages.reduce((s, x) => s + x.computeMs, 0) + r.hopsMs)) < 1e-9);
});

Deno.test("a busy node gets fewer layers than its equal but idle peers", () => {
  const idle = plan([node("a", 10, 0.6), node("b", 10, 0.6), node("c", 10, 0.6)]);
  const busy = plan([node("a", 10, 0.6), node("b", 10, 0.6, 0.5), node("c", 10, 0.6)]);
  assert.ok(layersOf(busy, "b") < layersOf(idle, "b"), `${layout(idle)} → ${layout(busy)}`);
  assert.ok(layersOf(busy, "b") < layersOf(busy, "a") && layersOf(busy, "b") < layersOf(busy, "c"));
});

Deno.test("members that cannot take part are left out with the reason", () => {
  const cases: Array<[string, PlannerMember, string]> = [
    ["too little memory for one layer", node("x", 10, 0.01), "no-memory"],
    ["too busy", node("x", 10, 4, 0.97), "too-busy"],
    ["a non-finite memory report", { ...node("x", 10, 4), memoryBytes: NaN }, "invalid-report"],
    ["a negative throughput", { ...node("x", 10, 4), bytesPerSec: -1 }, "invalid-report"],
    ["a load above 1", { ...node("x", 10, 4), load: 1.5 }, "invalid-report"],
  ];
  for (const [name, member, reason] of cases) {
    const p = plan([node("a", 10, 2), member]);
    assert.equal(reasonOf(p, "x"), reason, name);
    assert.deepEqual(layout(p), ["a:0-22"], name);
  }
});

Deno.test("nodes that each hold the model become single-node replicas", () => {
  const p = plan([node("a", 10, 2), node("b", 10, 2), node("c", 10, 2)]);
  assert.deepEqual(layout(p), ["a:0-22", "b:0-22", "c:0-22"]);
  assert.ok(Math.abs(p.tokensPerSec - 3 * 1000 / 123) < 1e-3);
});

Deno.test("four nodes that each hold half the model form two two-stage replicas", () => {
  const p = plan([node("a", 10, 0.8), node("b", 10, 0.8), node("c", 10, 0.8), node("d", 10, 0.8)]);
  assert.equal(p.replicas.length, 2);
  assert.ok(p.replicas.every((r) => r.stages.length === 2), layout(p).join(" | "));
});

Deno.test("with one replica allowed, nodes that each hold the model pipeline it: 2.4× the rate for 15% more latency", () => {
  const members = [node("a", 10, 2), node("b", 12, 2), node("c", 10, 2)];
  const p = plan(members, { maxReplicas: 1 });
  assert.equal(p.replicas.length, 1);
  assert.equal(p.replicas[0].stages.length, 3, layout(p)[0]);
  assert.ok(p.tokensPerSec > 2.4 * 1000 / 102.5, `${p.tokensPerSec} tokens/s`); // b alone: 102.5 ms
  assert.ok(p.replicas[0].latencyMs < 1.25 * 102.5);
  assert.deepEqual(
    layout(plan(members, { maxReplicas: 1, maxLatencyStretch: 1 })),
    ["b:0-22"],
    "the fastest alone",
  );
});

Deno.test("replicas past maxReplicas from separately planned groups are left out for that reason", () => {
  const p = plan([node("a", 10, 2), node("b", 12, 2), node("c", 10, 2)], {
    maxReplicas: 1,
    exactSearchNodes: 1,
  });
  assert.deepEqual(layout(p), ["b:0-22"]);
  assert.equal(reasonOf(p, "a"), "replica-limit");
  assert.equal(reasonOf(p, "c"), "replica-limit");
});

Deno.test("ties go to the smaller node id, whatever the input order", () => {
  const single = { maxReplicas: 1, maxLatencyStretch: 1 };
  assert.deepEqual(layout(plan([node("b", 10, 2), node("a", 10, 2)], single)), ["a:0-22"]);
  const split = plan([node("z", 10, 0.8), node("y", 10, 0.8)]);
  assert.equal(split.replicas[0].stages[0].nodeId, "y");
});

Deno.test("the stage order avoids slow links between nodes", () => {
  const far = 40, near = 0.2;
  // a > b > c > d, the order ties would give, crosses both slow links
  const rtt = { a: { b: far, c: near, d: near }, b: { c: near, d: near }, c: { d: far } };
  const p = plan(
    [node("a", 10, 0.45), node("b", 10, 0.45), node("c", 10, 0.45), node("d", 10, 0.45)],
    {},
    MODEL,
    rtt,
  );
  assert.equal(p.replicas[0].stages.length, 4);
  const ids = p.replicas[0].stages.map((s) => s.nodeId);
  const pairs = ids.map((id, i) => [id, ids[(i + 1) % ids.length]].sort().join("")); // the cycle, back to the first
  assert.ok(!pairs.includes("ab") && !pairs.includes("cd"), `order ${ids.join(" > ")}`);
  for (const s of p.replicas[0].stages) assert.ok(s.hopMs < 1, `${s.nodeId} hop ${s.hopMs} ms: ${layout(p)}`);
});

Deno.test("when no set of members holds the model the plan is empty and says why", () => {
  const p = plan([node("a", 10, 0.3), node("b", 10, 0.3)]);
  assert.deepEqual(p.replicas, []);
  assert.equal(p.tokensPerSec, 0);
  assert.equal(reasonOf(p, "a"), "no-pipeline");
  assert.match(p.decisions[0].detail, /1360\.0 MB/);
});

Deno.test("a split model with a tied head holds the embedding table on its first and last stages", () => {
  const tied = uniformModel(22, 50, 130, true);
  const p = plan([node("a", 10, 0.8), node("b", 10, 0.8)], {}, tied);
  const [first, last] = p.replicas[0].stages;
  assert.equal(first.weightBytes, (first.end - first.start) * 50e6 + 130e6);
  assert.equal(last.weightBytes, (last.end - last.start) * 50e6 + 130e6 + tied.outputNormBytes);
  const alone = plan([node("a", 10, 2)], {}, tied);
  assert.equal(
    alone.replicas[0].stages[0].weightBytes,
    22 * 50e6 + 130e6 + tied.outputNormBytes,
    "once when alone",
  );
});

Deno.test("f32 on the wire makes each hop slower than f16", () => {
  const members = [node("a", 10, 0.8), node("b", 10, 0.8)];
  const f16 = plan(members).replicas[0].stages[0].hopMs;
  const f32 = plan(members, { wireBytesPerValue: 4 }).replicas[0].stages[0].hopMs;
  assert.ok(Math.abs(f32 - f16 - (2048 * 2 / 125e6) * 1000) < 1e-9, `${f16} → ${f32}`);
});

Deno.test("a cluster larger than the exhaustive limit is planned in groups and every node gets a decision", () => {
  const members = Array.from({ length: 9 }, (_, i) => node(`n${i}`, 5 + i, 0.5));
  const t0 = performance.now();
  const p = plan(members);
  assert.ok(performance.now() - t0 < 2000);
  assert.equal(p.decisions.length, 9);
  assert.ok(p.replicas.length >= 2, layout(p).join(" | "));
});

Deno.test("caller mistakes throw PlannerError", () => {
  const cases: Array<[string, () => unknown]> = [
    ["duplicate ids", () => plan([node("a", 1, 1), node("a", 2, 2)])],
    [
      "a model with no layers",
      () => plan([node("a", 1, 1)], {}, { ...MODEL, layers: 0, layerBytes: [], layerFlops: [] }),
    ],
    [
      "per-layer arrays of the wrong length",
      () => plan([node("a", 1, 1)], {}, { ...MODEL, layerBytes: [1] }),
    ],
    ["a negative embedding", () => plan([node("a", 1, 1)], {}, { ...MODEL, embeddingBytes: -1 })],
    ["a latency stretch below 1", () => plan([node("a", 1, 1)], { maxLatencyStretch: 0.5 })],
    ["an exhaustive limit that would never finish", () => plan([node("a", 1, 1)], { exactSearchNodes: 20 })],
  ];
  for (const [name, fn] of cases) assert.throws(fn, PlannerError, name);
});
