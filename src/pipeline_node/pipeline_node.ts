/**
 * A serving node's part in the layer pipeline: the I/O shell around the planner and the pipeline
 * runtime (`cluster/planner`, `cluster/pipeline`).
 *
 * Every `POLL_MS` (and once at start) the node reads its gossip view, builds the planner's input from
 * the members that serve the same model (planner_view.ts: their figures and the RTTs they measured
 * to each other), takes the plan the ring runs as its current one (plan_adoption.ts: a joiner adopts
 * it rather than proposing its own) and asks `nextPlan` for the plan to follow: a new epoch when the
 * layout broke (a node joined, left or died) or a fresh plan predicts enough more tokens/s
 * (hysteresis against load noise). It advertises the plan it follows in its gossip metadata. Then:
 *
 * - **local**: the model fits this node (`--weights-memory` ≥ its bytes) and the plan keeps it alone:
 *   requests go to the local scheduler, exactly as without a cluster.
 * - **pipeline**: requests go through a {@link PipelineEngine} whose routes come from the current plan
 *   (`routeRequest` across replicas, addresses from gossip). A node in no stage still serves as entry.
 * - **none**: no plan covers the model; requests fail at once with NoPipelineError (HTTP 503).
 *
 * When the plan gives this node a stage that some entry will use, a {@link StageServer} runs that layer
 * range on the pipeline port (reserved at start and advertised as `pipelineAddr`, so peers can plan
 * with it before any stage runs); a changed range is loaded beside the old one on the same port
 * (`StageServer.setRange`), so sequences of the old plan finish on it while new ones use the new plan;
 * a new epoch with the same range is only accepted; a node left out of the plan closes its stage once
 * the old plan's sequences have finished there (`closeWhenIdle`). A member that gossip no longer reports alive is reported dead to the engine, which
 * replays its sequences on another route.
 *
 * Stage servers and the entry engine share one key ring, which follows the gossip ring's through
 * `watchKeys` (follow_keys.ts): a rotation by `edgering keys` reaches new pipeline connections at once.
 *
 * @example
 * ```ts
 * const pipeline = await PipelineNode.start({ cluster, model, served, modelId, weightsMemory, ... });
 * await cluster.announce({ pipelineAddr: pipeline.address, ... });
 * pipeline.run();
 * // later
 * await pipeline.close();
 * ```
 *
 * @module
 */
import { Keyring } from "../../cluster/gossip/keyring.ts";
import { PipelineEngine, routeFromReplica, StageServer, WireDtype } from "../../cluster/pipeline/mod.ts";
import {
  type ModelCost,
  modelCostFromTensors,
  nextPlan,
  type Plan,
  routeRequest,
  totalModelBytes,
} from "../../cluster/planner/mod.ts";
import type { ServedModel } from "../api/node_state.ts";
import type { ClusterStatus } from "../cluster_node/cluster_status.ts";
import { type PipelineMode, type PipelineStatus, pipelineStatus } from "../cluster_node/pipeline_status.ts";
import type { Backend } from "../backend/backend.ts";
import type { GgufFile } from "../gguf/mod.ts";
import type { ModelConfig } from "../model/model_config.ts";
import type { LayerRange } from "../model/model_weights.ts";
import type { Tokenizer } from "../tokenizer/mod.ts";
import { followKeys } from "./follow_keys.ts";
import { referencePlan } from "./plan_adoption.ts";
import {
  avoiding,
  layoutEpoch,
  pipelineInUse,
  type PipelineView,
  plannerView,
  servesAlone,
  stageOf,
} from "./planner_view.ts";

/** How often the gossip view is re-read for a new plan, ms: a fraction of the local profile's failure
 * detection time (≈ 2 s), so a new plan follows a death within a few hundred ms of gossip knowing it. */
export const POLL_MS = 250;

/** How long a new plan epoch settles before a failover replays on it, ms. Every node adopts the epoch
 * on its own, when its gossip view shows the change and its next poll runs (up to POLL_MS later), and
 * then starts its stage; a replay sent at once reaches stages still on the old epoch, which refuse it
 * and burn the sequence's failovers. New requests are not held back: a refusal only retries them. */
export const EPOCH_SETTLE_MS = 1_000;

/** What the gossip side must provide (ClusterNode does). */
export interface PipelineCluster {
  /** this node's gossip name: its id in plans and on stage connections */
  readonly name: string;
  /** cluster keys, primary first; undefined on an --insecure ring */
  readonly keys: readonly Uint8Array[] | undefined;
  status(): Promise<ClusterStatus>;
  /** advertises the plan this node follows, for joiners to adopt (ClusterNode.advertisePlan) */
  advertisePlan?(plan: {
    epoch: number;
    replicas: ReadonlyArray<ReadonlyArray<{ node: string; end: number }>>;
  }): Promise<void>;
  /** calls `listener` after each key change; returns the function that stops it (ClusterNode.watchKeys) */
  watchKeys?(listener: (keys: readonly Uint8Array[] | undefined) => void): () => void;
}

/** The model as this node has it: what stages and the entry engine need, without the whole model
 * loaded (a node too small for the model holds only the stage the plan gives it). A LoadedModel gives
 * it as `{ file, cfg, tokenizer, backend: forward.backend, ctx }`. */
export interface PipelineModel {
  /** the open GGUF: stages read their ranges from it */
  readonly file: GgufFile;
  readonly cfg: ModelConfig;
  readonly tokenizer: Tokenizer;
  /** where stages load their weights */
  readonly backend: Backend;
  /** context per sequence, tokens */
  readonly ctx: number;
}

/** What {@link PipelineNode.start} needs. */
export interface PipelineNodeOptions {
  readonly cluster: PipelineCluster;
  /** the model: config, tokenizer, its open GGUF and the backend stages run on */
  readonly model: PipelineModel;
  /** what the API serves; its `target` is switched between the scheduler and the engine */
  readonly served: ServedModel;
  /** model id advertised in gossip: members with the same id are planned together */
  readonly modelId: string;
  /** bytes this node may hold (`--weights-memory`) */
  readonly weightsMemory: number;
  /** interface the stage server binds */
  readonly bindHost: string;
  /** host peers dial (gossip's advertise host) */
  readonly advertiseHost: string;
  /** `--pipeline-port`; 0 picks a free one at start */
  readonly port: number;
  readonly wireDtype: "f16" | "f32";
  readonly log: (line: string) => void;
}

/** Reserves `port` on `hostname` (0: a free one) and returns its number. Throws Deno's error. */
function reservePort(hostname: string, port: number): number {
  const listener = Deno.listen({ hostname, port, transport: "tcp" });
  const reserved = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return reserved;
}

/** Runs this node's share of the plan. See the module doc. */
export class PipelineNode {
  readonly #o: PipelineNodeOptions;
  readonly #cost: ModelCost;
  readonly #modelBytes: number;
  readonly #port: number;
  readonly #keyring?: Keyring;
  #plan?: Plan;
  /** performance.now() when this node adopted the current plan epoch */
  #adoptedAt = 0;
  #reason = "no-plan";
  #mode: PipelineMode = "local";
  #view?: PipelineView;
  #stage?: StageServer;
  /** a stage the plan left out, finishing the old plan's sequences before it closes (closeWhenIdle) */
  #retiring?: StageServer;
  #stageStarting?: Promise<void>;
  #engine?: PipelineEngine;
  #timer?: ReturnType<typeof setInterval>;
  #refreshing = false;
  #closed = false;
  #unwatchKeys?: () => void;
  #keysFollowed: Promise<void> = Promise.resolve();

  private constructor(o: PipelineNodeOptions, port: number, keyring: Keyring | undefined) {
    this.#o = o;
    this.#cost = modelCostFromTensors(o.model.cfg, o.model.file.header.tensors);
    this.#modelBytes = totalModelBytes(this.#cost);
    this.#port = port;
    this.#keyring = keyring;
    this.#unwatchKeys = o.cluster.watchKeys?.((keys) => this.#followKeys(keys));
    if (o.weightsMemory < this.#modelBytes) {
      // never local: requests go to the engine from the start (503 no_pipeline until a plan exists)
      this.#mode = "none";
      o.served.target = this.#engine = this.#newEngine();
    }
  }

  /** Reserves the pipeline port and builds the keyring; nothing runs until {@link run}. */
  static async start(o: PipelineNodeOptions): Promise<PipelineNode> {
    const port = reservePort(o.bindHost, o.port);
    const keys = o.cluster.keys;
    const keyring = keys && keys.length > 0 ? await Keyring.create(keys) : undefined;
    return new PipelineNode(o, port, keyring);
  }

  /** "host:port" peers dial for this node's stage: advertise it as `pipelineAddr`. */
  get address(): string {
    const h = this.#o.advertiseHost;
    return `${h.includes(":") ? `[${h}]` : h}:${this.#port}`;
  }

  /** Weight bytes of the whole model on one node. */
  get modelBytes(): number {
    return this.#modelBytes;
  }

  /** How requests are served now. */
  get mode(): PipelineMode {
    return this.#mode;
  }

  /** Starts re-planning every POLL_MS. */
  run(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => void this.refresh(), POLL_MS);
    void this.refresh();
  }

  /** The plan for the status document. */
  status(): PipelineStatus | undefined {
    if (!this.#plan) return undefined;
    const stage = this.#stage;
    return pipelineStatus(this.#plan, {
      mode: this.#mode,
      reason: this.#reason,
      model: this.#o.modelId,
      modelBytes: this.#modelBytes,
      stage: stage ? { start: stage.range.start, end: stage.range.end, address: stage.address } : undefined,
    });
  }

  /** The pipeline's key ring, shared by the stage server and the entry engine; undefined when insecure. */
  get keyring(): Keyring | undefined {
    return this.#keyring;
  }

  /** Reads the gossip view once and follows the plan it gives. Never throws (logs instead). */
  async refresh(): Promise<void> {
    if (this.#refreshing || this.#closed) return;
    this.#refreshing = true;
    try {
      // a key change missed by the watcher (or with none) is caught here, one poll late
      if (this.#o.cluster.keys) this.#followKeys(this.#o.cluster.keys);
      const status = await this.#o.cluster.status();
      if (this.#closed) return;
      const view = plannerView(status.members, this.#o.modelId);
      for (const id of this.#view?.alive ?? []) {
        if (!view.alive.has(id)) this.#engine?.reportDead(id);
      }
      this.#view = view;
      const input = { epoch: 0, members: view.members, model: this.#cost, rttMs: view.rttMs };
      const options = { wireBytesPerValue: this.#o.wireDtype === "f32" ? 4 : 2 };
      const self = this.#o.cluster.name;
      const reference = referencePlan(this.#plan, view, self, input, options);
      const { plan, decision } = nextPlan(reference.plan, input, options);
      const next = decision.replan ? { ...plan, epoch: layoutEpoch(plan) } : plan;
      if (next.epoch !== this.#plan?.epoch) {
        const reason = decision.replan ? decision.reason : reference.adopted ? "adopted" : decision.reason;
        if (decision.replan || reference.adopted) {
          this.#reason = reason;
          this.#o.log(`pipeline: plan epoch ${next.epoch} (${reason}): ${describe(next)}`);
        }
        this.#adoptedAt = performance.now();
      }
      this.#plan = next;
      await this.#o.cluster.advertisePlan?.({
        epoch: next.epoch,
        replicas: next.replicas.map((r) => r.stages.map((s) => ({ node: s.nodeId, end: s.end }))),
      });
      await this.#follow(next, view);
    } catch (error) {
      if (!this.#closed) this.#o.log(`pipeline: re-planning failed: ${(error as Error).message}`);
    } finally {
      this.#refreshing = false;
    }
  }

  /** Stops re-planning, the stage server and the engine; the API falls back to the scheduler. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#unwatchKeys?.();
    this.#o.served.target = undefined;
    await this.#stageStarting?.catch(() => {});
    await Promise.all([this.#stage?.close(), this.#retiring?.close(), this.#engine?.close()]);
    this.#stage = undefined;
    this.#engine = undefined;
  }

  /** Brings the shared key ring to `keys`, one change after another. */
  #followKeys(keys: readonly Uint8Array[] | undefined): void {
    const ring = this.#keyring;
    if (!ring || !keys || keys.length === 0) return;
    this.#keysFollowed = this.#keysFollowed.then(() => followKeys(ring, keys)).catch((error) =>
      this.#o.log(`pipeline: cannot follow the cluster keys: ${(error as Error).message}`)
    );
  }

  async #follow(plan: Plan, view: PipelineView): Promise<void> {
    const self = this.#o.cluster.name;
    const fits = this.#o.weightsMemory >= this.#modelBytes;
    const mode: PipelineMode = fits && (plan.replicas.length === 0 || servesAlone(plan, self))
      ? "local"
      : plan.replicas.length === 0
      ? "none"
      : "pipeline";
    if (mode !== this.#mode) {
      this.#o.log(
        `pipeline: serving ${
          mode === "local"
            ? "locally"
            : `through the ${mode === "none" ? "pipeline (no plan covers the model yet)" : "pipeline"}`
        }`,
      );
    }
    this.#mode = mode;
    if (mode === "local") {
      this.#o.served.target = undefined;
    } else {
      this.#o.served.target = this.#engine ??= this.#newEngine();
    }
    const stage = stageOf(plan, self);
    const wanted = stage && pipelineInUse(plan, view.members, this.#modelBytes) ? stage : undefined;
    await this.#runStage(wanted, plan.epoch);
  }

  /** Starts, replaces or stops the stage server so that it runs `range` under `epoch`. */
  async #runStage(range: LayerRange | undefined, epoch: number): Promise<void> {
    // a stage still finishing the old plan's sequences is taken back into use (it holds the port)
    if (!this.#stage && range && this.#retiring && !this.#retiring.isClosed) {
      [this.#stage, this.#retiring] = [this.#retiring, undefined];
    }
    const current = this.#stage;
    if (current && range && sameRange(current.range, range)) {
      current.acceptEpoch(epoch);
      return;
    }
    if (current && range) {
      // a new range beside the old on the same port: sequences of the old plan finish there
      try {
        await current.setRange(range, epoch);
        return;
      } catch (error) {
        this.#o.log(
          `pipeline: cannot switch to layers ${range.start}-${range.end}: ${(error as Error).message}`,
        );
      }
    }
    if (!current && !range) return;
    this.#stage = undefined;
    if (current && !range) {
      // left out of the plan: sequences of the old plan finish here, then the server closes
      this.#retiring = current;
      current.closeWhenIdle().then((closed) => {
        if (closed && this.#retiring === current) this.#retiring = undefined;
      });
      return;
    }
    await current?.close();
    if (!range || this.#closed) return;
    const o = this.#o;
    const starting = StageServer.start({
      nodeId: o.cluster.name,
      model: o.model.file,
      range: { start: range.start, end: range.end, embedding: range.embedding, head: range.head },
      backend: o.model.backend,
      keyring: this.#keyring,
      hostname: o.bindHost,
      port: this.#port,
      advertiseHost: o.advertiseHost,
      epochs: [epoch],
      ctx: o.model.ctx,
      log: (line) => o.log(`pipeline stage: ${line}`),
    }).then((server) => {
      this.#stage = server;
      o.log(`pipeline: running layers ${range.start}-${range.end} on ${server.address} (epoch ${epoch})`);
    });
    this.#stageStarting = starting;
    try {
      await starting;
    } catch (error) {
      o.log(`pipeline: cannot run layers ${range.start}-${range.end}: ${(error as Error).message}`);
    }
  }

  #newEngine(): PipelineEngine {
    const o = this.#o;
    return new PipelineEngine({
      nodeId: o.cluster.name,
      cfg: o.model.cfg,
      tokenizer: o.model.tokenizer,
      keyring: this.#keyring,
      wireDtype: o.wireDtype === "f32" ? WireDtype.F32 : WireDtype.F16,
      ctx: o.model.ctx,
      log: (line) => o.log(`pipeline entry: ${line}`),
      resolveRoute: ({ avoid, attempt }) => {
        const plan = this.#plan;
        const view = this.#view;
        if (!plan || !view) return undefined;
        // a replay waits (the engine asks again) until the other nodes have followed a new epoch
        if (attempt > 0 && performance.now() - this.#adoptedAt < EPOCH_SETTLE_MS) return undefined;
        const usable = avoiding(plan, avoid);
        const route = routeRequest(usable, view.depths);
        return route &&
          routeFromReplica(plan.epoch, usable.replicas[route.replica], (id) => view.addresses.get(id));
      },
    });
  }
}

function sameRange(a: LayerRange, b: LayerRange): boolean {
  return a.start === b.start && a.end === b.end && a.embedding === b.embedding && a.head === b.head;
}

/** "a:0-2>b:2-5 | c:0-5" */
function describe(plan: Plan): string {
  if (plan.replicas.length === 0) return "no replica can hold the model";
  return plan.replicas.map((r) => r.stages.map((s) => `${s.nodeId}:${s.start}-${s.end}`).join(">")).join(
    " | ",
  );
}
