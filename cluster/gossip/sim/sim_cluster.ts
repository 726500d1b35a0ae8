/**
 * A ring of real {@link GossipNode}s on a {@link SimNetwork} under one virtual clock, with the
 * levers the acceptance scenarios need (crash, pause, partition, loss) and a log of every member
 * event each node observed, from which detection times and false deaths are computed.
 *
 * @example
 * ```ts
 * const c = new SimCluster({ n: 50, profile: "lan", seed: 1 });
 * c.boot();
 * const t0 = c.now();
 * c.crash("n07");
 * c.runFor(30_000);
 * c.detectionTimes("n07", t0); // ms until each live node marked it dead
 * ```
 *
 * @module
 */

import { type GossipConfig, type GossipProfile, resolveConfig } from "../config.ts";
import { GossipNode, type GossipNodeOptions } from "../gossip_node.ts";
import type { MemberEvent } from "../member_table.ts";
import { MemberStatus } from "../messages.ts";
import { seededRng } from "../rng.ts";
import { type LinkConditions, SIM_DEFAULT_OVERHEAD, SimNetwork, type SimTransport } from "./sim_network.ts";
import { NodeClock, VirtualScheduler } from "./virtual_clock.ts";

/** Options of a {@link SimCluster}. */
export interface SimClusterOptions {
  n: number;
  profile?: GossipProfile;
  seed?: number;
  /** Adjusts each node's config (e.g. `withoutLifeguard`). */
  tweak?: (c: GossipConfig) => GossipConfig;
  link?: Partial<LinkConditions>;
  packetOverhead?: number;
  /** Virtual epoch (ms); incarnations are time-based so it should look like a real date. */
  startMs?: number;
  /** Extra per-node options (metadata, ack payload). */
  nodeOptions?: (name: string) => Partial<Pick<GossipNodeOptions, "meta" | "ackPayload" | "log">>;
}

/** One simulated node. */
export interface SimMember {
  name: string;
  addr: string;
  clock: NodeClock;
  transport: SimTransport;
  node: GossipNode;
  crashed: boolean;
}

/** A member event as one node observed it. */
export interface ObservedEvent {
  at: number;
  observer: string;
  subject: string;
  type: MemberEvent["type"];
  incarnation: number;
}

const DEFAULT_EPOCH = Date.UTC(2025, 0, 1);

export class SimCluster {
  readonly scheduler: VirtualScheduler;
  readonly network: SimNetwork;
  readonly members: SimMember[] = [];
  readonly byName = new Map<string, SimMember>();
  readonly events: ObservedEvent[] = [];
  readonly #seed: number;

  constructor(readonly options: SimClusterOptions) {
    this.#seed = options.seed ?? 1;
    this.scheduler = new VirtualScheduler(options.startMs ?? DEFAULT_EPOCH);
    this.network = new SimNetwork(this.scheduler, seededRng(this.#seed * 7919 + 17), options.link);
    for (let i = 0; i < options.n; i++) this.#create(i);
  }

  now(): number {
    return this.scheduler.now();
  }

  runFor(ms: number): void {
    this.scheduler.runFor(ms);
  }

  /** Runs in `stepMs` steps until `done()` or `maxMs` passed; returns the elapsed ms, or -1. */
  runUntil(done: () => boolean, maxMs: number, stepMs = 100): number {
    const start = this.now();
    while (this.now() - start <= maxMs) {
      if (done()) return this.now() - start;
      this.runFor(stepMs);
    }
    return -1;
  }

  /** Starts every node, joins each through the first one (spread over `spreadMs`), and runs until
   * every node sees every other alive. Returns the time that took (ms) or -1. */
  boot(maxMs = 120_000, spreadMs = 1_000): number {
    const [seed, ...rest] = this.members;
    seed.node.start();
    for (const m of rest) {
      this.scheduler.schedule(
        this.now() + seededRng(m.name.length * 31 + this.members.indexOf(m)).next() * spreadMs,
        () => {
          m.node.start();
          m.node.join([seed.addr]).catch(() => {});
        },
      );
    }
    return this.runUntil(() => this.converged(), maxMs);
  }

  /** Adds and starts a new node that joins through `seedName`. */
  addNode(seedName: string): SimMember {
    const m = this.#create(this.members.length);
    m.node.start();
    m.node.join([this.byName.get(seedName)!.addr]).catch(() => {});
    return m;
  }

  /** Restarts a crashed node as a fresh process under the same name and address, joining through
   * `seedName`. Its time-based incarnation beats the one it died with. */
  restart(name: string, seedName: string): SimMember {
    const m = this.byName.get(name)!;
    m.clock.halt();
    const fresh = this.#build(this.members.indexOf(m), this.#restarts++);
    Object.assign(m, fresh, { crashed: false });
    m.node.start();
    m.node.join([this.byName.get(seedName)!.addr]).catch(() => {});
    return m;
  }

  /** True when every node that did not crash or leave runs and sees exactly those nodes alive. */
  converged(): boolean {
    const up = this.members.filter((m) => !m.crashed && !m.node.table.leaving);
    for (const m of up) {
      if (!m.node.running) return false;
      let alive = 0;
      for (const s of m.node.table.members()) if (s.status === MemberStatus.Alive) alive++;
      if (alive !== up.length) return false;
      for (const o of up) if (m.node.table.get(o.name)?.status !== MemberStatus.Alive) return false;
    }
    return true;
  }

  /** What `observer` believes about `subject`. */
  view(observer: string, subject: string): MemberStatus | undefined {
    return this.byName.get(observer)!.node.table.get(subject)?.status;
  }

  crash(name: string): void {
    const m = this.byName.get(name)!;
    m.crashed = true;
    m.clock.halt();
  }

  pause(name: string): void {
    this.byName.get(name)!.clock.pause();
  }

  resume(name: string): void {
    this.byName.get(name)!.clock.resume();
  }

  /** For each live node other than `subject`: ms from `since` until it first marked `subject`
   * dead (Infinity if it never did). */
  detectionTimes(subject: string, since: number): number[] {
    const first = new Map<string, number>();
    for (const e of this.events) {
      if (e.subject === subject && e.type === "dead" && e.at >= since && !first.has(e.observer)) {
        first.set(e.observer, e.at - since);
      }
    }
    return this.members
      .filter((m) => !m.crashed && m.name !== subject)
      .map((m) => first.get(m.name) ?? Infinity);
  }

  /** "dead" events about members that never crashed, seen by nodes outside `exclude`. */
  falseDeads(since = 0, exclude: ReadonlySet<string> = new Set()): ObservedEvent[] {
    return this.events.filter((e) =>
      e.type === "dead" && e.at >= since && !this.byName.get(e.subject)?.crashed &&
      !exclude.has(e.subject) && !exclude.has(e.observer)
    );
  }

  /** Wire bytes per second per node over `ms` (datagrams + streams, both directions averaged). */
  bytesPerSecond(ms: number, before: Map<string, number>): number[] {
    return this.members.filter((m) => !m.crashed).map((m) =>
      (this.#bytesOut(m) - (before.get(m.name) ?? 0)) / (ms / 1000)
    );
  }

  /** Snapshot of bytes sent per node, for {@link bytesPerSecond}. */
  bytesSnapshot(): Map<string, number> {
    return new Map(this.members.map((m) => [m.name, this.#bytesOut(m)]));
  }

  #bytesOut(m: SimMember): number {
    const c = this.network.counters(m.addr);
    return c.bytesSent + c.streamBytesSent;
  }

  #restarts = 1;

  #create(i: number): SimMember {
    const m = this.#build(i, 0);
    this.members.push(m);
    this.byName.set(m.name, m);
    return m;
  }

  #build(i: number, generation: number): SimMember {
    const name = `n${String(i).padStart(3, "0")}`;
    const addr = `10.0.${i >> 8}.${i & 255}:7946`;
    const clock = new NodeClock(this.scheduler);
    const transport = this.network.attach(addr, clock, this.options.packetOverhead ?? SIM_DEFAULT_OVERHEAD);
    let config = resolveConfig(this.options.profile ?? "lan", { name });
    if (this.options.tweak) config = this.options.tweak(config);
    const node = new GossipNode({
      config,
      transport,
      clock,
      rng: seededRng(this.#seed * 1_000_003 + i * 7 + generation * 65_537 + 1),
      ...this.options.nodeOptions?.(name),
      onEvent: (e) =>
        this.events.push({
          at: e.at,
          observer: name,
          subject: e.member.name,
          type: e.type,
          incarnation: e.member.incarnation,
        }),
    });
    return { name, addr, clock, transport, node, crashed: false };
  }
}

/** The q-quantile (0..1) of `values` (nearest rank). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
