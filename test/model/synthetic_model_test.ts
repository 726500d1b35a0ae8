/**
 * Synthetic llama and qwen2 models: written by make-model's generator, loaded back, and run.
 *
 * The quantised variants share the F32 model's random draws (same seed), so their logits must stay close
 * to the F32 model's: a check that every storage type loads and runs through the real forward pass.
 */
import {
  deepStrictEqual as assertEquals,
  notDeepStrictEqual as assertNotEquals,
  ok as assert,
  rejects,
} from "node:assert/strict";
import { createReferenceBackend } from "../../src/backend/reference/reference_backend.ts";
import { generate, prefill } from "../../src/engine/generate.ts";
import { loadModel } from "../../src/engine/loaded_model.ts";
import { openGguf } from "../../src/gguf/mod.ts";
import { modelConfigFromGguf } from "../../src/model/model_config.ts";
import { type SyntheticModelSpec, writeSyntheticModel } from "../../src/model/synthetic_model.ts";
import { GgmlType } from "../../src/quant/ggml_type.ts";

const dir = await Deno.makeTempDir({ prefix: "edgering-synthetic-" });
const VOCABS = {
  llama: "../shared/models/stories260K.gguf",
  qwen2: "../shared/tokenizers/ggml-vocab-gpt-2.gguf",
} as const;

async function makeModel(spec: SyntheticModelSpec): Promise<string> {
  const path = `${dir}/${spec.arch}-${GgmlType[spec.type]}-${spec.seed}.gguf`;
  const vocab = await openGguf(VOCABS[spec.arch]);
  try {
    await writeSyntheticModel(spec, vocab, path);
  } finally {
    vocab.close();
  }
  return path;
}

function relativeL2(a: Float32Array, b: Float32Array): number {
  let diff = 0, norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    norm += b[i] ** 2;
  }
  return Math.sqrt(diff / norm);
}

// Relative L2 distance of first-step logits to the F32 model's, per storage type.
const LOGIT_TOLERANCE: ReadonlyArray<[GgmlType, number]> = [
  [GgmlType.F16, 2e-3],
  [GgmlType.Q8_0, 2e-2],
  [GgmlType.Q4_0, 0.25],
];

for (const arch of ["llama", "qwen2"] as const) {
  const base = { arch, dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 96, ctx: 64, seed: 5 };

  Deno.test(`synthetic ${arch}: config round-trips through GGUF metadata`, async () => {
    const path = await makeModel({ ...base, type: GgmlType.F32 });
    const file = await openGguf(path);
    try {
      const cfg = modelConfigFromGguf(file.header);
      assertEquals([cfg.arch, cfg.dim, cfg.layers, cfg.heads, cfg.kvHeads, cfg.ffn, cfg.ctx], [
        arch,
        64,
        2,
        4,
        2,
        96,
        64,
      ]);
      assertEquals(cfg.qkvBias, arch === "qwen2");
      assertEquals(cfg.rope.neox, arch === "qwen2");
      assert(file.header.metadata.has("tokenizer.ggml.tokens"));
    } finally {
      file.close();
    }
  });

  Deno.test(`synthetic ${arch}: F16, Q8_0 and Q4_0 models generate and stay close to the F32 model`, async () => {
    const prompt = [1, 20, 30, 40, 50];
    const f32 = await loadModel(await makeModel({ ...base, type: GgmlType.F32 }), createReferenceBackend());
    const expected = await prefill(f32, prompt, 0);
    f32.close();
    for (const [type, tolerance] of LOGIT_TOLERANCE) {
      const model = await loadModel(await makeModel({ ...base, type }), createReferenceBackend());
      try {
        const logits = await prefill(model, prompt, 0);
        const error = relativeL2(logits, expected);
        assert(
          error > 0 && error < tolerance,
          `${GgmlType[type]}: relative L2 ${error} (allowed ${tolerance})`,
        );
        const ids: number[] = [];
        for await (const piece of generate(model, prompt, { maxTokens: 12, sampling: { temperature: 0 } })) {
          ids.push(piece.token);
        }
        assert(
          ids.length > 0 && ids.every((id) => id >= 0 && id < model.cfg.vocab),
          `${GgmlType[type]}: ${ids}`,
        );
      } finally {
        model.close();
      }
    }
  });
}

Deno.test("the same seed writes byte-identical models and another seed does not", async () => {
  const spec: SyntheticModelSpec = {
    arch: "llama",
    dim: 32,
    layers: 1,
    heads: 2,
    kvHeads: 1,
    ffn: 64,
    ctx: 32,
    type: GgmlType.Q8_0,
    seed: 3,
  };
  const a = await Deno.readFile(await makeModel(spec));
  const renamed = `${dir}/copy.gguf`;
  const vocab = await openGguf(VOCABS.llama);
  await writeSyntheticModel(spec, vocab, renamed);
  await writeSyntheticModel({ ...spec, seed: 4 }, vocab, `${dir}/other.gguf`);
  vocab.close();
  assertEquals(a, await Deno.readFile(renamed));
  assertNotEquals(a, await Deno.readFile(`${dir}/other.gguf`));
});

Deno.test("a spec with inconsistent shapes is refused with the field named", async () => {
  const vocab = await openGguf(VOCABS.llama);
  try {
    const bad: SyntheticModelSpec = {
      arch: "llama",
      dim: 30,
      layers: 1,
      heads: 4,
      kvHeads: 1,
      ffn: 64,
      ctx: 32,
      type: GgmlType.F32,
      seed: 1,
    };
    await rejects(
      () => writeSyntheticModel(bad, vocab, `${dir}/bad.gguf`),
      /--dim 30 is not a multiple of --heads 4/,
    );
  } finally {
    vocab.close();
  }
});

globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
