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
 * - **Suspicion** (`member_table.ts`, `suspicion.ts`): a suspect member has a timer of
 *   suspicionMult·log10(N)·interval, started up to suspicionMaxTimeoutMult times longer and
 *   shortened by each independent confirmation (Lifeguard). When it fires the member is *dead*.
 *   A member that hears it is suspected refutes by bumping its incarnation; the newer incarnation
 *   wins everywhere. Incarnations start at the Unix second, so a restarted node beats its former
 *   self, and values implausibly far in the future are rejected.
 * - **Local health** (`awareness.ts`): missed nacks and refutations mean *we* are slow; our probe
 *   interval stretches up to awarenessMaxMultiplier× so a stalled node does not accuse others.
 * - **Dissemination** (`broadcast_queue.ts`): every state change is queued (newest per member) and
 *   piggybacked on pings and acks, plus a gossip round to a few random members every gossip
 *   interval, each message sent retransmitMult·ceil(log10(N+1)) times.
 * - **Anti-entropy** (`push_pull.ts`, `reconnector.ts`): a periodic TCP push-pull exchanges full
 *   state with one random member; the same exchange is how a node joins and how protocol versions
 *   are negotiated. Failed members are retried now and then (Serf's reconnect), and a datagram from
 *   a member we think dead triggers a sync with it, so a healed partition merges in seconds.
 * - **User state** (`broadcastUserState`): a small per-node record (the live load) spread like
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
import {
  COMPOUND_HEADER_OVERHEAD,
  COMPOUND_PART_OVERHEAD,
  decodeMessage,
  decodePacket,
  encodeCompound,
  encodeMessage,
} from "./codec.ts";
import { type GossipConfig, MAX_DATAGRAM_BYTES } from "./config.ts";
import { GossipError, JoinError, UnknownMessageTypeError } from "./errors.ts";
import { type MemberEvent, type MemberState, MemberTable } from "./member_table.ts";
import {
  ACK_PAYLOAD_MAX_BYTES,
  type AliveMsg,
  type DeadMsg,
  MemberStatus,
  type Message,
  MessageType,
  type SuspectMsg,
  USER_STATE_MAX_BYTES,
  type UserStateMsg,
} from "./messages.ts";
import { Prober, type ProbeStats } from "./prober.ts";
import { answerPushPull, encodeLocalState, LOCAL_VERSIONS, mergePushPullReply } from "./push_pull.ts";
import { Reconnector } from "./reconnector.ts";
import { type Rng, systemRng } from "./rng.ts";
import { initialIncarnation, pushPullScaleMs } from "./timing.ts";
import type { Transport } from "./transport.ts";

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

/** Packet and protocol counters. */
export interface GossipStats extends ProbeStats {
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  malformedPackets: number;
  unknownMessages: number;
  misdirectedPings: number;
  handlerErrors: number;
  streamsServed: number;
  malformedStreams: number;
  pushPulls: number;
  pushPullsFailed: number;
  /** Senders of stale suspect/dead rumors we corrected directly. */
  staleCorrections: number;
  /** User states we accepted as newer than what we knew. */
  userStatesAccepted: number;
  /** User states dropped: older than known, about an unknown member, or about ourselves. */
  userStatesIgnored: number;
}

/** Prefix of broadcast-queue keys for user states; membership news is keyed by the bare member
 * name, so a member's state and its alive/suspect/dead news never replace each other. */
const USER_STATE_KEY = "\u0000user\u0000";

/** A user state as last learnt about one member. */
interface KnownUserState {
  incarnation: number;
  seq: number;
  payload: Uint8Array;
  /** When we learnt it (clock ms). */
  at: number;
}

/** (sender, member, incarnation) corrections remembered to avoid repeats; the set is simply
 * cleared when full, which at worst repeats a one-datagram correction. */
const STALE_CORRECTIONS_REMEMBERED = 4096;

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
  readonly #stats = {
    packetsSent: 0,
    bytesSent: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    malformedPackets: 0,
    unknownMessages: 0,
    misdirectedPings: 0,
    handlerErrors: 0,
    streamsServed: 0,
    malformedStreams: 0,
    pushPulls: 0,
    pushPullsFailed: 0,
    staleCorrections: 0,
    userStatesAccepted: 0,
    userStatesIgnored: 0,
  };
  #timers: TimerHandle[] = [];
  #running = false;
  #rtt = new Map<string, number>();
  #corrected = new Set<string>();
  #payloads = new Map<string, { payload: Uint8Array; at: number }>();
  #userStates = new Map<string, KnownUserState>();
  #userSeq = 0;

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
      send: (to, parts) => this.#send(to, parts),
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
  }

  /** Announces ourselves and starts the probe, gossip, push-pull and reconnect loops. */
  start(): void {
    if (this.#running) throw new GossipError(`gossip node ${this.config.name} already started`);
    this.#running = true;
    const inc = this.options.incarnation ?? initialIncarnation(this.clock.now());
    this.table.bootstrap(this.transport.address, this.options.meta ?? new Uint8Array(0), LOCAL_VERSIONS, inc);
    this.transport.listen({
      onPacket: (from, data) => this.#onPacket(from, data),
      onRequest: (from, data, reply) => this.#onRequest(from, data, reply),
    });
    const cfg = this.config;
    // Random stagger so nodes started together do not tick in lockstep.
    this.#loop(() => cfg.probeIntervalMs, () => this.prober.tick());
    if (cfg.gossipNodes > 0) this.#loop(() => cfg.gossipIntervalMs, () => this.#gossip());
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
        if (m.name !== me.name && m.status === MemberStatus.Alive) this.#sendRaw(m.addr, direct);
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
    const me = this.table.local();
    this.#userSeq = (this.#userSeq + 1) >>> 0;
    const msg: UserStateMsg = {
      type: MessageType.User,
      node: me.name,
      incarnation: me.incarnation,
      seq: this.#userSeq,
      payload,
    };
    this.queue.queue(USER_STATE_KEY + me.name, encodeMessage(msg));
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

  /** Counters, merged from the engine, the prober and the member table. */
  stats(): GossipStats & MemberTable["stats"] {
    return { ...this.#stats, ...this.prober.stats, ...this.table.stats };
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

  /** Sends `parts` as one datagram, filling the spare room with queued broadcasts. */
  #send(to: string, parts: Uint8Array[]): void {
    let used = this.transport.packetOverhead + COMPOUND_HEADER_OVERHEAD;
    for (const p of parts) used += COMPOUND_PART_OVERHEAD + p.length;
    const extra = this.queue.getBroadcasts(COMPOUND_PART_OVERHEAD, MAX_DATAGRAM_BYTES - used);
    const all = extra.length > 0 ? parts.concat(extra) : parts;
    this.#sendRaw(to, all.length === 1 ? all[0] : encodeCompound(all));
  }

  #sendRaw(to: string, packet: Uint8Array): void {
    this.#stats.packetsSent++;
    this.#stats.bytesSent += packet.length;
    this.transport.sendPacket(to, packet);
  }

  #gossip(): void {
    const now = this.clock.now();
    const cfg = this.config;
    const targets = this.table.kRandomMembers(
      cfg.gossipNodes,
      (m) =>
        m.name === cfg.name || m.status === MemberStatus.Left ||
        (m.status === MemberStatus.Dead && now - m.stateChangeAt > cfg.gossipToTheDeadMs),
    );
    const room = MAX_DATAGRAM_BYTES - this.transport.packetOverhead - COMPOUND_HEADER_OVERHEAD;
    for (const t of targets) {
      const msgs = this.queue.getBroadcasts(COMPOUND_PART_OVERHEAD, room);
      if (msgs.length === 0) return;
      this.#sendRaw(t.addr, msgs.length === 1 ? msgs[0] : encodeCompound(msgs));
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

  #onPacket(from: string, data: Uint8Array): void {
    if (!this.#running) return;
    this.#stats.packetsReceived++;
    this.#stats.bytesReceived += data.length;
    let decoded: ReturnType<typeof decodePacket>;
    try {
      decoded = decodePacket(data);
    } catch (e) {
      this.#countBad(e);
      return;
    }
    for (const e of decoded.errors) this.#countBad(e);
    if (decoded.messages.length > 0) this.reconnector.noticeLife(from);
    for (const m of decoded.messages) this.#guard("packet", () => this.#handle(from, m));
  }

  /**
   * A suspect/dead rumor older than the alive incarnation we know means its sender missed the
   * refutation. Tell that sender directly (one datagram) instead of hoping the refutation's
   * epidemic, whose budget is spent, reaches it before its suspicion timer does. At most once per
   * sender, member and incarnation.
   */
  #correctStale(from: string, m: SuspectMsg | DeadMsg): void {
    const known = this.table.get(m.node);
    if (!known || known.status !== MemberStatus.Alive || m.incarnation >= known.incarnation) return;
    const key = `${from}\u0000${m.node}\u0000${known.incarnation}`;
    if (this.#corrected.has(key)) return;
    if (this.#corrected.size >= STALE_CORRECTIONS_REMEMBERED) this.#corrected.clear();
    this.#corrected.add(key);
    this.#stats.staleCorrections++;
    const alive: AliveMsg = {
      type: MessageType.Alive,
      incarnation: known.incarnation,
      node: known.name,
      addr: known.addr,
      meta: known.meta,
      vsn: known.vsn,
    };
    this.#send(from, [encodeMessage(alive)]);
  }

  #countBad(e: unknown): void {
    if (e instanceof UnknownMessageTypeError) this.#stats.unknownMessages++;
    else this.#stats.malformedPackets++;
  }

  #handle(from: string, m: Message): void {
    switch (m.type) {
      case MessageType.Ping:
        if (m.node !== "" && m.node !== this.config.name) {
          this.#stats.misdirectedPings++;
          return;
        }
        this.#send(from, [encodeMessage({ type: MessageType.Ack, seq: m.seq, payload: this.#ackPayload() })]);
        return;
      case MessageType.IndirectPing:
        return this.prober.handleIndirectPing(from, m);
      case MessageType.Ack:
        return this.prober.handleAck(m.seq, m.payload);
      case MessageType.Nack:
        return this.prober.handleNack(m.seq);
      case MessageType.Alive:
        return this.table.aliveNode(m);
      case MessageType.Suspect:
        this.#correctStale(from, m);
        return this.table.suspectNode(m);
      case MessageType.Dead:
        this.#correctStale(from, m);
        return this.table.deadNode(m);
      case MessageType.User:
        return this.#userState(m);
      default:
        // Stream-only messages arriving as datagrams.
        this.#stats.malformedPackets++;
    }
  }

  #onRequest(from: string, data: Uint8Array, reply: (data: Uint8Array) => void): void {
    if (!this.#running) return;
    this.#stats.streamsServed++;
    const fail = (message: string) => reply(encodeMessage({ type: MessageType.Error, message }));
    let m: Message;
    try {
      m = decodeMessage(data);
    } catch (e) {
      this.#stats.malformedStreams++;
      return fail(`malformed request: ${(e as Error).message}`);
    }
    this.#guard("stream", () => {
      if (m.type === MessageType.Ping) {
        if (m.node !== "" && m.node !== this.config.name) {
          return fail(`this is ${this.config.name}, not ${m.node}`);
        }
        return reply(encodeMessage({ type: MessageType.Ack, seq: m.seq, payload: this.#ackPayload() }));
      }
      if (m.type !== MessageType.PushPull) return fail(`unexpected stream message type ${m.type}`);
      let answer: Uint8Array;
      try {
        answer = answerPushPull(this.table, m);
      } catch (e) {
        this.#log("warn", `refused push-pull from ${from}: ${(e as Error).message}`);
        return fail((e as Error).message);
      }
      reply(answer);
    });
  }

  /** Keeps a user state newer than what we know about a known member, and passes it on. States
   * about unknown names are dropped, so forged names cannot grow the map. */
  #userState(m: UserStateMsg): void {
    const known = this.#userStates.get(m.node);
    const newer = !known || m.incarnation > known.incarnation ||
      (m.incarnation === known.incarnation && m.seq > known.seq);
    if (
      !newer || m.node === this.config.name || !this.table.get(m.node) ||
      m.payload.length > USER_STATE_MAX_BYTES
    ) {
      this.#stats.userStatesIgnored++;
      return;
    }
    this.#stats.userStatesAccepted++;
    this.#userStates.set(m.node, {
      incarnation: m.incarnation,
      seq: m.seq,
      payload: m.payload,
      at: this.clock.now(),
    });
    this.queue.queue(USER_STATE_KEY + m.node, encodeMessage(m));
  }

  #ackPayload(): Uint8Array {
    const p = this.options.ackPayload?.() ?? new Uint8Array(0);
    return p.length <= ACK_PAYLOAD_MAX_BYTES ? p : new Uint8Array(0);
  }

  #log(level: "debug" | "info" | "warn", message: string): void {
    this.options.log?.(level, `[${this.config.name}] ${message}`);
  }
}
