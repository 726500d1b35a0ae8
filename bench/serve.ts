/**
 * Serving benchmark: aggregate decode tokens/s with 1, 4, 8 and 16 concurrent streams, time to first
 * token (p50/p99), and the HTTP server's overhead per token against the engine called directly — all on
 * the same model and backend, in the same run.
 *
 *   baseline  `generate()` alone (one sequence, no scheduler), then the scheduler with N concurrent
 *             sequences (no HTTP);
 *   server    the same N streams as SSE requests to the API, through a real socket on 127.0.0.1, from a
 *             client worker (bench/serve_client.ts) that only counts events: a client on the engine's
 *             thread would read only when the engine loop lets the event loop poll.
 *
 * overhead = (engine tokens/s ÷ server tokens/s − 1) at the same concurrency (target ≤ 5 %).
 * speedup  = server tokens/s at N streams ÷ server tokens/s at 1 stream (target ≥ 4× at 8 on the
 *            CPU backend, where decode is memory-bound; the reference backend re-reads the weights per row
 *            and shows only the amortised per-step costs).
 *
 *   deno task bench:serve [--model FILE] [--backend auto|reference|wasm|webgpu] [--streams 1,4,8,16]
 *                         [--tokens 128] [--rounds 1] [--reps 2] [--threads N] [--json FILE]
 *
 * The wasm backend runs on all cores but one by default (`--threads`): the client worker takes the
 * last, as a remote client would take none. With every core busy computing, the client's reads
 * preempted the engine's threads, whose steps wait for their slowest thread: measured on 2 cores,
 * 15–30 % "overhead" and first tokens after 100–600 ms that were the client's doing.
 *
 * Without --model it uses a synthetic llama with stories15M's shape (dim 288, 6 layers, ffn 768, F32,
 * 32000-token vocabulary), written to bench/out/ on first run.
 *
 * On the WebGPU backend the scheduler decodes GPU-resident (chunks of steps, one readback each; see
 * src/engine/gpu_chunk_decode.ts). The table then adds the same engine levels on a second scheduler
 * that reads the logits back every step (`gpuDecode: false`, the baseline) and their ratio, and the
 * readbacks and GPU submits per generated token of the server runs.
 */
import { parseArgs } from "node:util";
import { createApiHandler } from "../src/api/app.ts";
import { NodeState } from "../src/api/node_state.ts";
import { createServedModel } from "../src/api/served_model.ts";
import { createServeMetrics } from "../src/api/serve_metrics.ts";
import { type BackendChoice, createBackend } from "../src/backend/create_backend.ts";
import { generate } from "../src/engine/generate.ts";
import { type LoadedModel, loadModel } from "../src/engine/loaded_model.ts";
import { defaultSamplingParams } from "../src/engine/sampler.ts";
import type { ServedScheduler } from "../src/api/node_state.ts";
import { Scheduler } from "../src/engine/scheduler.ts";
import { openGguf } from "../src/gguf/mod.ts";
import { writeSyntheticModel } from "../src/model/synthetic_model.ts";
import { GgmlType } from "../src/quant/ggml_type.ts";
import { type ClientLevel, closedLoop, type LevelResult, promptText } from "./serve_client.ts";

const OUT_DIR = new URL("./out/", import.meta.url).pathname;
const VOCAB = new URL("../../shared/tokenizers/ggml-vocab-llama-spm.gguf", import.meta.url).pathname;
/** Context per sequence in the benchmark, tokens: prompt + completion fit easily. */
const CTX = 256;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string" },
    backend: { type: "string", default: "auto" },
    streams: { type: "string", default: "1,4,8,16" },
    tokens: { type: "string", default: "128" },
    rounds: { type: "string", default: "1" },
    reps: { type: "string", default: "2" },
    json: { type: "string" },
    threads: { type: "string" },
  },
});
const LEVELS = String(values.streams).split(",").map(Number).filter((n) => Number.isInteger(n) && n > 0);
const TOKENS = Number(values.tokens);
const ROUNDS = Number(values.rounds);
/** Each level is measured this many times, engine and server alternating; the best run of each counts,
 * which filters out other processes on a shared machine. */
const REPS = Number(values.reps);

async function defaultModel(): Promise<string> {
  const path = `${OUT_DIR}stories15m-shape-f32.gguf`;
  try {
    await Deno.stat(path);
  } catch {
    await Deno.mkdir(OUT_DIR, { recursive: true });
    const vocab = await openGguf(VOCAB);
    try {
      const spec = { arch: "llama", dim: 288, layers: 6, heads: 6, kvHeads: 6, ffn: 768, ctx: 512 } as const;
      await writeSyntheticModel({ ...spec, type: GgmlType.F32, seed: 1 }, vocab, path);
    } finally {
      vocab.close();
    }
  }
  return path;
}

/** Distinct short prompts, so no two streams are the same request. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** `run` with the scheduler's readbacks and submits per generated token over it. */
async function counted(scheduler: ServedScheduler, run: () => Promise<LevelResult>): Promise<LevelResult> {
  const before = scheduler.stats();
  const result = await run();
  const after = scheduler.stats();
  const generated = Math.max(1, (after.generatedTokens ?? 0) - (before.generatedTokens ?? 0));
  return {
    ...result,
    readbacksPerToken: ((after.readbacks ?? 0) - (before.readbacks ?? 0)) / generated,
    submitsPerToken: ((after.submits ?? 0) - (before.submits ?? 0)) / generated,
  };
}

const tps = (r: LevelResult) => r.tokens / r.seconds;

async function engineAlone(model: LoadedModel): Promise<number> {
  const prompt = model.tokenizer.encode(promptText(0));
  const run = generate(model, prompt, {
    maxTokens: TOKENS,
    sampling: { ...defaultSamplingParams(), temperature: 0 },
  });
  let count = 0;
  const start = performance.now();
  for await (const _ of run) count++;
  return count / ((performance.now() - start) / 1000);
}

function engineLevel(model: LoadedModel, scheduler: ServedScheduler, streams: number): Promise<LevelResult> {
  return closedLoop(streams, ROUNDS, async (i) => {
    const started = performance.now();
    const stream = scheduler.submit({
      prompt: model.tokenizer.encode(promptText(i)),
      maxTokens: TOKENS,
      sampling: { ...defaultSamplingParams(), temperature: 0 },
    });
    let ttftMs = NaN;
    let tokens = 0;
    for await (const _ of stream) {
      if (tokens === 0) ttftMs = performance.now() - started;
      tokens++;
    }
    return { tokens, ttftMs };
  });
}

/** The same streams as SSE requests from a client worker of its own (bench/serve_client.ts). */
function serverLevel(url: string, streams: number): Promise<LevelResult> {
  return new Promise((resolve, reject) => {
    client.onmessage = (event: MessageEvent<LevelResult | { error: string }>) => {
      if ("error" in event.data) reject(new Error(`client: ${event.data.error}`));
      else resolve(event.data);
    };
    client.postMessage({ url, streams, rounds: ROUNDS, tokens: TOKENS } satisfies ClientLevel);
  });
}

const modelPath = values.model ?? await defaultModel();
const maxStreams = Math.max(...LEVELS);
// the client worker gets a core of its own: on the few cores of an edge box, a client competing with
// every engine thread stalls the engine's parallel steps, which would count as server overhead
const threads = values.threads === undefined
  ? Math.max(1, (navigator.hardwareConcurrency ?? 2) - 1)
  : Number(values.threads);
const backend = await createBackend(values.backend as BackendChoice, { threads });
const model = await loadModel(modelPath, backend, {
  slots: maxStreams,
  ctx: CTX,
  maxBatch: Math.max(64, maxStreams),
});
const served = createServedModel(model, { id: "bench", queueSize: maxStreams, prefillChunk: 32 });
const handler = createApiHandler({
  state: NodeState.ready(served),
  metrics: createServeMetrics(() => served.scheduler.stats()),
  options: { apiKeys: [], maxBodyBytes: 1 << 20, defaultMaxTokens: TOKENS, retryAfterSeconds: 1 },
});
// the per-step baseline on the same model (run only while the served scheduler is idle: same KV slots)
const perStep = backend.name === "webgpu"
  ? new Scheduler(model, { queueSize: maxStreams, prefillChunk: 32, gpuDecode: false })
  : undefined;
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
const url = `http://127.0.0.1:${server.addr.port}`;
const client = new Worker(new URL("./serve_client.ts", import.meta.url), { type: "module" });

console.log(
  `serve bench: ${
    modelPath.slice(modelPath.lastIndexOf("/") + 1)
  } · backend ${backend.name} (${backend.description}) · ` +
    `${TOKENS} tokens per request · ${ROUNDS} request(s) per stream · best of ${REPS}\n`,
);
// warm-up: JIT the hot loops (single and batched) and the HTTP path, and touch every KV slot's pages
// once, so no level pays first-use costs the others don't
for (const streams of new Set([1, maxStreams])) {
  await engineLevel(model, served.scheduler, streams);
  await serverLevel(url, streams);
  if (perStep) await engineLevel(model, perStep, streams);
}

let alone = 0;
for (let rep = 0; rep < REPS; rep++) alone = Math.max(alone, await engineAlone(model));
const best = (a: LevelResult | undefined, b: LevelResult) => (a && tps(a) >= tps(b) ? a : b);
const rows: Array<{
  streams: number;
  engine: LevelResult;
  server: LevelResult;
  perStep?: LevelResult;
  ttftMs: number[];
}> = [];
for (const streams of LEVELS) {
  let engine: LevelResult | undefined;
  let viaServer: LevelResult | undefined;
  let baseline: LevelResult | undefined;
  const ttftMs: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    engine = best(engine, await engineLevel(model, served.scheduler, streams));
    if (perStep) baseline = best(baseline, await engineLevel(model, perStep, streams));
    const run = await counted(served.scheduler, () => serverLevel(url, streams));
    ttftMs.push(...run.ttftMs);
    viaServer = best(viaServer, run);
  }
  rows.push({
    streams,
    engine: engine!,
    server: viaServer!,
    perStep: baseline,
    ttftMs: ttftMs.sort((a, b) => a - b),
  });
}
await perStep?.close();
await served.scheduler.close();
client.terminate();
await server.shutdown();
model.close();

const one = rows.find((r) => r.streams === 1) ?? rows[0];
const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
console.log(`generate() alone, 1 sequence: ${f(alone)} tok/s\n`);
const gpuColumns = perStep
  ? " per-step engine tok/s | GPU-resident ÷ per-step | readbacks/token | submits/token |"
  : " readbacks/token |";
console.log(
  "| streams | engine tok/s | server tok/s | server overhead/token | speedup vs 1 stream | TTFT p50 ms | TTFT p99 ms |" +
    gpuColumns,
);
console.log(`| ---: | ---: | ---: | ---: | ---: | ---: | ---: |${" ---: |".repeat(perStep ? 4 : 1)}`);
for (const r of rows) {
  const overhead = (tps(r.engine) / tps(r.server) - 1) * 100;
  const io = r.perStep
    ? ` ${f(tps(r.perStep))} | ${f(tps(r.engine) / tps(r.perStep), 2)}× | ${
      f(r.server.readbacksPerToken!, 3)
    } | ${f(r.server.submitsPerToken!, 3)} |`
    : ` ${f(r.server.readbacksPerToken!, 3)} |`;
  console.log(
    `| ${r.streams} | ${f(tps(r.engine))} | ${f(tps(r.server))} | ${f(overhead)} % | ${
      f(tps(r.server) / tps(one.server), 2)
    }× | ` +
      `${f(percentile(r.ttftMs, 50))} | ${f(percentile(r.ttftMs, 99))} |` + io,
  );
}
console.log(
  `\nserver at 1 stream vs generate() alone: ${f((alone / tps(one.server) - 1) * 100)} % overhead per token`,
);

if (values.json) {
  await Deno.writeTextFile(
    values.json,
    JSON.stringify(
      {
        model: modelPath,
        backend: backend.name,
        tokensPerRequest: TOKENS,
        rounds: ROUNDS,
        reps: REPS,
        generateAloneTps: alone,
        levels: rows.map((r) => ({
          streams: r.streams,
          engineTps: tps(r.engine),
          serverTps: tps(r.server),
          ttftP50Ms: percentile(r.ttftMs, 50),
          ttftP99Ms: percentile(r.ttftMs, 99),
          perStepEngineTps: r.perStep ? tps(r.perStep) : undefined,
          readbacksPerToken: r.server.readbacksPerToken,
          submitsPerToken: r.server.submitsPerToken,
        })),
      },
      null,
      1,
    ) + "\n",
  );
}
