/**
 * End-to-end CPU benchmark of the wasm backend (issue 3): decode and 128-token prefill tokens/s, peak RSS
 * and a memory-bandwidth roofline for the synthetic llama-110m and tinyllama-1.1b presets in F16, Q8_0
 * and Q4_0 with 1 and 2 threads, against llama.cpp's figures for the same files (bench/llama_cpp_figures.ts).
 *
 * Each case (preset, type, threads) runs in a child process — this file re-invoked with `--child` — since
 * a process's peak RSS only ever grows: the child loads the model, warms up (V8 tiers the wasm kernels up
 * while they run), times prefill and decode, reads its peak RSS (getrusage), then measures read-only
 * memory bandwidth inside wasm with the same threads and prints one JSON line. The probe runs last because
 * its 256 MiB buffer would otherwise count in the peak RSS.
 *
 * Roofline: decode reads every layer matrix, the output head and one embedding row per token, so it can
 * go no faster than (probe GB/s) ÷ (those bytes, as stored in the GGUF file; the wasm backend's
 * repacked Q4_0/Q8_0 rows hold the same bytes, reordered).
 *
 * Model files are generated on first use into bench/out/ (as `make-model --preset P --type T --seed 1`
 * would write them; tinyllama takes a minute or two per type) and reused after.
 *
 *   deno run --allow-read --allow-write --allow-run --allow-sys=loadavg bench/cpu.ts
 *     [--presets llama-110m,tinyllama-1.1b] [--types f16,q8_0,q4_0] [--threads 1,2] [--quick]
 */
import process from "node:process";
import { createWasmBackend } from "../src/backend/wasm/mod.ts";
import { decodeStep, prefill } from "../src/engine/generate.ts";
import { type LoadedModel, loadModel } from "../src/engine/loaded_model.ts";
import { type GgufTensorInfo, openGguf } from "../src/gguf/mod.ts";
import {
  SYNTHETIC_PRESETS,
  type SyntheticPresetName,
  writeSyntheticModel,
} from "../src/model/synthetic_model.ts";
import { GgmlType } from "../src/quant/ggml_type.ts";
import { LLAMA_CPP_SOURCE, llamaCppFigure } from "./llama_cpp_figures.ts";

const OUT_DIR = new URL("./out/", import.meta.url).pathname;
const ROOT_DIR = new URL("../", import.meta.url).pathname;
const VOCAB_PATH = new URL("../../shared/tokenizers/ggml-vocab-llama-spm.gguf", import.meta.url).pathname;
/** Seed of the synthetic weights (make-model's default, as issue 3's llama.cpp runs used). */
const MODEL_SEED = 1;

/** Prompt length of the prefill measurement (llama-bench -p 128). */
const PREFILL_TOKENS = 128;
/** Prompt before the timed decode tokens: decode speed at short context, like llama-bench -n. */
const DECODE_PROMPT_TOKENS = 4;
/** Context allocated per case, tokens: room for the prefill prompt and the decode runs. */
const CTX_TOKENS = 256;
/** Bytes the bandwidth probe streams: far beyond any L3 cache. */
const PROBE_BYTES = 256 * 1024 * 1024;
/** A child that has not answered by then is killed (tinyllama F16 at 1 thread needs ~1–2 min), ms. */
const CHILD_TIMEOUT_MS = 20 * 60 * 1000;
const MIB = 1024 * 1024;

/** Measurement sizes of a full and a `--quick` run. */
interface Plan {
  readonly decodeTokens: number;
  readonly decodeRuns: number;
  readonly prefillRuns: number;
  readonly probeRepeats: number;
}
const FULL_PLAN: Plan = { decodeTokens: 32, decodeRuns: 3, prefillRuns: 3, probeRepeats: 5 };
const QUICK_PLAN: Plan = { decodeTokens: 8, decodeRuns: 2, prefillRuns: 1, probeRepeats: 3 };

/** Weight types benchmarked, by their `--types` spelling. */
const BENCH_TYPES: Readonly<Record<string, GgmlType>> = {
  f16: GgmlType.F16,
  q8_0: GgmlType.Q8_0,
  q4_0: GgmlType.Q4_0,
};
const DEFAULT_THREADS = [1, 2];
const MAX_THREADS = 64;

/** A bad command-line flag. */
export class BenchArgsError extends Error {
  override name = "BenchArgsError";
}

/** One benchmark case. */
interface Case {
  readonly preset: SyntheticPresetName;
  /** key of BENCH_TYPES */
  readonly type: string;
  readonly threads: number;
}

/** What a child measures; sizes in bytes, speeds in tokens/s and GB/s (1e9 B/s), times in ms. */
interface CaseResult extends Case {
  readonly backend: string;
  readonly fileBytes: number;
  /** GGUF bytes one decode step reads: layer tensors + output head + one embedding row */
  readonly weightBytesPerToken: number;
  readonly loadMs: number;
  readonly decodeMedian: number;
  readonly decodeBest: number;
  readonly prefillMedian: number;
  readonly prefillBest: number;
  readonly peakRssBytes: number;
  /** wasm linear memory in use after the runs (weights as repacked, KV cache, scratch) */
  readonly wasmBytes: number;
  readonly probeGbps: number;
}

interface Failure extends Case {
  readonly error: string;
}

// ------------------------------------------------------------------------------------------------ flags

interface Args {
  readonly cases: Case[];
  readonly quick: boolean;
  /** set in a child: run the one case and print its JSON */
  readonly child: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const values = new Map<string, string>();
  let quick = false;
  let child = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--quick") quick = true;
    else if (arg === "--child") child = true;
    else if (/^--(presets|types|threads)(=|$)/.test(arg)) {
      const eq = arg.indexOf("=");
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === "") {
        throw new BenchArgsError(`${arg} needs a comma-separated list`);
      }
      values.set(arg.slice(2, eq >= 0 ? eq : undefined), value);
    } else {
      throw new BenchArgsError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  const list = (name: string, fallback: readonly string[]) =>
    values.has(name) ? values.get(name)!.split(",").map((s) => s.trim().toLowerCase()) : [...fallback];
  const presets = list("presets", Object.keys(SYNTHETIC_PRESETS));
  for (const p of presets) {
    if (!(p in SYNTHETIC_PRESETS)) {
      throw new BenchArgsError(
        `--presets: unknown preset ${JSON.stringify(p)} (known: ${Object.keys(SYNTHETIC_PRESETS)})`,
      );
    }
  }
  const types = list("types", Object.keys(BENCH_TYPES));
  for (const t of types) {
    if (!(t in BENCH_TYPES)) {
      throw new BenchArgsError(
        `--types: unknown type ${JSON.stringify(t)} (known: ${Object.keys(BENCH_TYPES)})`,
      );
    }
  }
  const threads = list("threads", DEFAULT_THREADS.map(String)).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
      throw new BenchArgsError(`--threads: ${JSON.stringify(s)} is not an integer in 1..${MAX_THREADS}`);
    }
    return n;
  });
  const cases: Case[] = [];
  for (const preset of presets) {
    for (const type of types) {
      for (const t of threads) cases.push({ preset: preset as SyntheticPresetName, type, threads: t });
    }
  }
  if (child && cases.length !== 1) throw new BenchArgsError("--child runs exactly one case");
  return { cases, quick, child };
}

// ------------------------------------------------------------------------------------------------ child

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function argmax(xs: Float32Array): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/**
 * Process-wide peak resident set, bytes: getrusage's ru_maxrss (needs no permission, whereas Deno gives
 * /proc/self/status only to --allow-all), or the largest RSS sampled where that is missing.
 */
let sampledPeakRss = 0;
function sampleRss(): void {
  sampledPeakRss = Math.max(sampledPeakRss, Deno.memoryUsage().rss);
}
function peakRss(): number {
  sampleRss();
  const maxRssKiB = process.resourceUsage().maxRSS;
  return Math.max(sampledPeakRss, Number.isFinite(maxRssKiB) ? maxRssKiB * 1024 : 0);
}

/** GGUF bytes one decode step reads: every layer tensor, the output head and one embedding row. */
function decodeWeightBytes(tensors: readonly GgufTensorInfo[]): number {
  const embedding = tensors.find((t) => t.name === "token_embd.weight");
  if (!embedding) throw new RangeError("model has no token_embd.weight");
  const head = tensors.find((t) => t.name === "output.weight") ?? embedding; // tied: the head is the embedding
  const layers = tensors.filter((t) => t.name.startsWith("blk.")).reduce((sum, t) => sum + t.byteSize, 0);
  return layers + head.byteSize + embedding.byteSize / (embedding.dims[1] ?? 1);
}

/** Deterministic prompt tokens that avoid the control ids 0–2 and rarely repeat. */
function promptTokens(count: number, vocab: number): number[] {
  return Array.from({ length: count }, (_, i) => 3 + ((i * 7919 + 13) % (vocab - 3)));
}

/** Tokens/s of `tokens` greedy decode steps after a short prompt. */
async function timeDecode(model: LoadedModel, tokens: number): Promise<number> {
  let logits = await prefill(model, promptTokens(DECODE_PROMPT_TOKENS, model.cfg.vocab), 0);
  const t0 = performance.now();
  for (let i = 0; i < tokens; i++) {
    logits = await decodeStep(model, argmax(logits), DECODE_PROMPT_TOKENS + i, 0);
  }
  return tokens / ((performance.now() - t0) / 1000);
}

/** Tokens/s of one 128-token prefill from position 0, in one batch. */
async function timePrefill(model: LoadedModel): Promise<number> {
  const prompt = promptTokens(PREFILL_TOKENS, model.cfg.vocab);
  const t0 = performance.now();
  await prefill(model, prompt, 0);
  return PREFILL_TOKENS / ((performance.now() - t0) / 1000);
}

async function runCase(c: Case, plan: Plan): Promise<CaseResult> {
  const path = modelPath(c);
  const fileBytes = (await Deno.stat(path)).size;
  const backend = await createWasmBackend({ threads: c.threads });
  const t0 = performance.now();
  const model = await loadModel(path, backend, { ctx: CTX_TOKENS, maxBatch: PREFILL_TOKENS });
  try {
    const loadMs = performance.now() - t0;
    sampleRss();
    // warm-up: every kernel the timed runs use, long enough for V8 to optimise them
    await timePrefill(model);
    await timeDecode(model, Math.min(plan.decodeTokens, 8));
    sampleRss();
    const prefills: number[] = [];
    for (let r = 0; r < plan.prefillRuns; r++) prefills.push(await timePrefill(model));
    const decodes: number[] = [];
    for (let r = 0; r < plan.decodeRuns; r++) decodes.push(await timeDecode(model, plan.decodeTokens));
    const peakRssBytes = peakRss();
    const wasmBytes = backend.memoryBytes;
    const probeGbps = backend.probeBandwidth(PROBE_BYTES, plan.probeRepeats, c.threads);
    return {
      ...c,
      backend: backend.description,
      fileBytes,
      weightBytesPerToken: decodeWeightBytes(model.file.header.tensors),
      loadMs,
      decodeMedian: median(decodes),
      decodeBest: Math.max(...decodes),
      prefillMedian: median(prefills),
      prefillBest: Math.max(...prefills),
      peakRssBytes,
      wasmBytes,
      probeGbps,
    };
  } finally {
    model.close();
  }
}

// ------------------------------------------------------------------------------------------------ parent

function modelPath(c: Case): string {
  return `${OUT_DIR}${c.preset}-${c.type}.gguf`;
}

/** Writes the case's synthetic model into bench/out/ unless it is there already. */
async function ensureModel(c: Case): Promise<void> {
  const path = modelPath(c);
  try {
    await Deno.stat(path);
    return;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.mkdir(OUT_DIR, { recursive: true });
  console.error(`writing ${path} (first run only)…`);
  const vocab = await openGguf(VOCAB_PATH);
  // written under a temporary name so an interrupted run leaves no truncated model behind
  const partial = `${path}.partial`;
  try {
    await writeSyntheticModel(
      { ...SYNTHETIC_PRESETS[c.preset], type: BENCH_TYPES[c.type], seed: MODEL_SEED },
      vocab,
      partial,
    );
    await Deno.rename(partial, path);
  } finally {
    vocab.close();
  }
}

/** Runs one case in a child process and parses the JSON line it prints last. */
async function spawnCase(c: Case, quick: boolean): Promise<CaseResult> {
  const args = [
    "run",
    "--allow-read",
    new URL(import.meta.url).pathname,
    "--child",
    `--presets=${c.preset}`,
    `--types=${c.type}`,
    `--threads=${c.threads}`,
    ...(quick ? ["--quick"] : []),
  ];
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT_DIR,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(CHILD_TIMEOUT_MS),
  }).output();
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" / ");
    throw new Error(`child exited with ${out.code}${out.signal ? ` (${out.signal})` : ""}: ${stderr}`);
  }
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as CaseResult;
}

/** The 1-minute load average when --allow-sys=loadavg grants it (other work on the cores skews figures). */
function loadAverage(): number | undefined {
  if (Deno.permissions.querySync({ name: "sys", kind: "loadavg" }).state !== "granted") return undefined;
  return Deno.loadavg()[0];
}

const fmt = (x: number, digits = 1) => x.toFixed(digits);
const ratio = (x: number, ref: number | undefined) => ref === undefined ? "–" : `${(x / ref).toFixed(2)}×`;
const typeName = (type: string) => GgmlType[BENCH_TYPES[type]];

const COLUMNS = [
  "model",
  "type",
  "thr",
  "file MiB",
  "peak RSS MiB",
  "RSS ÷ file",
  "wasm MiB",
  "probe GB/s",
  "decode tok/s (median / best)",
  "roofline tok/s",
  "% of roofline",
  "decode × llama.cpp",
  "prefill 128 tok/s (median / best)",
  "prefill × llama.cpp",
];

function tableRow(r: CaseResult | Failure): string {
  const head = [r.preset, typeName(r.type), String(r.threads)];
  if ("error" in r) {
    const cells = [...head, `failed: ${r.error.replaceAll("|", "/")}`];
    while (cells.length < COLUMNS.length) cells.push("");
    return `| ${cells.join(" | ")} |`;
  }
  const ref = llamaCppFigure(r.preset, typeName(r.type), r.threads);
  const roofline = (r.probeGbps * 1e9) / r.weightBytesPerToken;
  const cells = [
    ...head,
    fmt(r.fileBytes / MIB, 0),
    fmt(r.peakRssBytes / MIB, 0),
    fmt(r.peakRssBytes / r.fileBytes, 2),
    fmt(r.wasmBytes / MIB, 0),
    fmt(r.probeGbps),
    `${fmt(r.decodeMedian)} / ${fmt(r.decodeBest)}`,
    fmt(roofline),
    `${fmt((100 * r.decodeMedian) / roofline, 0)}%`,
    ratio(r.decodeMedian, ref?.decode),
    `${fmt(r.prefillMedian)} / ${fmt(r.prefillBest)}`,
    ratio(r.prefillMedian, ref?.prefill),
  ];
  return `| ${cells.join(" | ")} |`;
}

function printReport(results: readonly (CaseResult | Failure)[], plan: Plan, loads: readonly number[]): void {
  console.log(`\n| ${COLUMNS.join(" | ")} |`);
  console.log(`|${COLUMNS.map(() => "---").join("|")}|`);
  for (const r of results) console.log(tableRow(r));
  const ok = results.find((r): r is CaseResult => !("error" in r));
  const load = loads.length === 0
    ? ""
    : `1-minute load average before the cases: ${fmt(Math.min(...loads), 2)}–${fmt(Math.max(...loads), 2)}. `;
  console.log(
    `\nbackend: ${ok?.backend.replace(/, \d+ threads?$/, "") ?? "?"}. decode: median of ${plan.decodeRuns} ` +
      `run(s) of ${plan.decodeTokens} greedy tokens after a ${DECODE_PROMPT_TOKENS}-token prompt; prefill: ` +
      `median of ${plan.prefillRuns} run(s) of ${PREFILL_TOKENS} tokens in one batch; both after a warm-up.\n` +
      `roofline: probe GB/s (read-only, inside wasm, same process and threads, best of ${plan.probeRepeats}) ÷ ` +
      `GGUF bytes per decoded token (layer tensors + output head + one embedding row).\n` +
      `peak RSS: the child process's ru_maxrss before the probe, Deno itself included; wasm: linear memory ` +
      `in use (weights as repacked, KV cache for ${CTX_TOKENS} tokens, scratch).\n` +
      `llama.cpp: ${LLAMA_CPP_SOURCE}; its Q4_0 output head is Q6_K, ours Q4_0.\n` +
      `${load}The cores are shared with other work: figures are noisy, two-thread ones most.`,
  );
}

async function main(): Promise<void> {
  let args: Args;
  try {
    args = parseArgs(Deno.args);
  } catch (e) {
    if (!(e instanceof BenchArgsError)) throw e;
    console.error(`bench/cpu.ts: ${e.message}`);
    Deno.exit(2);
  }
  const plan = args.quick ? QUICK_PLAN : FULL_PLAN;
  if (args.child) {
    console.log(JSON.stringify(await runCase(args.cases[0], plan)));
    return;
  }
  const loads: number[] = [];
  const results: (CaseResult | Failure)[] = [];
  for (const c of args.cases) {
    const load = loadAverage();
    if (load !== undefined) loads.push(load);
    const label = `${c.preset} ${typeName(c.type)} ${c.threads}t (load ${load?.toFixed(2) ?? "?"})`;
    try {
      await ensureModel(c);
      const r = await spawnCase(c, args.quick);
      results.push(r);
      console.error(
        `${label}: decode ${fmt(r.decodeMedian)} tok/s, prefill ${fmt(r.prefillMedian)} tok/s, ` +
          `probe ${fmt(r.probeGbps)} GB/s, peak RSS ${fmt(r.peakRssBytes / MIB, 0)} MiB, ` +
          `load ${fmt(r.loadMs / 1000)} s`,
      );
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      results.push({ ...c, error });
      console.error(`${label}: failed: ${error}`);
    }
  }
  printReport(results, plan, loads);
}

if (import.meta.main) await main();
