/**
 * The aggregate half of the pipeline benchmark's cluster figures: 8 concurrent streams on two pinned
 * cores against one, on a model given by path, with the measured cost split that bounds the ratio:
 *
 *   step cost  one node's decode step t(n) at n = 1, 4, 8 rows (in a process pinned to CPU 0, wasm,
 *              1 thread: pipeline_step_cost.ts), F and r of t(n) ≈ F + r·n, and the ceiling of two
 *              cores over one at 8 streams, t(8) / t(4);
 *   (b) 2 nodes      8 streams through a 2-stage split `a:0-L/2 → b:L/2-L` (a pinned to CPU 0, b to 1);
 *   (c) 2 replicas   8 streams to one entry that routes each request to the replica with the lowest
 *                    expected time to finish (route_request.ts over the engine's live load);
 *   baseline         the same 8 streams on the whole model on a, one core, same backend, batched.
 *
 * The three are run back to back, interleaved, best of `reps`; the entry (this process) is not pinned
 * and shares the cores with the stages, as an entry on one of two machines would share its own. Each
 * run also records, from /proc, the CPU per token of the entry and the stages, and the share of the
 * run each stage's main thread spent on a CPU and preempted (other processes holding its core): on a
 * shared machine that share, not the engine, is often what separates the ratios from the ceiling.
 *
 * @module
 */

import { Keyring, parseClusterKey } from "../cluster/gossip/keyring.ts";
import { PipelineEngine, type PipelineRoute, routeFromReplica, WireDtype } from "../cluster/pipeline/mod.ts";
import {
  modelCostFromTensors,
  planCluster,
  type PlannerMember,
  routeRequest,
  totalModelBytes,
} from "../cluster/planner/mod.ts";
import { openGguf } from "../src/gguf/mod.ts";
import { modelConfigFromGguf } from "../src/model/model_config.ts";
import { Tokenizer } from "../src/tokenizer/mod.ts";
import { fixedAndPerRow } from "./pipeline_step_cost.ts";
import { canPin, procTimes, StageProcess, stepCostInProcess } from "./pipeline_stage_process.ts";

/** Concurrent streams of the aggregate figures. */
export const STREAMS = 8;

export interface AggregateBenchOptions {
  readonly path: string;
  readonly key: string;
  readonly prompt: readonly number[];
  readonly ctx: number;
  readonly tokens: number;
  readonly reps: number;
}

/** Aggregate figures of one model; returns the ratios (b) and (c) for the caller's summary. */
export async function benchAggregate(o: AggregateBenchOptions): Promise<{ split: number; replicas: number }> {
  const file = await openGguf(o.path);
  const cfg = modelConfigFromGguf(file.header);
  const tokenizer = Tokenizer.fromMetadata(file.header.metadata);
  const cost = modelCostFromTensors(cfg, file.header.tensors);
  file.close();
  const L = cfg.layers;
  const half = Math.floor(L / 2);
  const pinned = await canPin();
  const keyring = await Keyring.create([parseClusterKey(o.key)]);
  const name = o.path.split("/").pop();

  // the step cost first, while no stage process holds memory or a core
  const t = await stepCostInProcess(o.path, { backend: "wasm", threads: 1, cpu: pinned ? 0 : undefined });
  const { fixedMs, perRowMs } = fixedAndPerRow(t[1], t[8], 8);
  const ceiling = t[8] / t[4];
  console.log(
    `\n### ${name}: ${STREAMS} concurrent streams of ${o.tokens} greedy tokens, best of ${o.reps}; ` +
      `nodes a, b: wasm 1 thread${pinned ? " pinned to CPU 0 and 1" : " (NOT pinned: taskset missing)"}; ` +
      `entry unpinned\n`,
  );
  console.log(
    `one core's decode step (in-process, ${pinned ? "pinned, " : ""}median): t(1) ${t[1].toFixed(2)} ms, ` +
      `t(4) ${t[4].toFixed(2)} ms, t(8) ${t[8].toFixed(2)} ms → F ≈ ${fixedMs.toFixed(2)} ms per step + ` +
      `r ≈ ${perRowMs.toFixed(2)} ms per row; two cores over one at ${STREAMS} streams: at most ` +
      `t(8)/t(4) = ${ceiling.toFixed(2)}×`,
  );

  const ranges = [`0:${L}:e:h`, `0:${half}:e`, `${half}:${L}:h`];
  const nodes = {
    a: new StageProcess(o.path, "a", ranges, { backend: "wasm", threads: 1, cpu: pinned ? 0 : undefined }),
    b: new StageProcess(o.path, "b", ranges, { backend: "wasm", threads: 1, cpu: pinned ? 1 : undefined }),
  };
  try {
    const [a, b] = await Promise.all([nodes.a.ready, nodes.b.ready]);
    const addresses: Record<string, readonly string[]> = { a, b };
    const stage = (nodeId: string, index: number, start: number, end: number) => ({
      nodeId,
      address: addresses[nodeId][index],
      start,
      end,
      embedding: start === 0,
      head: end === L,
    });
    const whole: PipelineRoute = { epoch: 1, stages: [stage("a", 0, 0, L)] };
    const split: PipelineRoute = { epoch: 1, stages: [stage("a", 1, 0, half), stage("b", 2, half, L)] };
    // both nodes are alike (same backend, one core each): the planner's speed is one core's 8-stream rate
    const member = (id: string): PlannerMember => ({
      id,
      backend: "wasm",
      memoryBytes: 4 * totalModelBytes(cost),
      bytesPerSec: (STREAMS * 1000 / t[8]) * totalModelBytes(cost),
      load: 0,
    });
    const plan = planCluster({ epoch: 1, members: [member("a"), member("b")], model: cost });
    const described = plan.replicas.map((r) =>
      r.stages.map((s) => `${s.nodeId}:${s.start}-${s.end}`).join(">")
    )
      .join(" | ");

    const aggregate = async (resolve: (engine: PipelineEngine) => PipelineRoute | undefined) => {
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
      const request = (i: number, maxTokens = o.tokens) => ({
        prompt: [...o.prompt, 10 + i],
        maxTokens,
        sampling: { temperature: 0 } as never,
      });
      try {
        await count(engine.submit(request(0, 4))); // connect and warm up
        const pids = [Deno.pid, nodes.a.pid, nodes.b.pid]; // entry, a, b
        const before = await procTimes(pids);
        const t0 = performance.now();
        const counts = await Promise.all(
          Array.from({ length: STREAMS }, (_, i) => count(engine.submit(request(i)))),
        );
        const ms = performance.now() - t0;
        const after = await procTimes(pids);
        const tokens = counts.reduce((x, y) => x + y, 0);
        cpuPerToken.push(after.map((p, i) => (p.cpuMs - before[i].cpuMs) / tokens));
        // the stages' main threads: [share of the run on a CPU, share waiting for one]
        shares.push([1, 2].map((i) => [
          (after[i].runMs - before[i].runMs) / ms,
          (after[i].waitMs - before[i].waitMs) / ms,
        ]));
        return tokens / (ms / 1000);
      } finally {
        await engine.close();
      }
    };
    const byPlan = (engine: PipelineEngine) => {
      const pick = routeRequest(plan, engine.load());
      return pick ? routeFromReplica(1, plan.replicas[pick.replica], (id) => addresses[id]?.[0]) : undefined;
    };
    /** CPU ms per token of [entry, a, b] in each run, in run order */
    const cpuPerToken: number[][] = [];
    /** [node a, node b] × [share of the run on CPU, share preempted] of each run's stage main threads */
    const shares: number[][][] = [];
    const variants = [() => aggregate(() => whole), () => aggregate(() => split), () => aggregate(byPlan)];
    const runs = variants.map(() => [] as number[]);
    for (let r = 0; r < o.reps; r++) {
      for (const [i, v] of variants.entries()) runs[i].push(await v());
    }
    const [one, piped, replicas] = runs.map((xs) => Math.max(...xs));
    const ratios = runs[0].map((base, r) =>
      `${(runs[1][r] / base).toFixed(2)}/${(runs[2][r] / base).toFixed(2)}`
    );
    console.log(
      `(b) ${STREAMS} streams, 2 nodes × 1 core (a:0-${half} → b:${half}-${L}): ${
        piped.toFixed(1)
      } tokens/s ` +
        `vs 1 node × 1 core ${one.toFixed(1)} tokens/s: ${(piped / one).toFixed(3)}× ` +
        `(target ≥ 1.7×; ${(piped / one / ceiling * 100).toFixed(0)}% of the ${ceiling.toFixed(2)}× ceiling)`,
    );
    console.log(
      `(c) ${STREAMS} streams to one entry, 2 single-node replicas [${described}]: ${replicas.toFixed(1)} ` +
        `tokens/s vs 1 node ${one.toFixed(1)} tokens/s: ${(replicas / one).toFixed(3)}× (target ≥ 1.8×; ` +
        `${(replicas / one / ceiling * 100).toFixed(0)}% of the ceiling)`,
    );
    console.log(`    each rep's (b)/(c) against that rep's one node: ${ratios.join(", ")}`);
    const cpuOf = (variant: number) => {
      const rows = cpuPerToken.filter((_, i) => i % variants.length === variant);
      return [0, 1, 2].map((k) => Math.min(...rows.map((r) => r[k])).toFixed(2)).join(" / ");
    };
    console.log(
      `    CPU ms per token, entry / a / b (least over reps; one core's compute is t(8)/8 = ${
        (t[8] / 8).toFixed(2)
      } ms): one node ${cpuOf(0)}, (b) ${cpuOf(1)}, (c) ${cpuOf(2)}`,
    );
    const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
    const shareOf = (variant: number) =>
      shares.filter((_, i) => i % variants.length === variant).map((run) =>
        run.map(([on, wait]) => `${pct(on)}+${pct(wait)}`).join(" ")
      ).join(", ");
    console.log(
      `    stage main threads a b, on CPU + preempted (waiting for a CPU: others' load), share of each run: ` +
        `one node ${shareOf(0)}; (b) ${shareOf(1)}; (c) ${shareOf(2)}`,
    );
    // the same runs with the time other processes held the stages' cores taken out: tokens/s ÷ (1 − the
    // mean preempted share of the stages the variant uses). An estimate of a quiet machine, not a
    // measurement: it assumes a stage would have run at the same speed had it kept its core.
    const quiet = runs.map((xs, v) =>
      Math.max(...xs.map((tps, r) => {
        const used = shares[r * variants.length + v].slice(0, v === 0 ? 1 : 2);
        return tps / (1 - used.reduce((sum, [, wait]) => sum + wait, 0) / used.length);
      }))
    );
    console.log(
      `    without the preempted time (estimate for a quiet machine): one node ${quiet[0].toFixed(1)}, ` +
        `(b) ${quiet[1].toFixed(1)} (${(quiet[1] / quiet[0]).toFixed(2)}×), ` +
        `(c) ${quiet[2].toFixed(1)} tokens/s (${(quiet[2] / quiet[0]).toFixed(2)}×)`,
    );
    return { split: piped / one, replicas: replicas / one };
  } finally {
    await Promise.all([nodes.a.stop(), nodes.b.stop()]);
  }
}

async function count(stream: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of stream) n++;
  return n;
}
