/**
 * `edgering serve`: a node with an OpenAI-compatible API.
 *
 * Order of events: read the config (flags > EDGERING_* > --config TOML > defaults) → bind the port (so
 * `/health` answers "loading" during a download) → find the model (--model, config, cache, default
 * download) → load it and warm the backend with one forward pass → "ready" and one log line with
 * address, model, backend and memory. SIGINT/SIGTERM: `/health` and new requests say 503 "draining",
 * running streams get `graceSeconds` to finish, then are cancelled; the process exits 0. A second
 * signal skips the grace.
 *
 * Unless `--no-cluster`, the node is also a member of a gossip ring (`src/cluster_node/`): the gossip
 * port is bound right after the API port (a port in use fails at once, before any model loading),
 * seeds are joined in the background, the capabilities are re-announced once the model is loaded and
 * its throughput measured, and the join command of a new ring is printed after the "serving" line.
 * On shutdown the node leaves the ring while it drains.
 */
import denoConfig from "../../deno.json" with { type: "json" };
import { createApiHandler } from "../api/app.ts";
import { NodeState } from "../api/node_state.ts";
import { createServedModel, modelIdFromPath } from "../api/served_model.ts";
import type { ServedModel } from "../api/node_state.ts";
import { createServeMetrics } from "../api/serve_metrics.ts";
import { createBackend } from "../backend/create_backend.ts";
import {
  ClusterConfigError,
  ClusterNode,
  type ClusterSettings,
  ClusterStartError,
  formatRate,
  type HostFacts,
  joinHostPort,
  type PipelineStatus,
  probeDecodeThroughput,
  probeLayerThroughput,
  resolveClusterSettings,
  StateDirError,
  type ThroughputProbe,
} from "../cluster_node/mod.ts";
import {
  CONFIG_FIELDS,
  CONFIG_KEYS,
  ConfigError,
  formatConfig,
  loadServeConfig,
  type ServeConfig,
} from "../config/mod.ts";
import { prefill } from "../engine/generate.ts";
import { type LoadedModel, loadModel } from "../engine/loaded_model.ts";
import { type GgufFile, openGguf } from "../gguf/mod.ts";
import { modelConfigFromGguf } from "../model/model_config.ts";
import { Tokenizer } from "../tokenizer/mod.ts";
import { modelCostFromTensors, totalModelBytes } from "../../cluster/planner/mod.ts";
import { createEntryServedModel } from "../api/served_model.ts";

import { createProgressReporter, formatBytes, ModelStoreError, resolveModel } from "../model_store/mod.ts";
import { type PipelineModel, PipelineNode } from "../pipeline_node/mod.ts";
import { UsageError } from "./cli_error.ts";
import { createLoadProgress } from "./load_progress.ts";
import type { FlagTable } from "./flags.ts";
import type { CliIo, Verb } from "./verb.ts";

/** Version advertised to the ring (the package version in deno.json). */
const NODE_VERSION: string = denoConfig.version;
/** Share of the memory available at start offered for weights when --weights-memory is unset. */
const DEFAULT_WEIGHTS_MEMORY_SHARE = 0.8;
const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", "[::]"]);

/** Signals that start a graceful shutdown. */
const SHUTDOWN_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM"];

function serveFlags(): FlagTable {
  const table: Record<string, FlagTable[string]> = {
    config: { type: "string", help: "TOML config file (or EDGERING_CONFIG)" },
    "print-config": { type: "boolean", help: "print the effective config as TOML and exit" },
  };
  for (const key of CONFIG_KEYS) {
    const field = CONFIG_FIELDS[key];
    table[field.flag] = {
      type: field.kind === "bool" ? "boolean" : "string",
      multiple: field.kind === "list" ? true : undefined,
      help: `${field.help} [${field.env}]`,
    };
  }
  return table;
}

export const serveVerb: Verb = {
  name: "serve",
  usage:
    "edgering serve [--model FILE|URL|hf:OWNER/REPO/FILE.gguf] [--host H] [--port P] [--config FILE] [flags]",
  summary:
    "Starts a node serving an OpenAI-compatible API (/v1/completions, /v1/chat/completions, /v1/models,\n" +
    "/health, /metrics). Settings: flags > EDGERING_* environment > --config TOML file > defaults.",
  flags: serveFlags(),
  async run(flags, io) {
    let config: ServeConfig;
    let modelSource = "--model";
    try {
      const resolved = await loadServeConfig({
        flags: flags.values,
        env: Deno.env.toObject(),
        configPath: typeof flags.values.config === "string" ? flags.values.config : undefined,
      });
      if (flags.values["print-config"]) {
        io.stdout(formatConfig(resolved));
        return 0;
      }
      config = resolved.config;
      const source = resolved.sources.model;
      modelSource = source === "env"
        ? "EDGERING_MODEL"
        : source === "file"
        ? `config file ${resolved.file}`
        : "--model";
    } catch (error) {
      if (error instanceof ConfigError) throw new UsageError(`serve: ${error.message}`);
      throw error;
    }
    if (flags.positionals.length > 0) {
      throw new UsageError(`serve: unexpected argument "${flags.positionals[0]}"`);
    }
    let cluster: ClusterSettings | undefined;
    if (!config.noCluster) {
      try {
        cluster = resolveClusterSettings(config, hostFacts(config));
      } catch (error) {
        if (error instanceof ClusterConfigError) throw new UsageError(`serve: ${error.message}`);
        throw error;
      }
    }
    await runNode(config, io, modelSource, cluster);
    return 0;
  },
};

/** What the cluster settings read from this host; each is read only when it is needed, and a denied
 * permission reads as unknown. */
function hostFacts(config: ServeConfig): HostFacts {
  let hostname: string | undefined;
  if (config.nodeName === undefined) {
    try {
      hostname = Deno.hostname();
    } catch { /* no --allow-sys: the name falls back to "edgering" */ }
  }
  let addresses: string[] | undefined;
  if (config.advertise === undefined && WILDCARD_HOSTS.has(config.gossipHost ?? config.host)) {
    try {
      addresses = Deno.networkInterfaces()
        .filter((i) => i.family === "IPv4" && !i.address.startsWith("127."))
        .map((i) => i.address);
    } catch { /* unknown: --advertise is then required */ }
  }
  return { hostname, env: Deno.env.toObject(), addresses };
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

/** The model as this node serves it: loaded whole (`loaded`), or — in a ring, when it exceeds the
 * weights memory — only opened, for the pipeline stage the plan gives this node. */
interface NodeModel extends PipelineModel {
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

/** Starts the ring membership; startup failures become one-line usage errors. */
async function startCluster(
  settings: ClusterSettings,
  config: ServeConfig,
  apiPort: number,
  state: NodeState,
  log: (line: string) => void,
  pipeline: () => PipelineStatus | undefined,
): Promise<ClusterNode> {
  const apiHost = WILDCARD_HOSTS.has(config.host) ? settings.advertiseHost : config.host;
  try {
    return await ClusterNode.start({
      settings,
      version: NODE_VERSION,
      apiAddr: joinHostPort(apiHost, apiPort),
      engine: () => state.model?.scheduler.stats(),
      log,
      debug: Deno.env.get("EDGERING_DEBUG") === "1",
      pipeline,
    });
  } catch (error) {
    if (
      error instanceof ClusterStartError || error instanceof StateDirError ||
      error instanceof ClusterConfigError
    ) {
      throw new UsageError(`serve: ${error.message}`);
    }
    throw error;
  }
}

/** Reserves the pipeline port (a port in use fails here, with one line) and prepares the node's share
 * of the layer pipeline; it follows the plan once `run()`. */
async function startPipeline(
  settings: ClusterSettings,
  config: ServeConfig,
  cluster: ClusterNode,
  model: PipelineModel,
  served: ServedModel,
  weightsMemory: number,
  log: (line: string) => void,
): Promise<PipelineNode> {
  try {
    return await PipelineNode.start({
      cluster,
      model,
      served,
      modelId: served.id,
      weightsMemory,
      bindHost: settings.bindHost,
      advertiseHost: settings.advertiseHost,
      port: config.pipelinePort,
      wireDtype: config.wireDtype,
      log,
    });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new UsageError(
        `serve: cannot bind the pipeline port ${settings.bindHost}:${config.pipelinePort}: the address is in use ` +
          `(pick another with --pipeline-port)`,
      );
    }
    throw error;
  }
}

/** Resolves when the first of SIGINT/SIGTERM arrives; `second` fires on any later one. */
function shutdownSignals(second: () => void): { received: Promise<Deno.Signal>; remove: () => void } {
  const installed: Array<[Deno.Signal, () => void]> = [];
  let first = true;
  const received = new Promise<Deno.Signal>((resolve) => {
    for (const signal of SHUTDOWN_SIGNALS) {
      const handler = () => {
        if (first) resolve(signal);
        else second();
        first = false;
      };
      try {
        Deno.addSignalListener(signal, handler);
        installed.push([signal, handler]);
      } catch { /* a signal this platform lacks (SIGTERM on Windows) */ }
    }
  });
  return { received, remove: () => installed.forEach(([s, h]) => Deno.removeSignalListener(s, h)) };
}

function bind(
  config: ServeConfig,
  handler: (request: Request) => Promise<Response>,
): Deno.HttpServer<Deno.NetAddr> {
  try {
    return Deno.serve({ hostname: config.host, port: config.port, onListen() {} }, handler);
  } catch (error) {
    const reason = error instanceof Deno.errors.AddrInUse
      ? "the address is in use (pick another with --port)"
      : error instanceof Deno.errors.PermissionDenied
      ? "permission denied (ports below 1024 need privileges)"
      : (error as Error).message;
    throw new UsageError(`serve: cannot bind ${config.host}:${config.port}: ${reason}`);
  }
}

async function loadServed(
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

/** KV cache size in bytes, f32 K and V; none on a stage-only node until its stage starts. */
function kvBytes(loaded: LoadedModel | undefined): number {
  return loaded ? loaded.slots * loaded.cfg.layers * loaded.ctx * loaded.cfg.kvDim * 2 * 4 : 0;
}

/** Runs a node until a shutdown signal has been handled. */
async function runNode(
  config: ServeConfig,
  io: CliIo,
  modelSource: string,
  clusterSettings: ClusterSettings | undefined,
): Promise<void> {
  const log = (line: string) => io.stderr(`edgering: ${line}\n`);
  const state = new NodeState();
  const metrics = createServeMetrics(() => state.model?.scheduler.stats());
  let cluster: ClusterNode | undefined;
  let pipeline: PipelineNode | undefined;
  const handler = createApiHandler({
    state,
    metrics,
    cluster: clusterSettings ? () => cluster : undefined,
    options: {
      apiKeys: config.apiKeys,
      maxBodyBytes: config.maxBodyBytes,
      defaultMaxTokens: config.defaultMaxTokens,
      retryAfterSeconds: config.retryAfterSeconds,
      log,
    },
  });
  const loading = new AbortController();
  let force = () => loading.abort();
  const signals = shutdownSignals(() => force());
  const server = bind(config, handler);
  const address = `http://${
    config.host.includes(":") ? `[${config.host}]` : config.host
  }:${server.addr.port}`;
  let loaded: NodeModel | undefined;
  try {
    if (clusterSettings) {
      cluster = await startCluster(
        clusterSettings,
        config,
        server.addr.port,
        state,
        log,
        () => pipeline?.status(),
      );
    }
    const ready = loadServed(config, io, modelSource, loading.signal, cluster !== undefined).then((
      model,
    ) => (loaded = model));
    const first = await Promise.race([ready.then(() => undefined), signals.received]);
    if (first !== undefined) {
      log(`${first} while loading: stopping`);
      loading.abort();
      await Promise.all([ready.catch(() => {}), cluster?.leave()]);
      return;
    }
    const model = loaded!;
    const id = config.modelName ?? modelIdFromPath(model.source);
    const served = model.loaded
      ? createServedModel(model.loaded, {
        id,
        queueSize: config.queueSize,
        prefillChunk: config.prefillChunk,
      })
      : createEntryServedModel(model, { id });
    if (cluster && clusterSettings) {
      const memory = model.weightsMemory;
      pipeline = await startPipeline(clusterSettings, config, cluster, model, served, memory, log);
      const probe = model.probe ?? await probeDecodeThroughput(model.loaded!);
      await cluster.announce({
        backend: model.backend.name,
        device: model.backend.description,
        memoryBudgetBytes: memory,
        bytesPerSec: probe.bytesPerSec,
        model: { id, layers: model.cfg.layers },
        pipelineAddr: pipeline.address,
      });
      log(
        `ring: throughput score ${formatRate(probe.bytesPerSec)} (${
          formatBytes(probe.streamBytes)
        } of weights ` +
          `per decode step, ${probe.msPerToken.toFixed(2)} ms median of ${probe.tokens})`,
      );
      if (memory < pipeline.modelBytes) {
        log(
          `pipeline: --weights-memory ${formatBytes(memory)} is below the model's ${
            formatBytes(pipeline.modelBytes)
          }: serving through the pipeline`,
        );
      }
      pipeline.run();
    }
    state.model = served;
    state.status = "ready";
    log(
      `serving ${served.id} on ${address} · backend ${model.backend.name} (${model.backend.description}) · ` +
        `${config.slots} slots × ${model.ctx} ctx · memory: weights ${
          formatBytes(model.loaded?.weights.bytes ?? 0)
        }${model.loaded ? "" : " (pipeline stage only)"}, ` +
        `kv ${formatBytes(kvBytes(model.loaded))}, rss ${
          formatBytes(Deno.memoryUsage().rss)
        } · chat template ${served.chatTemplate.origin}` +
        (config.apiKeys.length > 0 ? ` · ${config.apiKeys.length} api key(s)` : ""),
    );
    for (const line of await cluster?.describe() ?? []) log(line);
    const signal = await signals.received;
    state.status = "draining";
    log(`${signal}: draining (${config.graceSeconds} s grace; signal again to stop at once)`);
    force = () => void served.scheduler.close();
    // leave the ring while draining: peers stop routing here at once, as they would after a crash
    const leaving = cluster?.leave();
    await served.scheduler.drain(config.graceSeconds * 1000);
    await Promise.all([leaving, pipeline?.close()]);
    log("drained; bye");
  } finally {
    signals.remove();
    await pipeline?.close();
    await cluster?.leave(); // at once when already left, or alone
    await cluster?.shutdown();
    await server.shutdown();
    loaded?.close();
  }
}
