/**
 * Whole-model agreement on synthetic llama and qwen2 models (seeded random weights, quantised): fed the
 * reference engine's greedy tokens (teacher forcing), the WebGPU backend's logits stay within tolerance
 * of the reference's at every step of a 32-token run, and in f32 its greedy choice is the reference's
 * at every step. Random weights leave near-ties between logits, which is why the f16-KV variant is held
 * to its tolerance only, not to the token.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import type { Backend } from "../../../src/backend/backend.ts";
import { createReferenceBackend } from "../../../src/backend/reference/reference_backend.ts";
import { createWebGpuBackend } from "../../../src/backend/webgpu/webgpu_backend.ts";
import { openGguf } from "../../../src/gguf/mod.ts";
import { createWorkspace, type ForwardContext, forwardTokens } from "../../../src/model/forward.ts";
import { modelConfigFromGguf } from "../../../src/model/model_config.ts";
import { fullRange, loadModelWeights } from "../../../src/model/model_weights.ts";
import { type SyntheticModelSpec, writeSyntheticModel } from "../../../src/model/synthetic_model.ts";
import { GgmlType } from "../../../src/quant/ggml_type.ts";
import { firstMismatch } from "../conformance.ts";
import { testGpu } from "./gpu_test_device.ts";
import { argmax } from "./stories_model.ts";

const VOCAB_FILE = "../shared/tokenizers/ggml-vocab-llama-spm.gguf";
const STEPS = 32;
const PROMPT = [1, 450, 4996, 17354, 1701];
/** Logits tolerance (relative to their RMS): both sides read the same quantised weights, so only
 * f32-vs-f64 arithmetic differs — and f16 rounding of K and V in the f16 variant. */
const F32_LOGITS_TOLERANCE = 1e-4;
const F16_LOGITS_TOLERANCE = 5e-3;

const MODELS: readonly { label: string; spec: SyntheticModelSpec }[] = [
  {
    label: "llama Q4_0 (GQA)",
    spec: {
      arch: "llama",
      dim: 64,
      layers: 2,
      heads: 4,
      kvHeads: 2,
      ffn: 160,
      ctx: 64,
      type: GgmlType.Q4_0,
      seed: 3,
    },
  },
  {
    label: "qwen2 Q8_0 (biases, NeoX rope, tied head)",
    spec: {
      arch: "qwen2",
      dim: 64,
      layers: 2,
      heads: 4,
      kvHeads: 1,
      ffn: 96,
      ctx: 64,
      type: GgmlType.Q8_0,
      seed: 4,
      tied: true,
    },
  },
];

async function open(path: string, backend: Backend): Promise<ForwardContext> {
  const file = await openGguf(path);
  try {
    const cfg = modelConfigFromGguf(file.header);
    const weights = await loadModelWeights(file, backend, cfg, fullRange(cfg));
    const cache = backend.createKvCache({ layers: cfg.layers, slots: 1, ctx: 64, kvDim: cfg.kvDim });
    return { backend, cfg, weights, cache, ws: createWorkspace(backend, cfg, 8, 1) };
  } finally {
    file.close();
  }
}

/** Logits of each step when fed `tokens` (the prompt first, then one token per step). */
async function* teacherForced(ctx: ForwardContext, steps: number[][]): AsyncGenerator<Float32Array> {
  let pos = 0;
  for (const tokens of steps) {
    const n = tokens.length;
    const at = { slot: new Int32Array(n), pos: Int32Array.from({ length: n }, (_, i) => pos + i) };
    yield await ctx.backend.read(
      forwardTokens(ctx, Int32Array.from(tokens), at, Int32Array.of(n - 1)),
      ctx.cfg.vocab,
    );
    pos += n;
  }
}

const { device, skipReason } = await testGpu();
const dir = await Deno.makeTempDir({ prefix: "edgering-webgpu-" });
const files = new Map<SyntheticModelSpec, Promise<string>>();
const runs = new Map<string, Promise<{ steps: number[][]; expected: Float32Array[] }>>();

/** The synthetic model file of `spec`, written once per test process. */
function modelPath(spec: SyntheticModelSpec): Promise<string> {
  let path = files.get(spec);
  if (!path) {
    path = (async () => {
      const out = `${dir}/${spec.arch}-${spec.seed}.gguf`;
      const vocab = await openGguf(VOCAB_FILE);
      try {
        await writeSyntheticModel(spec, vocab, out);
      } finally {
        vocab.close();
      }
      return out;
    })();
    files.set(spec, path);
  }
  return path;
}

/** The reference's greedy run (it fixes the tokens both sides are fed) and its logits, once per model. */
function referenceRun(label: string, path: string): Promise<{ steps: number[][]; expected: Float32Array[] }> {
  let run = runs.get(label);
  if (!run) {
    run = (async () => {
      const reference = await open(path, createReferenceBackend());
      const steps: number[][] = [PROMPT];
      const expected: Float32Array[] = [];
      for await (const logits of teacherForced(reference, steps)) {
        expected.push(logits);
        if (steps.length < STEPS) steps.push([argmax(logits)]);
      }
      return { steps, expected };
    })();
    runs.set(label, run);
  }
  return run;
}

for (const { label, spec } of MODELS) {
  for (const f16 of [false, true]) {
    const reason = !device ? skipReason : f16 && !device.f16 ? "the adapter lacks shader-f16" : undefined;
    const name =
      `webgpu ${f16 ? "f16 KV" : "f32"} teacher-forced logits on synthetic ${label} match the reference` +
      (f16 ? "" : " and pick its tokens");
    Deno.test({
      name: reason ? `${name} (skipped: ${reason})` : name,
      ignore: reason !== undefined,
      async fn() {
        const path = await modelPath(spec);
        const { steps, expected } = await referenceRun(label, path);
        const gpu = await open(path, await createWebGpuBackend({ device, f16 }));
        try {
          let step = 0;
          for await (const logits of teacherForced(gpu, steps)) {
            const bad = firstMismatch(
              expected[step],
              logits,
              f16 ? F16_LOGITS_TOLERANCE : F32_LOGITS_TOLERANCE,
            );
            if (bad) {
              throw new Error(`step ${step}: logit ${bad.index} is ${bad.actual}, reference ${bad.expected}`);
            }
            if (!f16) assertEquals(argmax(logits), argmax(expected[step]), `step ${step}'s greedy token`);
            step++;
          }
          assertEquals(step, STEPS);
        } finally {
          gpu.backend.dispose();
        }
      },
    });
  }
}

globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
