/**
 * Shared fixtures of the pipeline tests: a tiny synthetic model on disk, stage servers for a split,
 * the route through them, and the single-node greedy output to compare against.
 */
import { Keyring } from "../../../../cluster/gossip/keyring.ts";
import {
  PipelineEngine,
  type PipelineEngineOptions,
  type PipelineRoute,
  StageServer,
  type StageServerOptions,
} from "../../../../cluster/pipeline/mod.ts";
import { createReferenceBackend } from "../../../../src/backend/reference/reference_backend.ts";
import { generate } from "../../../../src/engine/generate.ts";
import { loadModel } from "../../../../src/engine/loaded_model.ts";
import { openGguf } from "../../../../src/gguf/mod.ts";
import { type ModelConfig, modelConfigFromGguf } from "../../../../src/model/model_config.ts";
import type { LayerRange } from "../../../../src/model/model_weights.ts";
import { writeSyntheticModel } from "../../../../src/model/synthetic_model.ts";
import { GgmlType } from "../../../../src/quant/ggml_type.ts";
import { Tokenizer } from "../../../../src/tokenizer/mod.ts";

export const STORIES = "../shared/models/stories260K.gguf";

/** A tiny llama (6 layers, 64 wide) with stories260K's 512-token vocabulary, written once per process. */
let synthetic: Promise<string> | undefined;
export function syntheticModel(): Promise<string> {
  synthetic ??= (async () => {
    const path = await Deno.makeTempFile({ prefix: "edgering-pipeline-", suffix: ".gguf" });
    const vocab = await openGguf(STORIES);
    try {
      await writeSyntheticModel(
        {
          arch: "llama",
          dim: 64,
          layers: 6,
          heads: 4,
          kvHeads: 2,
          ffn: 128,
          ctx: 256,
          type: GgmlType.F32,
          seed: 11,
        },
        vocab,
        path,
      );
    } finally {
      vocab.close();
    }
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(path);
      } catch { /* gone */ }
    });
    return path;
  })();
  return synthetic;
}

/** A fixed test key, base64 of 32 bytes. */
export const TEST_KEY = btoa(String.fromCharCode(...Array.from({ length: 32 }, (_, i) => i * 7 + 1)));

export function keyBytes(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

export function testKeyring(base64 = TEST_KEY): Promise<Keyring> {
  return Keyring.create([keyBytes(base64)]);
}

/** Contiguous ranges for `bounds` = [0, b1, ..., layers]. */
export function split(bounds: readonly number[]): LayerRange[] {
  return bounds.slice(1).map((end, i) => ({
    start: bounds[i],
    end,
    embedding: i === 0,
    head: i === bounds.length - 2,
  }));
}

export interface ModelInfo {
  readonly cfg: ModelConfig;
  readonly tokenizer: Tokenizer;
}

export async function modelInfo(path: string): Promise<ModelInfo> {
  const file = await openGguf(path);
  try {
    return { cfg: modelConfigFromGguf(file.header), tokenizer: Tokenizer.fromMetadata(file.header.metadata) };
  } finally {
    file.close();
  }
}

/** Starts one in-process stage per range, on 127.0.0.1 and free ports. */
export async function startStages(
  model: string,
  ranges: readonly LayerRange[],
  extra: Partial<StageServerOptions> & { keyring?: Keyring },
): Promise<StageServer[]> {
  const servers: StageServer[] = [];
  for (const [i, range] of ranges.entries()) {
    servers.push(
      await StageServer.start({
        nodeId: `stage-${i}`,
        model,
        range,
        backend: createReferenceBackend(),
        epochs: [1],
        ...extra,
      }),
    );
  }
  return servers;
}

/** The route through `servers`, in order. */
export function routeOf(servers: readonly StageServer[], epoch = 1, ids?: readonly string[]): PipelineRoute {
  return {
    epoch,
    stages: servers.map((s, i) => ({ nodeId: ids?.[i] ?? `stage-${i}`, address: s.address, ...s.range })),
  };
}

/** Greedy token ids of the whole model on one node (the reference engine). */
export async function singleNodeGreedy(
  path: string,
  prompt: readonly number[],
  maxTokens: number,
): Promise<number[]> {
  const model = await loadModel(path, createReferenceBackend(), { ctx: 256 });
  try {
    const ids: number[] = [];
    const run = generate(model, prompt, { maxTokens, sampling: { temperature: 0 } });
    for await (const piece of run) ids.push(piece.token);
    return ids;
  } finally {
    model.close();
  }
}

/** Collects a stream's token ids. */
export async function tokensOf(stream: AsyncIterable<{ token: number }>): Promise<number[]> {
  const ids: number[] = [];
  for await (const piece of stream) ids.push(piece.token);
  return ids;
}

/** Polls `cond` every 10 ms until true or `ms` pass. */
export async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

/** An entry engine ("entry") for `model` with the test key ring and a 256-token context; `extra` overrides. */
export async function entryEngine(
  model: string,
  resolveRoute: PipelineEngineOptions["resolveRoute"],
  extra: Partial<PipelineEngineOptions> = {},
): Promise<PipelineEngine> {
  const info = await modelInfo(model);
  return new PipelineEngine({
    nodeId: "entry",
    cfg: info.cfg,
    tokenizer: info.tokenizer,
    keyring: await testKeyring(),
    resolveRoute,
    ctx: 256,
    ...extra,
  });
}
