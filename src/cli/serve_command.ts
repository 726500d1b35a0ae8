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
 *
 * This file is the verb's flow; its steps live beside it: `serve_flags.ts` (flags), `start_cluster.ts`
 * and `start_pipeline.ts` (ring and layer pipeline), `bind_server.ts` and `shutdown_signals.ts` (HTTP
 * server lifecycle), `node_model.ts` (finding and loading the model), `serving_line.ts` (the ready line).
 */
import { createApiHandler } from "../api/app.ts";
import { NodeState } from "../api/node_state.ts";
import { createEntryServedModel, createServedModel, modelIdFromPath } from "../api/served_model.ts";
import { createServeMetrics } from "../api/serve_metrics.ts";
import {
  ClusterConfigError,
  type ClusterNode,
  type ClusterSettings,
  formatRate,
  probeDecodeThroughput,
  resolveClusterSettings,
} from "../cluster_node/mod.ts";
import { ConfigError, formatConfig, loadServeConfig, type ServeConfig } from "../config/mod.ts";
import { formatBytes } from "../model_store/mod.ts";
import type { PipelineNode } from "../pipeline_node/mod.ts";
import { bindServer } from "./bind_server.ts";
import { UsageError } from "./cli_error.ts";
import { loadNodeModel, type NodeModel } from "./node_model.ts";
import { serveFlags } from "./serve_flags.ts";
import { servingLine } from "./serving_line.ts";
import { shutdownSignals } from "./shutdown_signals.ts";
import { hostFacts, startCluster } from "./start_cluster.ts";
import { startPipeline } from "./start_pipeline.ts";
import type { CliIo, Verb } from "./verb.ts";

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
  const server = bindServer(config, handler);
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
    const ready = loadNodeModel(config, io, modelSource, loading.signal, cluster !== undefined).then((
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
    log(servingLine(served, model, address, config));
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
