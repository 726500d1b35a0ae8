/**
 * Finding and loading the model `edgering serve` serves.
 *
 * The model is resolved (--model, config, cache, default download) to a local GGUF file, then its
 * header alone decides how it is held: a node in a ring whose weights memory cannot hold the whole
 * model only opens the file and measures its throughput on the layers that fit, for the pipeline
 * stage the plan will give it; any other node loads the whole model and warms the backend with one
 * forward pass, so the first request does not pay for compiling kernels.
 */
import { createBackend } from "../backend/create_backend.ts";
import { probeLayerThroughput, type ThroughputProbe } from "../cluster_node/mod.ts";
import type { ServeConfig } from "../config/mod.ts";
import { prefill } from "../engine/generate.ts";
import { type LoadedModel, loadModel } from "../engine/loaded_model.ts";
import { type GgufFile, openGguf } from "../gguf/mod.ts";
import { modelConfigFromGguf } from "../model/model_config.ts";
import { Tokenizer } from "../tokenizer/mod.ts";
import { modelCostFromTensors, totalModelBytes } from "../../cluster/planner/mod.ts";
import { createProgressReporter, ModelStoreError, resolveModel } from "../model_store/mod.ts";
import type { PipelineModel } from "../pipeline_node/mod.ts";
import { UsageError } from "./cli_error.ts";
import { createLoadProgress } from "./load_progress.ts";
import type { CliIo } from "./verb.ts";

/** Share of the memory available at start offered for weights when --weights-memory is unset. */
const DEFAULT_WEIGHTS_MEMORY_SHARE = 0.8;

/** The model as this node serves it: loaded whole (`loaded`), or — in a ring, when it exceeds the
 * weights memory — only opened, for the pipeline stage the plan gives this node. */
export interface NodeModel extends PipelineModel {
  readonly source: string;
  /** undefined on a node that holds only a pipeline stage */
  readonly loaded?: LoadedModel;
  /** weight bytes of the whole model */
  readonly modelBytes: number;
  /** bytes offered for weights */
  readonly weightsMemory: number;
  /** the throughput score of a stage-only node, measured on the layers that fit its budget */
  readonly probe?: ThroughputProbe;
  close(): void;
}

/** Memory offered for weights: --weights-memory, else a share of what is available now, else the
 * whole model's weights. */
function weightsMemory(config: ServeConfig, modelBytes: number): number {
  if (config.weightsMemory !== undefined) return config.weightsMemory;
  try {
    return Math.round(Deno.systemMemoryInfo().available * DEFAULT_WEIGHTS_MEMORY_SHARE);
  } catch {
    return modelBytes;
  }
}

/**
 * Resolves the configured model and loads it as this node will serve it (see the module doc).
 * Resolution failures (a bad path, a failed download, a checksum mismatch) become one-line
 * {@link UsageError}s; `signal` aborts a download. The caller owns the result and must `close()` it.
 *
 * @example
 * ```ts
 * const model = await loadNodeModel(config, processIo(), "--model", AbortSignal.timeout(60_000), false);
 * try {
 *   console.log(model.source, model.modelBytes);
 * } finally {
 *   model.close();
 * }
 * ```
 */
export async function loadNodeModel(
  config: ServeConfig,
  io: CliIo,
  modelSource: string,
  signal: AbortSignal,
  inRing: boolean,
): Promise<NodeModel> {
  const log = (line: string) => io.stderr(`edgering: ${line}\n`);
  let reporter: ReturnType<typeof createProgressReporter> | undefined;
  let path: string;
  try {
    const env = Deno.env.toObject();
    const resolved = await resolveModel({
      model: config.model,
      modelSource,
      sha256: config.modelSha256,
      cacheDir: config.cacheDir,
      offline: config.offline,
      hfEndpoint: env.HF_ENDPOINT || undefined,
      log,
      signal,
      onProgress: (label) => {
        reporter = createProgressReporter(label, io.stderr, Deno.stderr.isTerminal());
        return reporter.onProgress;
      },
      onDownloadDone: () => reporter?.done(),
    });
    path = resolved.path;
  } catch (error) {
    if (error instanceof ModelStoreError) throw new UsageError(`serve: ${error.message}`);
    throw error;
  }
  // the header alone says whether the model fits: a node that cannot hold it loads only its stage
  const file = await openGguf(path);
  let stageOnly: NodeModel | undefined;
  try {
    const cfg = modelConfigFromGguf(file.header);
    const modelBytes = totalModelBytes(modelCostFromTensors(cfg, file.header.tensors));
    const memory = weightsMemory(config, modelBytes);
    if (inRing && memory < modelBytes) {
      const tokenizer = Tokenizer.fromMetadata(file.header.metadata);
      const probe = await probeLayerThroughput({
        file,
        cfg,
        tokenizer,
        backend: await createBackend(config.backend, { threads: config.threads }),
        budgetBytes: memory,
      });
      const backend = await createBackend(config.backend, { threads: config.threads });
      stageOnly = stageOnlyModel(path, file, tokenizer, backend, config, modelBytes, memory, probe);
    }
  } finally {
    if (!stageOnly) file.close();
  }
  if (stageOnly) return stageOnly;
  const backend = await createBackend(config.backend, { threads: config.threads });
  const progress = createLoadProgress(`weights → ${backend.name}`, io.stderr, Deno.stderr.isTerminal());
  const loaded = await loadModel(path, backend, {
    slots: config.slots,
    ctx: config.ctx,
    maxBatch: config.maxBatch,
    onProgress: progress.onProgress,
  }).finally(() => progress.done());
  // warm-up: one forward pass compiles kernels / JITs the hot loops before the first request
  const warmToken = loaded.tokenizer.bosId >= 0 ? loaded.tokenizer.bosId : 0;
  await prefill(loaded, [warmToken], 0);
  const modelBytes = totalModelBytes(modelCostFromTensors(loaded.cfg, loaded.file.header.tensors));
  return {
    source: loaded.source,
    file: loaded.file,
    cfg: loaded.cfg,
    tokenizer: loaded.tokenizer,
    backend: loaded.forward.backend,
    ctx: loaded.ctx,
    loaded,
    modelBytes,
    weightsMemory: weightsMemory(config, modelBytes),
    close: () => loaded.close(),
  };
}

function stageOnlyModel(
  source: string,
  file: GgufFile,
  tokenizer: Tokenizer,
  backend: Awaited<ReturnType<typeof createBackend>>,
  config: ServeConfig,
  modelBytes: number,
  memory: number,
  probe: ThroughputProbe,
): NodeModel {
  const cfg = modelConfigFromGguf(file.header);
  return {
    source,
    file,
    cfg,
    tokenizer,
    backend,
    ctx: Math.min(config.ctx ?? cfg.ctx, cfg.ctx),
    modelBytes,
    weightsMemory: memory,
    probe,
    close() {
      file.close();
      backend.dispose();
    },
  };
}
