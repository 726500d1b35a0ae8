/**
 * Loading a layer range: a stage reads only its own tensors, and two stages chained by their hidden
 * state compute the same logits as the whole model on one node.
 */
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { createReferenceBackend } from "../../src/backend/reference/reference_backend.ts";
import { GgufFile, memorySource } from "../../src/gguf/mod.ts";
import {
  computeLogits,
  createWorkspace,
  embedTokens,
  type ForwardContext,
  forwardTokens,
  runLayers,
} from "../../src/model/forward.ts";
import { modelConfigFromGguf } from "../../src/model/model_config.ts";
import { type LayerRange, loadModelWeights } from "../../src/model/model_weights.ts";

const bytes = await Deno.readFile("../shared/models/stories260K.gguf");
const prompt = Int32Array.of(1, 403, 407, 261, 378);
const at = { slot: new Int32Array(prompt.length), pos: Int32Array.from(prompt.keys()) };
const last = Int32Array.of(prompt.length - 1);

async function stage(range: (layers: number) => LayerRange) {
  const source = memorySource(bytes, "stories260K");
  const file = await GgufFile.open(source);
  const cfg = modelConfigFromGguf(file.header);
  const backend = createReferenceBackend();
  const before = source.bytesRead;
  const weights = await loadModelWeights(file, backend, cfg, range(cfg.layers));
  const ctx: ForwardContext = {
    backend,
    cfg,
    weights,
    cache: backend.createKvCache({ layers: weights.layers.length, slots: 1, ctx: 16, kvDim: cfg.kvDim }),
    ws: createWorkspace(backend, cfg, 8, 1),
  };
  return { ctx, tensorBytesRead: source.bytesRead - before };
}

Deno.test("a stage reads only the tensors of its layer range", async () => {
  const whole = await stage((layers) => ({ start: 0, end: layers, embedding: true, head: true }));
  const middle = await stage(() => ({ start: 2, end: 3, embedding: false, head: false }));
  assertEquals(whole.tensorBytesRead, whole.ctx.weights.bytes);
  // one of five layers, no embedding, no head
  const layerBytes = whole.ctx.weights.bytes - 2 * 64 * 512 * 4 - 64 * 4;
  assertEquals(middle.tensorBytesRead, layerBytes / 5);
  assertEquals(middle.ctx.weights.tokenEmbedding, undefined);
});

Deno.test("two chained stages compute the same logits as the whole model", async () => {
  const whole = await stage((layers) => ({ start: 0, end: layers, embedding: true, head: true }));
  const expected = await whole.ctx.backend.read(forwardTokens(whole.ctx, prompt, at, last), 512);

  const first = await stage(() => ({ start: 0, end: 2, embedding: true, head: false }));
  const second = await stage((layers) => ({ start: 2, end: layers, embedding: false, head: true }));
  embedTokens(first.ctx, prompt);
  runLayers(first.ctx, prompt.length, at);
  const hidden = await first.ctx.backend.read(first.ctx.ws.x, prompt.length * 64);
  second.ctx.backend.write(second.ctx.ws.x, hidden);
  runLayers(second.ctx, prompt.length, at);
  const logits = await second.ctx.backend.read(computeLogits(second.ctx, last), 512);
  assertEquals(logits, expected);
});

Deno.test("a layer range outside the model is refused", async () => {
  const file = await GgufFile.open(memorySource(bytes));
  const cfg = modelConfigFromGguf(file.header);
  await rejects(
    () =>
      loadModelWeights(file, createReferenceBackend(), cfg, {
        start: 3,
        end: 9,
        embedding: false,
        head: true,
      }),
    /layer range 3..9 outside the model's 5 layers/,
  );
  assert(cfg.layers === 5);
});
