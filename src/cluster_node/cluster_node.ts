/**
 * A serving node's membership in the gossip ring: the I/O shell around `cluster/gossip`.
 *
 * - **Start**: opens the state directory, decides the key ring (`keyring_plan.ts`: a new ring gets a
 *   generated key, saved with mode 0600), picks an incarnation above any this node used before
 *   (`node.json`), and starts the gossip node in its Worker (a busy main thread — model loading, a
 *   long kernel — cannot delay its acks): `gossip_start.ts`. A port in use fails there, with one line.
 *   The lines that describe the ring and its membership changes are `describe_ring.ts`.
 * - **Join**: seeds are retried with exponential backoff until one answers (`join_retry.ts`); a
 *   seed that cannot authenticate us is reported as a key problem, not as "unreachable".
 * - **Load**: every `loadSampleMs` the scheduler is sampled into a live load (`load_meter.ts`) that
 *   rides in our acks; when it changed enough — or has not been sent for a while — it is also
 *   broadcast through the ring (rate-limited), so every node's view of every other stays seconds old.
 * - **Metadata**: capabilities (`node_capabilities.ts`) are announced at start (a loading node) and
 *   re-announced once the model is loaded and its throughput measured, when the layer plan this node
 *   follows changes ({@link ClusterNode.advertisePlan}: a joiner adopts it), and when the probe RTTs
 *   it measured moved enough to matter to the planner (`rtt_meter.ts`, rate-limited).
 * - **Keys**: install/use/remove act on the worker's key ring, are mirrored here (the worker does not
 *   hand keys back) and saved, so a restart keeps a rotation; {@link ClusterNode.watchKeys} tells the
 *   pipeline, whose connections authenticate with the same keys.
 *
 * @example
 * ```ts
 * const cluster = await ClusterNode.start({ settings, version: "0.1.0", apiAddr: "127.0.0.1:8080",
 *   engine: () => scheduler.stats(), log: (l) => console.error(l) });
 * await cluster.announce({ backend: "wasm", bytesPerSec: 2e9, model: { id: "m", layers: 22 } });
 * console.log((await cluster.status()).members.length);
 * await cluster.leave();
 * await cluster.shutdown();
 * ```
 *
 * @module
 */
import {
  encodeCapabilities,
  encodeLoad,
  type GossipWorker,
  type LiveLoad,
  MemberStatus,
} from "../../cluster/gossip/mod.ts";
import { ClusterKeyError } from "./cluster_errors.ts";
import type { ClusterControl, KeyListing, KeyOperation } from "./cluster_control.ts";
import type { ClusterSettings } from "./cluster_settings.ts";
import { buildClusterStatus, type ClusterStatus } from "./cluster_status.ts";
import { describeEvent, describeRing } from "./describe_ring.ts";
import { startGossip } from "./gossip_start.ts";
import {
  classifyJoinFailure,
  explainJoinFailure,
  type JoinFailureKind,
  joinRetryDelayMs,
} from "./join_retry.ts";
import { KeyRingMirror } from "./key_ring_mirror.ts";
import { type EngineSample, type LastBroadcast, loadBroadcastDue, LoadMeter } from "./load_meter.ts";
import { type CapabilityFacts, nodeCapabilities } from "./node_capabilities.ts";
import { RttMeter } from "./rtt_meter.ts";
import type { StateDir } from "./state_dir.ts";
import type { PipelineStatus } from "./pipeline_status.ts";

/** How long shutdown waits for the worker to stop before giving up on it, ms. */
const WORKER_STOP_TIMEOUT_MS = 2_000;

/** What {@link ClusterNode.start} needs. */
export interface ClusterNodeOptions {
  settings: ClusterSettings;
  /** edgering version, advertised. */
  version: string;
  /** "host:port" other nodes use for this node's API. */
  apiAddr: string;
  /** The scheduler's figures; undefined while the model loads. */
  engine: () => EngineSample | undefined;
  /** Writes one log line (without the "edgering: " prefix). */
  log: (line: string) => void;
  /** Also log the gossip engine's debug lines. */
  debug?: boolean;
  /** The layer plan for the status document; undefined until there is one. */
  pipeline?: () => PipelineStatus | undefined;
}

const IDLE: EngineSample = { queued: 0, active: 0, steps: 0, decodeTokens: 0 };

export class ClusterNode implements ClusterControl {
  #worker: GossipWorker;
  #ring: KeyRingMirror;
  #generated: boolean;
  #facts: CapabilityFacts;
  #persistedIncarnation: number;
  #meter = new LoadMeter();
  #selfLoad?: LiveLoad;
  #lastBroadcast?: LastBroadcast;
  #ticker?: ReturnType<typeof setInterval>;
  #ticking = false;
  #tickError = "";
  #stopped = false;
  #wake?: () => void;
  #joined = false;
  #joinError?: string;
  #keyOps: Promise<unknown> = Promise.resolve();
  #keyWatchers = new Set<(keys: readonly Uint8Array[] | undefined) => void>();
  #rtts = new RttMeter();
  #leaving?: Promise<void>;

  private constructor(
    readonly options: ClusterNodeOptions,
    readonly stateDir: StateDir,
    worker: GossipWorker,
    keys: Uint8Array[] | undefined,
    generated: boolean,
    facts: CapabilityFacts,
    incarnation: number,
  ) {
    this.#worker = worker;
    this.#ring = new KeyRingMirror(keys);
    this.#generated = generated;
    this.#facts = facts;
    this.#persistedIncarnation = incarnation;
  }

  /**
   * Starts the gossip node and, when there are seeds, the join attempts (in the background). Throws
   * {@link ClusterConfigError} (keys), {@link ClusterStartError} (port in use, worker failure) or
   * `StateDirError`.
   */
  static async start(options: ClusterNodeOptions): Promise<ClusterNode> {
    const { settings, log } = options;
    const { stateDir, worker, keys, generated, facts, incarnation } = await startGossip(
      settings,
      options,
      log,
    );
    const node = new ClusterNode(options, stateDir, worker, keys, generated, facts, incarnation);
    node.#listen();
    if (settings.insecure) {
      log(
        `warning: --insecure: the ring is unencrypted and unauthenticated — anyone who can reach ` +
          `${worker.address} can join it, read its traffic and forge members`,
      );
    }
    node.#ticker = setInterval(() => void node.#tick(), settings.timing.loadSampleMs);
    void node.#tick();
    if (settings.seeds.length > 0) void node.#joinLoop();
    return node;
  }

  /** Gossip "host:port" of this node. */
  get address(): string {
    return this.#worker.address;
  }

  /** Lines that tell the operator how the ring was set up; printed once the node is ready. For a new
   * ring started with a generated key this is the only place the key is ever shown. */
  describe(): Promise<string[]> {
    return describeRing({
      settings: this.options.settings,
      address: this.address,
      keys: this.#ring.encrypted ? this.#ring.keys : undefined,
      generated: this.#generated,
      keyringPath: this.stateDir.keyringPath,
    });
  }

  /** Re-announces the capabilities with what became known (backend, score, model). */
  async announce(facts: Partial<CapabilityFacts>): Promise<void> {
    this.#facts = { ...this.#facts, ...facts };
    await this.#worker.updateMeta(encodeCapabilities(nodeCapabilities(this.#facts)));
  }

  /** Advertises the layer plan this node follows (epoch and layout), so a node that joins can adopt
   * it instead of planning from scratch. A plan equal to the advertised one costs nothing. */
  async advertisePlan(plan: NonNullable<CapabilityFacts["plan"]>): Promise<void> {
    const old = this.#facts.plan;
    if (old && old.epoch === plan.epoch && JSON.stringify(old.replicas) === JSON.stringify(plan.replicas)) {
      return;
    }
    await this.announce({ plan });
  }

  /**
   * Calls `listener` with the new keys (primary first) after every change through
   * {@link changeKeys}; returns the function that stops it. The pipeline follows the ring this way.
   */
  watchKeys(listener: (keys: readonly Uint8Array[] | undefined) => void): () => void {
    this.#keyWatchers.add(listener);
    return () => this.#keyWatchers.delete(listener);
  }

  async status(): Promise<ClusterStatus> {
    const [members, info] = await Promise.all([this.#worker.members(), this.#worker.info()]);
    const engine = this.options.engine() ?? IDLE;
    return buildClusterStatus({
      members,
      info,
      selfLoad: this.#selfLoad,
      apiAddr: this.options.apiAddr,
      profile: this.options.settings.profile,
      keyCount: this.#ring.keys.length,
      seeds: this.options.settings.seeds,
      joined: this.#joined,
      joinError: this.#joinError,
      requests: { queued: engine.queued, active: engine.active },
      nowMs: Date.now(),
      pipeline: this.options.pipeline?.(),
    });
  }

  /** The cluster keys (primary first), or undefined on an --insecure ring: the pipeline's
   * connections authenticate with the same keys as gossip. */
  get keys(): readonly Uint8Array[] | undefined {
    return this.#ring.encrypted ? this.#ring.keys : undefined;
  }

  /** This node's id in the ring (its gossip name): what the planner and the pipeline call it. */
  get name(): string {
    return this.options.settings.name;
  }

  listKeys(): Promise<KeyListing> {
    return this.#ring.listing(this.options.settings.name);
  }

  changeKeys(op: KeyOperation, key: string): Promise<KeyListing> {
    // one change at a time: each reads and writes the mirror and the saved ring
    const next = this.#keyOps.then(() => this.#changeKeys(op, key));
    this.#keyOps = next.catch(() => {});
    return next;
  }

  /** Leaves the ring gracefully (peers record "left", not "failed"), waiting at most the profile's
   * leave timeout. Later calls return the first one's promise. */
  leave(): Promise<void> {
    const timeout = this.options.settings.timing.leaveTimeoutMs;
    this.#leaving ??= withTimeout(this.#worker.leave(timeout).catch(() => {}), timeout + 500).then(() => {});
    return this.#leaving;
  }

  /** Stops sampling and joining, saves the incarnation and stops the worker — without leaving: call
   * {@link leave} first unless the others should see this node fail. */
  async shutdown(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#ticker);
    this.#wake?.();
    await withTimeout(this.#persistIncarnation().catch(() => {}), WORKER_STOP_TIMEOUT_MS);
    await withTimeout(this.#worker.shutdown().catch(() => {}), WORKER_STOP_TIMEOUT_MS);
  }

  #listen(): void {
    const log = this.options.log;
    this.#worker.onEvent = (e) => {
      // our own join and leave are told by the start and shutdown lines
      if (e.member.name === this.options.settings.name && e.type !== "conflict") return;
      const line = describeEvent(e);
      if (line) log(`ring: ${line}`);
    };
    this.#worker.onLog = (level, message) => {
      if (level === "warn" || this.options.debug) log(`ring: ${level}: ${message}`);
    };
  }

  async #tick(): Promise<void> {
    if (this.#ticking || this.#stopped) return;
    this.#ticking = true;
    try {
      const info = await this.#worker.info();
      const now = performance.now();
      const load = this.#meter.sample(now, this.options.engine() ?? IDLE, info.healthScore);
      this.#selfLoad = load;
      const bytes = encodeLoad(load);
      await this.#worker.setLoad(bytes);
      if (loadBroadcastDue(this.#lastBroadcast, load, now, this.options.settings.timing)) {
        await this.#worker.broadcastUserState(bytes);
        this.#lastBroadcast = { load, at: now };
      }
      if (info.incarnation > this.#persistedIncarnation) await this.#persistIncarnation(info.incarnation);
      await this.#sampleRtts(now);
      this.#tickError = "";
    } catch (error) {
      const message = (error as Error).message;
      if (!this.#stopped && message !== this.#tickError) {
        this.options.log(`ring: load update failed: ${message}`);
      }
      this.#tickError = message;
    } finally {
      this.#ticking = false;
    }
  }

  /** Feeds the latest probe RTTs of live peers to the meter; publishes them when due. */
  async #sampleRtts(now: number): Promise<void> {
    const rtts = new Map<string, number>();
    for (const m of await this.#worker.members()) {
      const live = m.status === MemberStatus.Alive || m.status === MemberStatus.Suspect;
      if (live && m.name !== this.options.settings.name && m.rttMs !== undefined) rtts.set(m.name, m.rttMs);
    }
    this.#rtts.sample(rtts, now);
    const due = this.#rtts.publishDue(now);
    if (due) await this.announce({ rttsMs: due });
  }

  async #persistIncarnation(known?: number): Promise<void> {
    const incarnation = known ?? (await this.#worker.info()).incarnation;
    if (incarnation <= this.#persistedIncarnation) return;
    await this.stateDir.writeNode({ id: this.#facts.id, incarnation });
    this.#persistedIncarnation = incarnation;
  }

  async #joinLoop(): Promise<void> {
    const { seeds, timing } = this.options.settings;
    let lastKind: JoinFailureKind | undefined;
    for (let attempt = 1; !this.#stopped; attempt++) {
      try {
        const reached = await this.#worker.join(seeds);
        if (this.#stopped) return;
        this.#joined = true;
        this.#joinError = undefined;
        const known = (await this.#worker.members()).length;
        this.options.log(
          `ring: joined through ${reached} of ${seeds.length} seed(s); ${known} members known`,
        );
        return;
      } catch (error) {
        if (this.#stopped) return;
        const message = (error as Error).message;
        const kind = classifyJoinFailure(message);
        this.#joinError = message;
        // refusals every time (at the slowest pace); unreachable seeds on the 1st, 2nd, 4th, 8th… try
        if (kind !== "unreachable" || kind !== lastKind || (attempt & (attempt - 1)) === 0) {
          this.options.log(`ring: ${explainJoinFailure(kind, seeds, message)}`);
        }
        lastKind = kind;
        const delay = kind === "unreachable"
          ? joinRetryDelayMs(attempt, timing.joinRetryStartMs, timing.joinRetryMaxMs, Math.random())
          : timing.joinRetryMaxMs;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  async #changeKeys(op: KeyOperation, text: string): Promise<KeyListing> {
    const raw = await this.#ring.resolve(op, text);
    const change = op === "install"
      ? this.#worker.installKey(raw)
      : op === "use"
      ? this.#worker.useKey(raw)
      : this.#worker.removeKey(raw);
    await change.catch((error) => {
      throw new ClusterKeyError((error as Error).message);
    });
    this.#ring.apply(op, raw);
    const listing = await this.listKeys();
    try {
      await this.stateDir.writeKeyring(this.#ring.keys);
    } catch (error) {
      listing.warning = `the change is live but was not saved: ${(error as Error).message}`;
      this.options.log(`ring: ${listing.warning}`);
    }
    this.options.log(
      `ring: keys ${op}: now ${listing.keys.length} key(s), primary ${listing.keys[0].fingerprint}`,
    );
    for (const listener of this.#keyWatchers) {
      try {
        listener(this.keys);
      } catch (error) {
        this.options.log(`ring: a key watcher failed: ${(error as Error).message}`);
      }
    }
    return listing;
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expiry = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([work, expiry]).finally(() => clearTimeout(timer));
}
