/**
 * The cluster half of the pipeline benchmark: what the planner and the entry engine make of real stage
 * processes, each figure against its baseline measured in the same run, back to back:
 *
 *   (a) single stream   the replica the planner picks (plan_cluster over three nodes that each hold the
 *                       model: two wasm nodes, one reference node), through an entry in another process,
 *                       vs the fastest node running the model alone in-process, pinned to its CPU; with
 *                       each side's time per token, so that the entry's hop shows as a share of a token
 *                       (pipeline.ts runs it on a tiny F32 model and on a compute-heavier Q8_0 one);
 *   (b), (c)            8 streams on two pinned cores vs one: pipeline_aggregate.ts, run on its own
 *                       models (a quantised one, where batched decode is compute-bound);
 *   (d) heterogeneous   a wasm node and a reference (plain TS) node that cannot hold the model alone:
 *                       the planner's split vs the best split by brute force (every feasible split point
 *                       in both orders, each measured).
 *
 * Node speeds fed to the planner are measured here: 8-stream tokens/s of each node's whole-model stage
 * × the model's bytes (the regime the figures are taken in). Without taskset the processes are not
 * pinned and the 2-core figures say so.
 *
 * @module
 */

import { Keyring, parseClusterKey } from "../cluster/gossip/keyring.ts";
import { PipelineEngine, type PipelineRoute, routeFromReplica, WireDtype } from "../cluster/pipeline/mod.ts";
import {
  modelCostFromTensors,
  type Plan,
  planCluster,
  type PlannerMember,
  routeRequest,
  totalModelBytes,
} from "../cluster/planner/mod.ts";
import { openGguf } from "../src/gguf/mod.ts";
import { modelConfigFromGguf } from "../src/model/model_config.ts";
import { Tokenizer } from "../src/tokenizer/mod.ts";
import { canPin, median, soloTokensPerSec, StageProcess } from "./pipeline_stage_process.ts";

/** Concurrent streams of the aggregate figures. */
const STREAMS = 8;
/** A node of the heterogeneous cluster may hold this share of the model's bytes: a split is forced. */
const HETERO_MEMORY_SHARE = 0.75;

export interface ClusterBenchOptions {
  readonly path: string;
  readonly key: string;
  readonly prompt: readonly number[];
  readonly ctx: number;
  readonly tokens: number;
  readonly reps: number;
  /** run (d) as well as (a); default true. Without it the stage processes serve the whole model only. */
  readonly heterogeneous?: boolean;
}

/** One stage of a measured split: which process, which layers. */
type Part = readonly [node: string, start: number, end: number];

export async function benchCluster(o: ClusterBenchOptions): Promise<void> {
  const file = await openGguf(o.path);
  const cfg = modelConfigFromGguf(file.header);
  const tokenizer = Tokenizer.fromMetadata(file.header.metadata);
  const cost = modelCostFromTensors(cfg, file.header.tensors);
  file.close();
  const modelBytes = totalModelBytes(cost);
  const L = cfg.layers;
  const pinned = await canPin();
  const keyring = await Keyring.create([parseClusterKey(o.key)]);
  const heterogeneous = o.heterogeneous ?? true;
  const name = o.path.split("/").pop();

  // every process serves the whole model, and for (d) 0:k and k:L for every split point k: index 0, k,
  // L - 1 + k
  const ranges = [`0:${L}:e:h`];
  for (let k = 1; k < L && heterogeneous; k++) ranges.push(`0:${k}:e`);
  for (let k = 1; k < L && heterogeneous; k++) ranges.push(`${k}:${L}:h`);
  const rangeIndex = (start: number, end: number) =>
    start === 0 && end === L ? 0 : start === 0 ? end : L - 1 + start;
  const nodeOptions = {
    a: { backend: "wasm", threads: 1, cpu: pinned ? 0 : undefined },
    b: { backend: "wasm", threads: 1, cpu: pinned ? 1 : undefined },
    c: { backend: "reference", cpu: pinned ? 1 : undefined },
  } as const;
  const nodes = {
    a: new StageProcess(o.path, "a", ranges, nodeOptions.a),
    b: new StageProcess(o.path, "b", ranges, nodeOptions.b),
    c: new StageProcess(o.path, "c", ranges, nodeOptions.c),
  };
  type NodeName = keyof typeof nodes;
  console.log(
    `\n### cluster figures, ${name}: ${STREAMS} concurrent streams of ${o.tokens} greedy tokens, best of ${o.reps}; ` +
      `nodes a, b: wasm 1 thread${pinned ? " pinned to CPU 0 and 1" : " (NOT pinned: taskset missing)"}; ` +
      `c: reference backend${pinned ? " on CPU 1" : ""}\n`,
  );
  try {
    const addresses = Object.fromEntries(
      await Promise.all(Object.entries(nodes).map(async ([id, p]) => [id, await p.ready] as const)),
    ) as Record<NodeName, string[]>;
    const routeOf = (parts: readonly Part[]): PipelineRoute => ({
      epoch: 1,
      stages: parts.map(([nodeId, start, end]) => ({
        nodeId,
        address: addresses[nodeId as NodeName][rangeIndex(start, end)],
        start,
        end,
        embedding: start === 0,
        head: end === L,
      })),
    });
    const engineFor = (resolve: (engine: PipelineEngine) => PipelineRoute | undefined) => {
      const engine: PipelineEngine = new PipelineEngine({
        nodeId: "bench",
        cfg,
        tokenizer,
        keyring,
        ctx: o.ctx,
        wireDtype: WireDtype.F16,
        maxActive: STREAMS,
        resolveRoute: () => resolve(engine),
      });
      return engine;
    };
    const request = (i: number, maxTokens = o.tokens) => ({
      prompt: [...o.prompt, 10 + i],
      maxTokens,
      sampling: { temperature: 0 } as never,
    });
    /** Aggregate tokens/s of STREAMS streams at once. */
    const aggregate = async (resolve: (engine: PipelineEngine) => PipelineRoute | undefined) => {
      const engine = engineFor(resolve);
      try {
        await count(engine.submit(request(0, 4))); // connect and warm up
        const t0 = performance.now();
        const counts = await Promise.all(
          Array.from({ length: STREAMS }, (_, i) => count(engine.submit(request(i)))),
        );
        return counts.reduce((a, b) => a + b, 0) / ((performance.now() - t0) / 1000);
      } finally {
        await engine.close();
      }
    };
    const fixed = (parts: readonly Part[]) => () => routeOf(parts);
    /** Best of reps of each variant, the variants interleaved so that load noise hits them alike. */
    const best = async (variants: Array<() => Promise<number>>): Promise<number[]> => {
      const runs = variants.map(() => [] as number[]);
      for (let r = 0; r < o.reps; r++) {
        for (const [i, v] of variants.entries()) runs[i].push(await v());
      }
      return runs.map((xs) => Math.max(...xs));
    };

    // node speeds for the planner: 8-stream tokens/s of each whole-model stage × model bytes
    const speeds = await best((["a", "b", "c"] as const).map((n) => () => aggregate(fixed([[n, 0, L]]))));
    const member = (id: NodeName, speed: number, memoryBytes = 4 * modelBytes): PlannerMember => ({
      id,
      backend: id === "c" ? "reference" : "wasm",
      memoryBytes,
      bytesPerSec: speed * modelBytes,
      load: 0,
    });
    const [sa, sb, sc] = speeds;
    console.log(
      `node speeds (${STREAMS} streams, whole model): a ${sa.toFixed(1)}, b ${sb.toFixed(1)}, ` +
        `c ${sc.toFixed(1)} tokens/s`,
    );
    const addressOf = (id: string) => addresses[id as NodeName]?.[0];
    const routeOfPlan = (plan: Plan, load: ReadonlyMap<string, number>) => {
      const pick = routeRequest(plan, load);
      if (!pick) return undefined;
      const replica = plan.replicas[pick.replica];
      return replica.stages.length === 1
        ? routeFromReplica(1, replica, addressOf)
        : routeOf(replica.stages.map((s) => [s.nodeId, s.start, s.end] as const));
    };

    // (a) single stream: the planner's pick vs the fastest node alone, in a process pinned like it
    const planA = planCluster({
      epoch: 1,
      members: [member("a", sa), member("b", sb), member("c", sc)],
      model: cost,
    });
    const routeA = routeOfPlan(planA, new Map())!;
    const fastest = sa >= sb ? "a" : "b";
    const inProcess = () => soloTokensPerSec(o.path, { ...nodeOptions[fastest], tokens: o.tokens, reps: 1 });
    const throughPlan = async () => {
      const engine = engineFor(() => routeA);
      try {
        await count(engine.submit(request(0, 4)));
        return 1000 / median(await intervals(engine.submit({ ...request(0), prompt: o.prompt })));
      } finally {
        await engine.close();
      }
    };
    const [alone, planned] = await best([inProcess, throughPlan]);
    // p50 ms per token of each side; their difference is what the entry's process hop adds per token
    const aloneMs = 1000 / alone, plannedMs = 1000 / planned;
    console.log(
      `(a) single stream, ${name}: cluster ${planned.toFixed(1)} tokens/s on the planner's pick ` +
        `[${describe(planA)}] through an entry in another process vs the fastest node (${fastest}) alone ` +
        `${alone.toFixed(1)} tokens/s (in-process, same backend and CPU): ` +
        `${(planned / alone).toFixed(3)}× (target ≥ 0.95×); per token ${plannedMs.toFixed(2)} ms vs ` +
        `${aloneMs.toFixed(2)} ms alone: the hop adds ${(plannedMs - aloneMs).toFixed(2)} ms, ` +
        `${(100 * (plannedMs - aloneMs) / plannedMs).toFixed(0)}% of a token`,
    );
    if (!heterogeneous) return;

    // (d) heterogeneous: a (wasm) + c (reference), neither holding the whole model
    const cap = Math.ceil(HETERO_MEMORY_SHARE * modelBytes);
    const planD = planCluster({
      epoch: 1,
      members: [member("a", sa, cap), member("c", sc, cap)],
      model: cost,
    });
    const splits: Part[][] = [];
    for (const [first, last] of [["a", "c"], ["c", "a"]] as const) {
      for (let k = 1; k < L; k++) {
        const parts: Part[] = [[first, 0, k], [last, k, L]];
        if (parts.every(([, s, e]) => stageBytes(cost, s, e) <= cap)) splits.push(parts);
      }
    }
    const measured = await best(splits.map((parts) => () => aggregate(fixed(parts))));
    const bestAt = measured.indexOf(Math.max(...measured));
    const plannedParts = planD.replicas[0]?.stages.map((s) => [s.nodeId, s.start, s.end] as const) ?? [];
    const plannedAt = splits.findIndex((p) =>
      p.length === plannedParts.length && p.every((x, i) => x.join() === plannedParts[i].join())
    );
    const plannedRate = plannedAt >= 0
      ? measured[plannedAt]
      : (await best([() => aggregate(fixed(plannedParts))]))[0];
    console.log(
      `(d) heterogeneous (a wasm + c reference, each holding ≤ ${
        HETERO_MEMORY_SHARE * 100
      }% of the model), ` +
        `${STREAMS} streams: planner's split [${describe(planD)}] ${
          plannedRate.toFixed(1)
        } tokens/s vs the best ` +
        `of ${splits.length} static splits [${
          splits[bestAt].map(([n, s, e]) => `${n}:${s}-${e}`).join(">")
        }] ` +
        `${measured[bestAt].toFixed(1)} tokens/s: ${
          (plannedRate / measured[bestAt]).toFixed(3)
        }× (target ≥ 0.9×)`,
    );
    console.log(
      `    every split: ${
        splits.map((p, i) => `${p.map(([n, s, e]) => `${n}:${s}-${e}`).join(">")} ${measured[i].toFixed(1)}`)
          .join(
            ", ",
          )
      }`,
    );
  } finally {
    await Promise.all(Object.values(nodes).map((p) => p.stop()));
  }
}

/** Weight bytes a stage over [start, end) holds (the planner's accounting, model_cost.ts). */
function stageBytes(cost: ReturnType<typeof modelCostFromTensors>, start: number, end: number): number {
  let bytes = cost.layerBytes.slice(start, end).reduce((a, b) => a + b, 0);
  if (start === 0) bytes += cost.embeddingBytes;
  if (end === cost.layers) {
    bytes += cost.headBytes + cost.outputNormBytes +
      (cost.tiedEmbeddings && start !== 0 ? cost.embeddingBytes : 0);
  }
  return bytes;
}

/** "a:0-3>c:3-6 | b:0-6" */
function describe(plan: Plan): string {
  if (plan.replicas.length === 0) return "no replica";
  return plan.replicas.map((r) => r.stages.map((s) => `${s.nodeId}:${s.start}-${s.end}`).join(">")).join(
    " | ",
  );
}

async function count(stream: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of stream) n++;
  return n;
}

/** Decode intervals (ms) between consecutive tokens of one stream. */
export async function intervals(stream: AsyncIterable<unknown>): Promise<number[]> {
  const times: number[] = [];
  for await (const _ of stream) times.push(performance.now());
  return times.slice(1).map((t, i) => t - times[i]);
}
