/**
 * # edgering gossip ring — SWIM with Lifeguard
 *
 * Every node keeps a member table (name, address, metadata, incarnation, status) and converges on
 * the same view as every other node without any coordinator:
 *
 * - **Failure detection** (`prober.ts`): once per probe interval, ping the next member in a
 *   shuffled round-robin; on silence ask k peers to ping it (they nack if they cannot) and try a
 *   TCP ping; still silent → *suspect* it. A suspect is probed with its suspicion attached (the
 *   "buddy" rule), so its ack can already carry its refutation.
 * - **Suspicion** (`member_table.ts`, `suspicion_timers.ts`): a suspect member has a timer of
 *   suspicionMult·log10(N)·interval, started up to suspicionMaxTimeoutMult times longer and
 *   shortened by each independent confirmation (Lifeguard). When it fires the member is *dead*.
 *   A member that hears it is suspected refutes by bumping its incarnation; the newer incarnation
 *   wins everywhere. Incarnations start at the Unix second, so a restarted node beats its former
 *   self, and values implausibly far in the future are rejected.
 * - **Local health** (`awareness.ts`): missed nacks and refutations mean *we* are slow; our probe
 *   interval stretches up to awarenessMaxMultiplier× so a stalled node does not accuse others.
 * - **Dissemination** (`broadcast_queue.ts`, `packet_sender.ts`): every state change is queued
 *   (newest per member) and piggybacked on pings and acks, plus a gossip round to a few random
 *   members every gossip interval, each message sent retransmitMult·ceil(log10(N+1)) times.
 * - **Anti-entropy** (`push_pull.ts`, `reconnector.ts`): a periodic TCP push-pull exchanges full
 *   state with one random member; the same exchange is how a node joins and how protocol versions
 *   are negotiated. Failed members are retried now and then (Serf's reconnect), and a datagram from
 *   a member we think dead triggers a sync with it, so a healed partition merges in seconds.
 * - **User state** (`user_states.ts`): a small per-node record (the live load) spread like
 *   membership news — queued newest-replaces-older and re-gossiped by every node that learns a
 *   newer one — so every node's view of every other node's load stays seconds old, where acks
 *   alone refresh it only once per N probe intervals.
 * - **Leave**: broadcast our own "dead" (peers record it as *left*, not failed) and tell every
 *   live member directly, then stop.
 * - **Security** (`envelope.ts`, `keyring.ts`, `net_transport.ts`): every datagram and stream is
 *   labelled with the cluster label and AES-GCM encrypted with a rotatable key ring; anything that
 *   fails is counted and dropped. **Isolation** (`worker/`): the node can run in its own Worker so
 *   a busy main thread cannot delay its acks.
 *
 * Time, randomness and the network come in through {@link Clock}, {@link Rng} and
 * {@link Transport}, so the same class runs on real sockets and in the deterministic simulator
 * (`sim/`). Node metadata (capabilities ≤ 512 bytes) and live load (in ack payloads) are
 * encoded by `node_meta.ts`.
 *
 * This file is the shell: it wires the parts, runs the loops, joins, leaves and answers queries.
 * Received input is routed by `message_handler.ts` (stale rumors answered by `stale_corrector.ts`,
 * user states kept by `user_states.ts`); everything sent leaves through `packet_sender.ts`.
 *
 * @example
 * ```ts
 * const transport = NetTransport.listen({ hostname: "127.0.0.1", port: 7946, label: "edge", keyring });
 * const node = new GossipNode({ config: localConfig("node-a"), transport });
 * node.start();
 * await node.join(["127.0.0.1:7947"]);
 * console.log(node.members().map((m) => m.name));
 * ```
 *
 * @module
 */

import { Awareness } from "./awareness.ts";
import { BroadcastQueue } from "./broadcast_queue.ts";
import { type Clock, systemClock, type TimerHandle } from "./clock.ts";
import { encodeMessage } from "./codec.ts";
import type { GossipConfig } from "./config.ts";
import { GossipError, JoinError } from "./errors.ts";
import { type MemberEvent, type MemberState, MemberTable } from "./member_table.ts";
import { type InboundStats, MessageHandler } from "./message_handler.ts";
import { type DeadMsg, MemberStatus, MessageType } from "./messages.ts";
import { PacketSender, type PacketSenderStats } from "./packet_sender.ts";
import { Prober, type ProbeStats } from "./prober.ts";
import { encodeLocalState, LOCAL_VERSIONS, mergePushPullReply } from "./push_pull.ts";
import { Reconnector } from "./reconnector.ts";
import { type Rng, systemRng } from "./rng.ts";
import { type StaleCorrectionStats, StaleCorrector } from "./stale_corrector.ts";
import { initialIncarnation, pushPullScaleMs } from "./timing.ts";
import type { Transport } from "./transport.ts";
import { UserStates, type UserStateStats } from "./user_states.ts";

/** Everything a {@link GossipNode} needs; only `config` and `transport` are required. */
export interface GossipNodeOptions {
  config: GossipConfig;
  transport: Transport;
  clock?: Clock;
  rng?: Rng;
  /** Static capability metadata (≤ 512 bytes). */
  meta?: Uint8Array;
  /** Starting incarnation; defaults to the current Unix second (see `initialIncarnation`). */
  incarnation?: number;
  onEvent?: (event: MemberEvent) => void;
  /** Live load to attach to every ack we send (≤ 256 bytes). */
  ackPayload?: () => Uint8Array;
  log?: (level: "debug" | "info" | "warn", message: string) => void;
}

/** A member as reported by {@link GossipNode.members}. */
export interface MemberInfo extends Readonly<MemberState> {
  /** Last measured probe round trip (ms). */
  rttMs?: number;
  /** Payload of the last ack it sent us (its live load). */
  ackPayload?: Uint8Array;
  /** How long ago that ack arrived (ms). */
  ackAgeMs?: number;
  /** Its latest user state (see {@link GossipNode.broadcastUserState}). */
  userState?: Uint8Array;
  /** How long ago we learnt that state (ms). */
  userStateAgeMs?: number;
}

/** Packet and protocol counters, gathered from the node's parts. */
export interface GossipStats
  extends ProbeStats, PacketSenderStats, InboundStats, StaleCorrectionStats, UserStateStats {
  /** Exceptions caught from message handlers and timers. */
  handlerErrors: number;
  pushPulls: number;
  pushPullsFailed: number;
}

export class GossipNode {
  readonly config: GossipConfig;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly table: MemberTable;
  readonly awareness: Awareness;
  readonly queue: BroadcastQueue;
  readonly prober: Prober;
  readonly reconnector: Reconnector;
  readonly #sender: PacketSender;
  readonly #staleCorrector: StaleCorrector;
  readonly #userStates: UserStates;
  readonly #handler: MessageHandler;
  readonly #stats = { handlerErrors: 0, pushPulls: 0, pushPullsFailed: 0 };
  #timers: TimerHandle[] = [];
  #running = false;
  #rtt = new Map<string, number>();
  #payloads = new Map<string, { payload: Uint8Array; at: number }>();

  constructor(readonly options: GossipNodeOptions) {
    this.config = options.config;
    this.transport = options.transport;
    this.clock = options.clock ?? systemClock;
    this.rng = options.rng ?? systemRng();
    this.awareness = new Awareness(this.config.awarenessMaxMultiplier);
    this.queue = new BroadcastQueue({
      retransmitMult: this.config.retransmitMult,
      numNodes: () => this.table.numNodes,
    });
    this.table = new MemberTable({
      localName: this.config.name,
      config: this.config,
      clock: this.clock,
      rng: this.rng,
      broadcast: (key, msg, onFinished) => this.queue.queue(key, msg, onFinished),
      onRefute: () => this.awareness.applyDelta(1),
      onEvent: (e) => this.#onEvent(e),
    });
    this.prober = new Prober({
      config: this.config,
      clock: this.clock,
      table: this.table,
      awareness: this.awareness,
      transport: this.transport,
      send: (to, parts) => this.#sender.send(to, parts),
      onPingComplete: (node, rtt, payload) => {
        this.#rtt.set(node, rtt);
        this.#payloads.set(node, { payload, at: this.clock.now() });
      },
    });
    this.reconnector = new Reconnector({
      config: this.config,
      clock: this.clock,
      rng: this.rng,
      table: this.table,
      pushPull: (addr, join) => this.pushPull(addr, join),
    });
    const { config, clock, table, queue, transport, prober, reconnector } = this;
    this.#sender = new PacketSender({ config, clock, table, queue, transport });
    this.#staleCorrector = new StaleCorrector({ table, send: (to, parts) => this.#sender.send(to, parts) });
    this.#userStates = new UserStates({ table, clock, broadcast: (key, msg) => queue.queue(key, msg) });
    this.#handler = new MessageHandler({
      config,
      table,
      prober,
      reconnector,
      sender: this.#sender,
      staleCorrector: this.#staleCorrector,
      userStates: this.#userStates,
      running: () => this.#running,
      guard: (what, fn) => this.#guard(what, fn),
      ackPayload: () => this.options.ackPayload?.(),
      log: (level, message) => this.#log(level, message),
    });
  }

  /** Announces ourselves and starts the probe, gossip, push-pull and reconnect loops. */
  start(): void {
    if (this.#running) throw new GossipError(`gossip node ${this.config.name} already started`);
    this.#running = true;
    const inc = this.options.incarnation ?? initialIncarnation(this.clock.now());
    this.table.bootstrap(this.transport.address, this.options.meta ?? new Uint8Array(0), LOCAL_VERSIONS, inc);
    this.transport.listen({
      onPacket: (from, data) => this.#handler.onPacket(from, data),
      onRequest: (from, data, reply) => this.#handler.onRequest(from, data, reply),
    });
    const cfg = this.config;
    // Random stagger so nodes started together do not tick in lockstep.
    this.#loop(() => cfg.probeIntervalMs, () => this.prober.tick());
    if (cfg.gossipNodes > 0) this.#loop(() => cfg.gossipIntervalMs, () => this.#sender.gossip());
    if (cfg.pushPullIntervalMs > 0) {
      this.#loop(
        () => pushPullScaleMs(cfg.pushPullIntervalMs, this.table.numNodes),
        () => this.#pushPullRandom(),
      );
    }
    if (cfg.reconnectIntervalMs > 0) this.#loop(() => cfg.reconnectIntervalMs, () => this.reconnector.tick());
  }

  /**
   * Joins a ring through seed addresses ("host:port") with a full-state exchange with each.
   * Resolves with the number of seeds reached; rejects with {@link JoinError} if none answered.
   */
  join(seeds: readonly string[]): Promise<number> {
    return new Promise((resolve, reject) => {
      if (seeds.length === 0) return resolve(0);
      let pending = seeds.length, ok = 0;
      const failures: { seed: string; error: string }[] = [];
      for (const seed of seeds) {
        this.pushPull(seed, true, (err) => {
          if (err) failures.push({ seed, error: err.message });
          else ok++;
          if (--pending === 0) ok > 0 ? resolve(ok) : reject(new JoinError(failures));
        });
      }
    });
  }

  /** Full-state exchange with `addr`; `done` gets the error, if any. */
  pushPull(addr: string, join: boolean, done: (err?: Error) => void = () => {}): void {
    this.#stats.pushPulls++;
    this.transport.request(addr, encodeLocalState(this.table, join), this.config.tcpTimeoutMs, (res) => {
      if (!this.#running) return done(new GossipError("node stopped"));
      try {
        if (!res.ok) throw res.error;
        mergePushPullReply(this.table, addr, res.data);
        done();
      } catch (e) {
        this.#stats.pushPullsFailed++;
        this.#log("debug", `push-pull with ${addr} failed: ${(e as Error).message}`);
        done(e as Error);
      }
    });
  }

  /**
   * Leaves gracefully: broadcasts that we left and waits until the news was sent its full
   * retransmit budget, or `timeoutMs`. Call {@link shutdown} afterwards.
   */
  leave(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const me = this.table.local();
      this.table.leaving = true;
      const others = this.table.members().some((m) => m.name !== me.name && m.status === MemberStatus.Alive);
      if (!others) return resolve();
      const timer = this.clock.setTimer(timeoutMs, resolve);
      const notice: DeadMsg = {
        type: MessageType.Dead,
        incarnation: me.incarnation,
        node: me.name,
        from: me.name,
      };
      this.table.deadNode(notice, () => {
        timer.cancel();
        resolve();
      });
      // Also tell every live member directly, once: in a small ring the gossip budget
      // (retransmitMult·ceil(log10(N+1)) sends to random members) can miss someone, who would then
      // see us fail instead of leave.
      const direct = encodeMessage(notice);
      for (const m of this.table.members()) {
        if (m.name !== me.name && m.status === MemberStatus.Alive) this.#sender.sendRaw(m.addr, direct);
      }
    });
  }

  /** Stops every loop and closes the transport. */
  async shutdown(): Promise<void> {
    this.#running = false;
    for (const t of this.#timers) t.cancel();
    this.prober.stop();
    this.table.stop();
    await this.transport.close();
  }

  /** Re-announces new metadata under a fresh incarnation. */
  updateMeta(meta: Uint8Array): void {
    this.table.updateLocal(meta);
  }

  /**
   * Spreads a small state about this node (≤ 256 bytes; edgering sends its live load) to every
   * member: it is piggybacked on pings, acks and gossip rounds like membership news, and each node
   * that learns a newer state re-gossips it, so it reaches all N nodes in about log N gossip
   * rounds. A newer state replaces an older one still queued. Callers rate-limit: every call costs
   * about N·retransmitMult·ceil(log10(N+1)) transmissions of ≈ 40 bytes across the ring.
   * Throws {@link WireEncodeError} if the payload is too large.
   */
  broadcastUserState(payload: Uint8Array): void {
    this.#userStates.publish(payload);
  }

  /** All known members with their last RTT, ack payload and user state. */
  members(): MemberInfo[] {
    const now = this.clock.now();
    return this.table.members().map((m) => {
      const ack = this.#payloads.get(m.name);
      const user = this.#userStates.get(m.name);
      return {
        ...m,
        rttMs: this.#rtt.get(m.name),
        ackPayload: ack?.payload,
        ackAgeMs: ack ? now - ack.at : undefined,
        userState: user?.payload,
        userStateAgeMs: user ? now - user.at : undefined,
      };
    });
  }

  /** Counters, merged from the node's parts, the prober and the member table. */
  stats(): GossipStats & MemberTable["stats"] {
    return {
      ...this.#sender.stats,
      ...this.#handler.stats,
      ...this.#stats,
      ...this.#staleCorrector.stats,
      ...this.#userStates.stats,
      ...this.prober.stats,
      ...this.table.stats,
    };
  }

  /** Lifeguard health score (0 = healthy). */
  get healthScore(): number {
    return this.awareness.score;
  }

  get running(): boolean {
    return this.#running;
  }

  #loop(intervalMs: () => number, fn: () => void): void {
    const slot = this.#timers.length;
    const arm = (delay: number) => {
      this.#timers[slot] = this.clock.setTimer(delay, () => {
        if (!this.#running) return;
        arm(intervalMs());
        this.#guard("timer", fn);
      });
    };
    arm(this.rng.next() * intervalMs());
  }

  #guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#stats.handlerErrors++;
      this.#log("warn", `${what} handler error: ${(e as Error).stack ?? e}`);
    }
  }

  #pushPullRandom(): void {
    const [peer] = this.table.kRandomMembers(
      1,
      (m) => m.name === this.config.name || m.status !== MemberStatus.Alive,
    );
    if (peer) this.pushPull(peer.addr, false);
  }

  #onEvent(e: MemberEvent): void {
    this.reconnector.onEvent(e);
    this.options.onEvent?.(e);
  }

  #log(level: "debug" | "info" | "warn", message: string): void {
    this.options.log?.(level, `[${this.config.name}] ${message}`);
  }
}
