import assert from "node:assert/strict";
import {
  bytesPerWeight,
  modelCostFromConfig,
  modelCostFromTensors,
  planCluster,
  PlannerError,
  totalModelBytes,
} from "../../../cluster/planner/mod.ts";
import { createReferenceBackend } from "../../../src/backend/reference/reference_backend.ts";
import { type LayerRange, loadModelWeights } from "../../../src/model/model_weights.ts";
import { GgufFile, memorySource } from "../../../src/gguf/mod.ts";
import { modelConfigFromGguf } from "../../../src/model/model_config.ts";
import { GgmlType } from "../../../src/quant/ggml_type.ts";

const file = await GgufFile.open(
  memorySource(await Deno.readFile("../shared/models/stories260K.gguf"), "stories260K"),
);
const cfg = modelConfigFromGguf(file.header);

Deno.test("bytes per weight follow the ggml block geometry", () => {
  const cases: Array<[GgmlType, number]> = [
    [GgmlType.F32, 4],
    [GgmlType.F16, 2],
    [GgmlType.Q8_0, 34 / 32],
    [GgmlType.Q4_0, 18 / 32],
    [GgmlType.Q4_K, 144 / 256],
  ];
  for (const [type, want] of cases) assert.equal(bytesPerWeight(type), want, GgmlType[type]);
  assert.throws(() => bytesPerWeight(99 as GgmlType), PlannerError);
});

Deno.test("the cost read from stories260K's tensor table accounts for every tensor byte", () => {
  const cost = modelCostFromTensors(cfg, file.header.tensors);
  const fileBytes = file.header.tensors.reduce((s, t) => s + t.byteSize, 0);
  assert.equal(totalModelBytes(cost), fileBytes);
  assert.equal(cost.layers, 5);
  assert.equal(cost.embeddingBytes, 512 * 64 * 4);
  assert.equal(cost.headBytes, 512 * 64 * 4, "stories260K has its own output.weight");
  assert.equal(cost.dim, 64);
});

Deno.test("the cost from hyper-parameters matches the tensor table for an all-F32 model", () => {
  const fromTensors = modelCostFromTensors(cfg, file.header.tensors, 100);
  const fromConfig = modelCostFromConfig(cfg, bytesPerWeight(GgmlType.F32), 100);
  assert.deepEqual(fromConfig, fromTensors);
  // one layer: q, o 64×64; k, v 64×32; gate, up, down 64×172; two norms of 64 (all f32)
  const weights = 2 * 64 * 64 + 2 * 64 * 32 + 3 * 64 * 172;
  assert.equal(fromConfig.layerBytes[0], weights * 4 + 2 * 64 * 4);
  assert.equal(fromConfig.layerFlops[0], 2 * weights + 4 * 8 * 8 * 100);
});

Deno.test("a quantised, tied model costs its block bytes and carries no separate head", () => {
  const cost = modelCostFromConfig({ ...cfg, tiedEmbeddings: true }, bytesPerWeight(GgmlType.Q8_0));
  assert.equal(cost.headBytes, 0);
  assert.equal(cost.embeddingBytes, 512 * 64 * (34 / 32));
  assert.ok(cost.tiedEmbeddings);
});

Deno.test("a tensor table with a layer missing, or past the layer count, is refused", () => {
  const withoutLayer2 = file.header.tensors.filter((t) => !t.name.startsWith("blk.2."));
  assert.throws(() => modelCostFromTensors(cfg, withoutLayer2), /layer 2/);
  assert.throws(() => modelCostFromTensors({ ...cfg, layers: 4 }, file.header.tensors), PlannerError);
  assert.throws(() => modelCostFromConfig(cfg, 0), PlannerError);
});

Deno.test("each planned stage of stories260K loads exactly the bytes the planner budgeted", async () => {
  const model = modelCostFromTensors(cfg, file.header.tensors);
  const half = Math.ceil(totalModelBytes(model) / 2) + 80_000; // no node holds it all: a forced split
  const members = ["a", "b", "c"].map((id) => ({
    id,
    backend: "wasm" as const,
    memoryBytes: half,
    bytesPerSec: 1e9,
    load: 0,
  }));
  const plan = planCluster({ epoch: 1, members, model }, { maxReplicas: 1 });
  const stages = plan.replicas[0].stages;
  assert.ok(stages.length >= 2, "the model is split");
  for (const stage of stages) {
    const range: LayerRange = stage; // a stage is the range loadModelWeights takes
    const weights = await loadModelWeights(file, createReferenceBackend(), cfg, range);
    assert.equal(weights.bytes, stage.weightBytes, `${stage.nodeId} ${stage.start}..${stage.end}`);
    assert.ok(weights.bytes <= half);
  }
});
