/**
 * The member state machine: what this node believes about every member, and the SWIM rules for
 * changing it (memberlist's aliveNode / suspectNode / deadNode / mergeState).
 *
 * - Every fact carries the subject's incarnation. Alive needs a strictly newer incarnation to
 *   replace anything; suspect and dead need an equal or newer one; so news about a member only
 *   moves forward and the newest claim wins.
 * - A member hearing itself suspected or declared dead refutes: it bumps its incarnation past the
 *   accusation and broadcasts alive. Only its own graceful leave is not refuted. An accusation at
 *   an incarnation it already refuted is answered by re-announcing its current alive (the accuser
 *   missed the refutation), without a new incarnation.
 * - Suspect → dead after a Lifeguard {@link Suspicion} timer whose length shrinks with
 *   independent confirmations. A dead claim from the node itself means it left (Left, not Dead).
 * - An alive claim for a known name with another address is a conflict and ignored, unless the old
 *   owner left (or has been dead for `deadNodeReclaimMs`).
 * - Incarnations implausibly far ahead of our clock are rejected (see `isPlausibleIncarnation`).
 *
 * Pure apart from the clock and RNG it is given: no sockets; outgoing news goes to `broadcast`.
 * The records, their address index and probe order live in `member_roster.ts`, the running
 * suspicion timers in `suspicion_timers.ts`; this file is only the rules.
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import type { GossipConfig } from "./config.ts";
import { encodeMessage } from "./codec.ts";
import {
  type AliveMsg,
  type DeadMsg,
  MemberStatus,
  MessageType,
  type ProtocolVersions,
  type PushNodeState,
  type SuspectMsg,
} from "./messages.ts";
import type { Rng } from "./rng.ts";
import type { Suspicion } from "./suspicion.ts";
import { SuspicionTimers } from "./suspicion_timers.ts";
import { isPlausibleIncarnation } from "./timing.ts";
import {
  aliveMessage,
  bytesEqual,
  type MemberEvent,
  type MemberState,
  versionsEqual,
} from "./member_state.ts";
import { MemberRoster } from "./member_roster.ts";

export type { MemberEvent, MemberState } from "./member_state.ts";

/** Protocol timing fields the table needs. */
export type MemberTableConfig = Pick<
  GossipConfig,
  | "suspicionMult"
  | "suspicionMaxTimeoutMult"
  | "probeIntervalMs"
  | "deadNodeReclaimMs"
  | "incarnationMaxLeadSec"
  | "gossipToTheDeadMs"
>;

/** Collaborators of a {@link MemberTable}. */
export interface MemberTableOptions {
  localName: string;
  config: MemberTableConfig;
  clock: Clock;
  rng: Rng;
  /** Queue an encoded message about `node` for gossip (newest per node replaces older). */
  broadcast(node: string, message: Uint8Array, onFinished?: () => void): void;
  /** We had to refute a suspicion of ourselves (Lifeguard: a sign that we are slow). */
  onRefute?(): void;
  onEvent?(event: MemberEvent): void;
}

/** Counters of rejected input. */
export interface MemberTableStats {
  implausibleIncarnations: number;
  conflicts: number;
  badVersions: number;
  refutations: number;
  /** Stale accusations of us answered by re-announcing our current alive. */
  reannouncements: number;
}

export class MemberTable {
  /** The member records, their address index and probe order. */
  readonly #roster: MemberRoster;
  readonly #timers: SuspicionTimers;
  #incarnation = 0;
  #leaving = false;
  readonly stats: MemberTableStats = {
    implausibleIncarnations: 0,
    conflicts: 0,
    badVersions: 0,
    refutations: 0,
    reannouncements: 0,
  };

  constructor(readonly options: MemberTableOptions) {
    const { localName, config, clock, rng } = options;
    this.#roster = new MemberRoster({ localName, config, clock, rng });
    this.#timers = new SuspicionTimers({ config, clock });
  }

  get localName(): string {
    return this.options.localName;
  }

  /** Members known, dead ones not yet forgotten included (the N of the timing formulas). */
  get numNodes(): number {
    return this.#roster.size;
  }

  /** True once `leave` began: our own alive news is ignored, our own dead is not refuted. */
  get leaving(): boolean {
    return this.#leaving;
  }

  set leaving(v: boolean) {
    this.#leaving = v;
  }

  get(name: string): Readonly<MemberState> | undefined {
    return this.#roster.get(name);
  }

  /** The member whose gossip socket is at `addr`, if known. */
  byAddress(addr: string): Readonly<MemberState> | undefined {
    return this.#roster.byAddress(addr);
  }

  /** The local member (after `bootstrap`). */
  local(): Readonly<MemberState> {
    const me = this.#roster.get(this.localName);
    if (!me) throw new Error("member table used before bootstrap");
    return me;
  }

  /** All known members, in probe order. */
  members(): readonly Readonly<MemberState>[] {
    return this.#roster.members();
  }

  /** The running suspicion timer of `name`, if any. */
  suspicionOf(name: string): Suspicion | undefined {
    return this.#timers.get(name);
  }

  /** Adds ourselves as alive with `incarnation` and broadcasts it. */
  bootstrap(addr: string, meta: Uint8Array, vsn: ProtocolVersions, incarnation: number): void {
    this.#incarnation = incarnation;
    this.aliveNode(
      { type: MessageType.Alive, incarnation, node: this.localName, addr, meta, vsn },
      { bootstrap: true },
    );
  }

  /** Re-announces ourselves with new metadata under a fresh incarnation. */
  updateLocal(meta: Uint8Array, onFinished?: () => void): void {
    const me = this.local();
    this.aliveNode(
      {
        type: MessageType.Alive,
        incarnation: ++this.#incarnation,
        node: me.name,
        addr: me.addr,
        meta,
        vsn: me.vsn,
      },
      { bootstrap: true, onFinished },
    );
  }

  /** Handles news that `a.node` is alive. */
  aliveNode(a: AliveMsg, opts: { bootstrap?: boolean; onFinished?: () => void } = {}): void {
    const now = this.options.clock.now();
    const isLocal = a.node === this.localName;
    if (this.#leaving && isLocal) return;
    if (a.vsn.min === 0 || a.vsn.max === 0 || a.vsn.min > a.vsn.max) {
      this.stats.badVersions++;
      return;
    }
    if (!opts.bootstrap && !this.#plausible(a.incarnation, now)) return;

    let state = this.#roster.get(a.node);
    let updatesAddr = false;
    if (!state) {
      // Unknown so far: enter it as dead so that the transition below reads as a join.
      state = {
        name: a.node,
        addr: a.addr,
        meta: a.meta,
        vsn: a.vsn,
        status: MemberStatus.Dead,
        incarnation: 0,
        stateChangeAt: now,
      };
      this.#roster.add(state);
    } else if (state.addr !== a.addr) {
      const reclaimable = this.options.config.deadNodeReclaimMs > 0 &&
        now - state.stateChangeAt > this.options.config.deadNodeReclaimMs;
      if (state.status === MemberStatus.Left || (state.status === MemberStatus.Dead && reclaimable)) {
        updatesAddr = true;
      } else {
        this.stats.conflicts++;
        this.#emit("conflict", state, now, a.addr);
        return;
      }
    }

    if (a.incarnation <= state.incarnation && !isLocal && !updatesAddr) return;
    if (a.incarnation < state.incarnation && isLocal) return;

    this.#timers.cancel(a.node);
    const oldStatus = state.status;
    const oldMeta = state.meta;

    if (!opts.bootstrap && isLocal) {
      // Our own alive, replayed or from a former run of this name: ignore an exact echo, and
      // refute anything else so the ring converges on what we really are.
      if (
        a.incarnation === state.incarnation && bytesEqual(a.meta, state.meta) &&
        versionsEqual(a.vsn, state.vsn)
      ) {
        return;
      }
      this.refute(a.incarnation);
      return;
    }

    this.options.broadcast(a.node, encodeMessage(a), opts.onFinished);
    state.vsn = a.vsn;
    state.incarnation = a.incarnation;
    state.meta = a.meta;
    this.#roster.setAddress(state, a.addr);
    if (state.status !== MemberStatus.Alive) {
      state.status = MemberStatus.Alive;
      state.stateChangeAt = now;
    }
    if (oldStatus === MemberStatus.Dead || oldStatus === MemberStatus.Left) this.#emit("join", state, now);
    else if (oldStatus === MemberStatus.Suspect) this.#emit("alive", state, now);
    else if (!bytesEqual(oldMeta, state.meta)) this.#emit("update", state, now);
  }

  /** Handles news that `s.from` suspects `s.node`. */
  suspectNode(s: SuspectMsg): void {
    const now = this.options.clock.now();
    const state = this.#roster.get(s.node);
    if (!state) return;
    if (s.incarnation < state.incarnation) return this.#staleAccusation(state);
    if (!this.#plausible(s.incarnation, now)) return;

    const timer = this.#timers.get(s.node);
    if (timer) {
      // Already suspect: a new independent confirmation shortens the timer and is re-gossiped so
      // that others count it too.
      if (timer.confirm(s.from)) this.options.broadcast(s.node, encodeMessage(s));
      return;
    }
    if (state.status !== MemberStatus.Alive) return;

    if (state.name === this.localName) {
      this.refute(s.incarnation);
      return;
    }
    this.options.broadcast(s.node, encodeMessage(s));
    state.incarnation = s.incarnation;
    state.status = MemberStatus.Suspect;
    const changeAt = now;
    state.stateChangeAt = changeAt;
    this.#emit("suspect", state, now, s.from);

    this.#timers.start(s.node, s.from, this.numNodes, () => {
      const cur = this.#roster.get(s.node);
      if (cur && cur.status === MemberStatus.Suspect && cur.stateChangeAt === changeAt) {
        this.deadNode({
          type: MessageType.Dead,
          incarnation: cur.incarnation,
          node: cur.name,
          from: this.localName,
        });
      }
    });
  }

  /** Handles news that `d.node` is dead (or left, when `d.from === d.node`). */
  deadNode(d: DeadMsg, onFinished?: () => void): void {
    const now = this.options.clock.now();
    const state = this.#roster.get(d.node);
    if (!state) return;
    if (d.incarnation < state.incarnation) return this.#staleAccusation(state);
    if (!this.#plausible(d.incarnation, now)) return;
    this.#timers.cancel(d.node);
    if (state.status === MemberStatus.Dead || state.status === MemberStatus.Left) return;

    if (state.name === this.localName && !this.#leaving) {
      this.refute(d.incarnation);
      return;
    }
    this.options.broadcast(d.node, encodeMessage(d), onFinished);
    state.incarnation = d.incarnation;
    state.status = d.node === d.from ? MemberStatus.Left : MemberStatus.Dead;
    state.stateChangeAt = now;
    this.#emit(state.status === MemberStatus.Left ? "left" : "dead", state, now, d.from);
  }

  /**
   * Folds a peer's full state (push-pull) into ours. A remote "dead" only makes us *suspect*: we
   * give the member the chance to refute rather than trusting a possibly stale view.
   */
  mergeState(remote: readonly PushNodeState[]): void {
    for (const r of remote) {
      switch (r.status) {
        case MemberStatus.Alive:
          this.aliveNode({
            type: MessageType.Alive,
            incarnation: r.incarnation,
            node: r.name,
            addr: r.addr,
            meta: r.meta,
            vsn: r.vsn,
          });
          break;
        case MemberStatus.Left:
          this.deadNode({ type: MessageType.Dead, incarnation: r.incarnation, node: r.name, from: r.name });
          break;
        case MemberStatus.Dead:
        case MemberStatus.Suspect:
          this.suspectNode({
            type: MessageType.Suspect,
            incarnation: r.incarnation,
            node: r.name,
            from: this.localName,
          });
          break;
      }
    }
  }

  /** Our full state for a push-pull. */
  snapshot(): PushNodeState[] {
    return this.#roster.members().map((n) => ({
      name: n.name,
      addr: n.addr,
      meta: n.meta,
      incarnation: n.incarnation,
      status: n.status,
      vsn: n.vsn,
    }));
  }

  /** Bumps our incarnation past `accusedInc` and broadcasts alive. */
  refute(accusedInc: number): void {
    const me = this.#roster.get(this.localName);
    if (!me) return;
    let inc = ++this.#incarnation;
    if (accusedInc >= inc) inc = this.#incarnation = accusedInc + 1;
    me.incarnation = inc;
    this.stats.refutations++;
    this.options.onRefute?.();
    // `me` already carries the new incarnation.
    this.options.broadcast(me.name, encodeMessage(aliveMessage(me)));
  }

  /** Next member to probe (randomised round-robin, see {@link MemberRoster.nextProbeTarget}). */
  nextProbeTarget(): Readonly<MemberState> | undefined {
    return this.#roster.nextProbeTarget();
  }

  /** Forgets members dead or left for longer than `gossipToTheDeadMs`, then reshuffles. */
  resetNodes(): void {
    this.#roster.resetNodes();
  }

  /** Up to `k` distinct random members for which `exclude` is false. */
  kRandomMembers(k: number, exclude: (m: Readonly<MemberState>) => boolean): Readonly<MemberState>[] {
    return this.#roster.kRandomMembers(k, exclude);
  }

  /** Cancels every suspicion timer (shutdown). */
  stop(): void {
    this.#timers.stop();
  }

  /**
   * Someone still accuses us at an incarnation we already refuted: they missed our refutation.
   * Re-announce our current alive (no new incarnation) so the reply they are about to get carries
   * it — without this a small ring can exhaust the refutation's retransmit budget before it
   * reaches every accuser.
   */
  #staleAccusation(state: MemberState): void {
    if (state.name !== this.localName || this.#leaving) return;
    this.stats.reannouncements++;
    this.options.broadcast(state.name, encodeMessage(aliveMessage(state)));
  }

  #plausible(incarnation: number, now: number): boolean {
    if (isPlausibleIncarnation(incarnation, now, this.options.config.incarnationMaxLeadSec)) return true;
    this.stats.implausibleIncarnations++;
    return false;
  }

  #emit(type: MemberEvent["type"], member: MemberState, at: number, from?: string): void {
    this.options.onEvent?.({ type, member: { ...member }, from, at });
  }
}
