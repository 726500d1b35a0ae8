/**
 * WebGPU benchmark: prefill and decode tokens/s of the WebGPU backend, its host structure per generated
 * token (dispatches, submits, readbacks, readback bytes, host recording time) and the achieved weight
 * bandwidth against a copy-kernel roofline measured on the same adapter in the same run.
 *
 * Decode runs the GPU-resident loop (src/backend/webgpu/gpu_decode.ts): greedy sampling on the GPU,
 * one readback per chunk. Bandwidth counts the bytes one decode step must read: every layer weight, the
 * output head, and the KV cache up to the position (the embedding contributes one row).
 *
 * Steady state: the first chunk carries the loop's own prefill and is short (the first tokens stream
 * early), and the second is recorded before any step was timed; the host-structure figures per step
 * (dispatches, submits, readbacks, bind groups and pipelines created) count only the chunks recorded
 * after the first chunk arrived — each of those chunks is one readback for its tokens — and, for
 * readbacks and submits, leave out the run's last chunk when the token budget cut it short. The whole
 * run's readbacks per token (first and last chunks included) are printed beside them.
 *
 * `--fusion both` adds a row per model with the FFN unfused (matmul gate, matmul up, silu·mul: the
 * path of backends without `gateUpSilu`), measured in the same run, to show what the fused kernel buys.
 *
 *   deno task bench:gpu                                   (every preset × F16, Q8_0, Q4_0)
 *   deno task bench:gpu --presets llama-110m --types q4_0 --prompt 16 --decode 48 --fusion both
 *
 * Synthetic model files are written into bench/out/ on first use (tinyllama-1.1b takes minutes and
 * ~0.6–2.2 GB). On a software adapter (llvmpipe/lavapipe) the figures only show that the path works.
 */
import { parseArgs } from "node:util";
import { createWebGpuBackend, type WebGpuBackend } from "../src/backend/webgpu/webgpu_backend.ts";
import type { Weight } from "../src/backend/backend.ts";
import { decodeOnGpu } from "../src/backend/webgpu/gpu_decode.ts";
import type { GpuWeight } from "../src/backend/webgpu/gpu_resources.ts";
import type { GpuStats } from "../src/backend/webgpu/recorder.ts";
import { openGguf } from "../src/gguf/mod.ts";
import {
  computeLogits,
  createWorkspace,
  embedTokens,
  type ForwardContext,
  runLayers,
} from "../src/model/forward.ts";
import { modelConfigFromGguf } from "../src/model/model_config.ts";
import { fullRange, loadModelWeights } from "../src/model/model_weights.ts";
import {
  SYNTHETIC_PRESETS,
  SYNTHETIC_TYPES,
  type SyntheticPresetName,
  writeSyntheticModel,
} from "../src/model/synthetic_model.ts";

const OUT_DIR = new URL("./out/", import.meta.url).pathname;
const VOCAB_FILE = new URL("../../shared/tokenizers/ggml-vocab-llama-spm.gguf", import.meta.url).pathname;
/** Bytes the roofline copy moves per pass (capped by the adapter's binding limit). */
const COPY_BYTES = 128 << 20;
/** The roofline timing runs until at least this long, so Deno's ~10 ms readback floor is amortised. */
const MIN_PROBE_MS = 300;
/** Tokens arriving less than this apart came from one chunk's readback, ms. */
const BURST_GAP_MS = 0.5;

const args = parseArgs({
  args: Deno.args,
  options: {
    presets: { type: "string", default: Object.keys(SYNTHETIC_PRESETS).join(",") },
    types: { type: "string", default: "f16,q8_0,q4_0" },
    prompt: { type: "string", default: "64" },
    decode: { type: "string", default: "64" },
    f32: { type: "boolean", default: false },
    fusion: { type: "string", default: "on" },
  },
});
const FUSION_CHOICES = ["on", "off", "both"];
if (!FUSION_CHOICES.includes(args.values.fusion)) {
  throw new Error(`--fusion must be one of ${FUSION_CHOICES.join(", ")}, got ${args.values.fusion}`);
}

/** Read+write bandwidth of the copy kernel, bytes/s. */
async function copyRoofline(b: WebGpuBackend, maxBinding: number): Promise<number> {
  const length = Math.min(COPY_BYTES, maxBinding) / 4;
  const src = b.alloc(length);
  const dst = b.alloc(length);
  b.copyTensor(dst, src, length);
  await b.read(dst, 4); // warm: pipeline compiled, pages touched
  let passes = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < passes; i++) b.copyTensor(i % 2 ? src : dst, i % 2 ? dst : src, length);
    await b.read(dst, 4);
    const ms = performance.now() - t0;
    if (ms >= MIN_PROBE_MS || passes >= 1 << 12) return (2 * length * 4 * passes) / (ms / 1000);
    passes *= 2;
  }
}

async function modelFile(preset: SyntheticPresetName, type: string): Promise<string> {
  const path = `${OUT_DIR}${preset}-${type}.gguf`;
  try {
    await Deno.stat(path);
  } catch {
    await Deno.mkdir(OUT_DIR, { recursive: true });
    console.error(`writing ${path} …`);
    const vocab = await openGguf(VOCAB_FILE);
    try {
      await writeSyntheticModel(
        { ...SYNTHETIC_PRESETS[preset], type: SYNTHETIC_TYPES[type], seed: 1 },
        vocab,
        path,
      );
    } finally {
      vocab.close();
    }
  }
  return path;
}

/** Host structure of steady-state decode, per step (= per generated token: nothing stops the run). */
interface PerStep {
  readonly dispatches: number;
  readonly submits: number;
  readonly readbacks: number;
  readonly readbackBytes: number;
  /** bind groups plus pipelines created over the whole steady-state window (0: none per token) */
  readonly created: number;
  /** steps the window counts */
  readonly steps: number;
}

interface Row {
  readonly model: string;
  readonly prefillTps: number;
  readonly decodeTps: number;
  readonly steady: PerStep;
  /** readbacks per generated token over the whole run, first chunk (with its prefill) included */
  readonly runReadbacks: number;
  readonly hostMs: number;
  readonly gbps: number;
}

/** Bytes one decode step reads at `position`: weights (one embedding row) plus the KV cache so far. */
function stepBytes(ctx: ForwardContext, backend: WebGpuBackend, position: number): number {
  const { cfg, weights } = ctx;
  const bytesOf = (w: Weight | undefined) =>
    (w as GpuWeight | undefined)?.chunks
      .reduce((sum, c) => sum + c.buf.buffer.size, 0) ?? 0;
  let total = weights.layers.reduce(
    (sum, l) => sum + Object.values(l).reduce((s, w) => s + bytesOf(w), 0),
    0,
  );
  total += bytesOf(weights.output) + bytesOf(weights.outputNorm);
  total += bytesOf(weights.tokenEmbedding) / cfg.vocab;
  total += 2 * cfg.layers * position * cfg.kvDim * (backend.f16 ? 2 : 4);
  return total;
}

async function measure(
  label: string,
  path: string,
  b: WebGpuBackend,
  prompt: number,
  decode: number,
): Promise<Row> {
  const file = await openGguf(path);
  let ctx: ForwardContext;
  try {
    const cfg = modelConfigFromGguf(file.header);
    const weights = await loadModelWeights(file, b, cfg, fullRange(cfg));
    const ctxLen = prompt + decode + 8;
    const cache = b.createKvCache({ layers: cfg.layers, slots: 1, ctx: ctxLen, kvDim: cfg.kvDim });
    ctx = { backend: b, cfg, weights, cache, ws: createWorkspace(b, cfg, prompt, 1) };
  } finally {
    file.close();
  }
  const ids = Array.from({ length: prompt }, (_, i) => 1 + ((i * 37) % (ctx.cfg.vocab - 1)));
  const at = { slot: new Int32Array(prompt), pos: Int32Array.from(ids.keys()) };
  // warm-up compiles every pipeline and creates every bind group
  for await (const _ of decodeOnGpu(ctx, ids.slice(0, 4), { maxTokens: 4 }));

  const t0 = performance.now();
  embedTokens(ctx, Int32Array.from(ids));
  runLayers(ctx, prompt, at);
  await b.read(computeLogits(ctx, Int32Array.of(prompt - 1)), ctx.cfg.vocab);
  const prefillMs = performance.now() - t0;

  // host recording cost of one decode step (recorded, then submitted with a read)
  const h0 = performance.now();
  embedTokens(ctx, Int32Array.of(1));
  runLayers(ctx, 1, { slot: Int32Array.of(0), pos: Int32Array.of(prompt) });
  const logits = computeLogits(ctx, Int32Array.of(0));
  const hostMs = performance.now() - h0;
  await b.read(logits, 1);

  // Tokens arrive chunk by chunk; a chunk's tokens are yielded together, while the readback counter
  // already counts the chunk launched before they were awaited, so it tells the chunks apart. At the
  // first arrival chunk 2 is recorded: the window from there to the end holds chunks 3.. exactly.
  const before = { ...b.stats };
  const arrivals: { at: number; chunk: number }[] = [];
  let window: GpuStats | undefined;
  for await (const _ of decodeOnGpu(ctx, ids, { maxTokens: decode })) {
    window ??= { ...b.stats };
    arrivals.push({ at: performance.now(), chunk: b.stats.readbacks });
  }
  const s = b.stats;
  const generated = arrivals.length;
  const first = arrivals[0];
  const secondChunk = arrivals.find((a) => a.chunk > first.chunk)?.chunk ?? Infinity;
  const steps = arrivals.filter((a) => a.chunk > secondChunk).length;
  const w = window ?? s;
  const per = (v: number) => (steps > 0 ? v / steps : NaN);
  // The run's last chunk is cut to the tokens left in the budget: a run-end effect, not steady state.
  // Readbacks and submits (one each per chunk) are counted per step without it when the window has
  // another chunk; dispatches are per step whatever the chunk length.
  // Its tokens are the last burst of arrivals (a chunk's tokens are yielded back to back; chunks are
  // a chunk's GPU time apart), and the readback counter cannot tell it from the one before (no chunk is
  // launched after it).
  let lastSteps = 1;
  while (
    lastSteps < generated &&
    arrivals[generated - 1 - lastSteps + 1].at - arrivals[generated - 1 - lastSteps].at < BURST_GAP_MS
  ) lastSteps++;
  const perChunkOp = (v: number) => (v > 1 && steps > lastSteps ? (v - 1) / (steps - lastSteps) : per(v));
  // decode rate: tokens after the first chunk, over the time since it arrived
  const later = arrivals.filter((a) => a.chunk > first.chunk).length;
  const decodeMs = arrivals[generated - 1].at - first.at;
  return {
    model: label,
    prefillTps: (prompt * 1000) / prefillMs,
    decodeTps: (later * 1000) / decodeMs,
    steady: {
      dispatches: per(s.dispatches - w.dispatches),
      submits: perChunkOp(s.submits - w.submits),
      readbacks: perChunkOp(s.readbacks - w.readbacks),
      readbackBytes: per(s.readbackBytes - w.readbackBytes),
      created: s.bindGroupsCreated - w.bindGroupsCreated + s.pipelinesCreated - w.pipelinesCreated,
      steps,
    },
    runReadbacks: (s.readbacks - before.readbacks) / generated,
    hostMs,
    gbps: (stepBytes(ctx, b, prompt + decode / 2) * later) / (decodeMs / 1000) / 1e9,
  };
}

/** Hides the backend's fused gate/up op, so the forward pass runs matmul, matmul, siluMul. */
function unfused(b: WebGpuBackend): WebGpuBackend {
  Object.defineProperty(b, "gateUpSilu", { value: undefined });
  return b;
}

const prompt = Number(args.values.prompt);
const decode = Number(args.values.decode);
const backend = await createWebGpuBackend({ allowFallback: true, f16: args.values.f32 ? false : undefined });
console.log(`adapter: ${backend.description}`);
if (backend.isFallback) console.log("software adapter: the figures below only show that the path works");
const roofline = await copyRoofline(backend, backend.limits.maxStorageBufferBindingSize);
console.log(`copy-kernel roofline: ${(roofline / 1e9).toFixed(2)} GB/s (read + write)`);
const rows: Row[] = [];
for (const preset of args.values.presets.split(",")) {
  if (!(preset in SYNTHETIC_PRESETS)) throw new Error(`unknown preset ${preset}`);
  for (const type of args.values.types.split(",")) {
    if (!(type in SYNTHETIC_TYPES)) throw new Error(`unknown type ${type}`);
    const path = await modelFile(preset as SyntheticPresetName, type);
    const variants = args.values.fusion === "both" ? [true, false] : [args.values.fusion === "on"];
    for (const fused of variants) {
      const model = await createWebGpuBackend({ allowFallback: true, f16: backend.f16 });
      const label = `${preset} ${type.toUpperCase()}${fused ? "" : " unfused FFN"}`;
      try {
        rows.push(await measure(label, path, fused ? model : unfused(model), prompt, decode));
      } finally {
        model.dispose();
      }
    }
  }
}
backend.dispose();
console.log(
  `| model | prefill tok/s (${prompt}) | decode tok/s | dispatches/step | submits/step | ` +
    "readbacks/tok steady (whole run) | steps/chunk | readback B/tok | GPU objects created per step | " +
    "host ms/step | GB/s | of roofline |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
/** A figure, or a dash when the run had no steady-state chunk (--decode too short). */
const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : "–");
for (const r of rows) {
  const p = r.steady;
  console.log(
    `| ${r.model} | ${r.prefillTps.toFixed(1)} | ${r.decodeTps.toFixed(2)} | ${fixed(p.dispatches, 0)} | ` +
      `${fixed(p.submits, 3)} | ${fixed(p.readbacks, 3)} (${r.runReadbacks.toFixed(3)}) | ` +
      `${fixed(1 / p.readbacks, 1)} | ` +
      `${fixed(p.readbackBytes, 0)} | ${p.created} in ${p.steps} | ${r.hostMs.toFixed(2)} | ` +
      `${r.gbps.toFixed(2)} | ${((100 * r.gbps * 1e9) / roofline).toFixed(1)}% |`,
  );
}
console.log(
  "steady state: the chunks recorded after the first chunk arrived (see the header); " +
    "budget ≤ 1 submit per step, ≤ 0.125 readbacks per token, 0 GPU objects created per step. Chunks are " +
    "sized by chunk_size.ts: slow steps (a software adapter) shorten them to about MAX_CHUNK_MS of GPU time",
);
