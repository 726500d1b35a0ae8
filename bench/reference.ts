/**
 * Reference-engine benchmark: prompt and decode tokens/s of the plain-TypeScript backend on the real
 * stories260K model and the synthetic llama-110m preset (F32), against a plain-JS roofline probe measured
 * in the same run.
 *
 * The probe times an f32 multiply-add loop over a 64 MiB array the way the reference matmul reads its
 * weights; "probe bound" is the tokens/s the probe's speed would allow for the model's weight reads, so
 * the ratio shows how close the reference gets to what plain JS can do.
 *
 *   deno task bench                       (generates the llama-110m file into bench/out/ on first run)
 */
import { createReferenceBackend } from "../src/backend/reference/reference_backend.ts";
import { decodeStep, prefill } from "../src/engine/generate.ts";
import { loadModel } from "../src/engine/loaded_model.ts";
import { openGguf } from "../src/gguf/mod.ts";
import { SYNTHETIC_PRESETS, writeSyntheticModel } from "../src/model/synthetic_model.ts";
import { GgmlType } from "../src/quant/ggml_type.ts";

const OUT_DIR = new URL("./out/", import.meta.url).pathname;
const PROMPT_TOKENS = 32;
const DECODE_TOKENS = 16;

/** Multiply-adds per second of a plain-JS f32 dot product streaming a 64 MiB array. */
function probeMacsPerSecond(): number {
  const weights = new Float32Array(16 << 20).map((_, i) => (i % 7) * 0.01);
  const x = new Float32Array(4096).map((_, i) => i * 1e-3);
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const start = performance.now();
    let sum = 0;
    for (let off = 0; off < weights.length; off += x.length) {
      for (let c = 0; c < x.length; c++) sum += weights[off + c] * x[c];
    }
    const seconds = (performance.now() - start) / 1000;
    if (sum === 42) console.log(""); // keep the loop observable
    best = Math.max(best, weights.length / seconds);
  }
  return best;
}

async function ensureLlama110m(): Promise<string> {
  const path = `${OUT_DIR}llama-110m-f32.gguf`;
  try {
    await Deno.stat(path);
    return path;
  } catch {
    await Deno.mkdir(OUT_DIR, { recursive: true });
    const vocab = await openGguf(
      new URL("../../shared/tokenizers/ggml-vocab-llama-spm.gguf", import.meta.url).pathname,
    );
    await writeSyntheticModel(
      { ...SYNTHETIC_PRESETS["llama-110m"], type: GgmlType.F32, seed: 1 },
      vocab,
      path,
    );
    vocab.close();
    return path;
  }
}

interface Row {
  model: string;
  promptTps: number;
  decodeTps: number;
  boundTps: number;
}

async function measure(label: string, path: string, macsPerSecond: number): Promise<Row> {
  const model = await loadModel(path, createReferenceBackend(), { ctx: 256 });
  try {
    const prompt = Array.from({ length: PROMPT_TOKENS }, (_, i) => 1 + ((i * 37) % (model.cfg.vocab - 1)));
    const t0 = performance.now();
    await prefill(model, prompt, 0);
    const t1 = performance.now();
    for (let i = 0; i < DECODE_TOKENS; i++) await decodeStep(model, 1 + i, PROMPT_TOKENS + i, 0);
    const t2 = performance.now();
    const { dim, layers, kvDim, ffn, vocab, heads, headDim } = model.cfg;
    const macsPerToken = layers * (dim * heads * headDim * 2 + 2 * dim * kvDim + 3 * dim * ffn) + dim * vocab;
    return {
      model: label,
      promptTps: (PROMPT_TOKENS * 1000) / (t1 - t0),
      decodeTps: (DECODE_TOKENS * 1000) / (t2 - t1),
      boundTps: macsPerSecond / macsPerToken,
    };
  } finally {
    model.close();
  }
}

const macs = probeMacsPerSecond();
console.log(`plain-JS f32 probe: ${(macs / 1e9).toFixed(2)} GMAC/s`);
const rows = [
  await measure(
    "stories260K (F32)",
    new URL("../../shared/models/stories260K.gguf", import.meta.url).pathname,
    macs,
  ),
  await measure("llama-110m (F32)", await ensureLlama110m(), macs),
];
console.log("| model | prompt tok/s (32) | decode tok/s | probe bound tok/s | decode / bound |");
console.log("| --- | --- | --- | --- | --- |");
for (const r of rows) {
  console.log(
    `| ${r.model} | ${r.promptTps.toFixed(1)} | ${r.decodeTps.toFixed(2)} | ${r.boundTps.toFixed(2)} | ` +
      `${(r.decodeTps / r.boundTps).toFixed(2)}× |`,
  );
}
