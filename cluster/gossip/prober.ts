/**
 * The SWIM failure detector with Lifeguard, as memberlist runs it. Once per probe interval the next
 * member in randomised round-robin order is pinged over UDP (a suspect member gets its suspicion
 * attached — the "buddy" rule — so it can refute at once). If no ack arrives within probeTimeout,
 * k random alive peers are asked to ping it for us (they answer with a nack if they cannot reach it
 * either) and a TCP ping is tried alongside. With no ack by the end of the awareness-scaled probe
 * interval, the member is suspected. Missing nacks raise our local-health score: if even healthy
 * peers did not answer, we are probably the slow one, and we slow down rather than accuse others.
 *
 * @module
 */

import type { Awareness } from "./awareness.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { decodeMessage, encodeMessage } from "./codec.ts";
import type { GossipConfig } from "./config.ts";
import type { MemberState, MemberTable } from "./member_table.ts";
import { type IndirectPingMsg, MemberStatus, MessageType } from "./messages.ts";
import type { Transport } from "./transport.ts";

/** Counters of the failure detector. */
export interface ProbeStats {
  probes: number;
  probesFailed: number;
  probesSavedByTcp: number;
  indirectPingsServed: number;
}

/** What the prober needs from its node. */
export interface ProbeHost {
  config: GossipConfig;
  clock: Clock;
  table: MemberTable;
  awareness: Awareness;
  transport: Transport;
  /** Sends encoded messages as one datagram, with queued gossip piggybacked in the spare room. */
  send(to: string, parts: Uint8Array[]): void;
  /** A successful probe: round-trip time and the ack's payload (live load). */
  onPingComplete(node: string, rttMs: number, payload: Uint8Array): void;
}

interface AckHandler {
  onAck(payload: Uint8Array): void;
  onNack?(): void;
  timer: TimerHandle;
}

export class Prober {
  #seq = 0;
  #handlers = new Map<number, AckHandler>();
  #busy = false;
  #tickPending = false;
  #stopped = false;
  readonly stats: ProbeStats = { probes: 0, probesFailed: 0, probesSavedByTcp: 0, indirectPingsServed: 0 };

  constructor(readonly host: ProbeHost) {}

  /** A fresh u32 sequence number for pings. */
  nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0;
    return this.#seq;
  }

  /** Probe-interval tick: probes the next member, or remembers the tick if a probe still runs. */
  tick(): void {
    if (this.#stopped) return;
    if (this.#busy) {
      this.#tickPending = true;
      return;
    }
    const target = this.host.table.nextProbeTarget();
    if (target) this.probe({ ...target });
  }

  /** One probe round of `node` (a snapshot taken at probe start). */
  probe(node: MemberState): void {
    const h = this.host;
    const { config: cfg, clock } = h;
    this.#busy = true;
    this.stats.probes++;
    const me = h.table.localName;
    const interval = h.awareness.scaleTimeout(cfg.probeIntervalMs);
    const seq = this.nextSeq();
    const sent = clock.now();
    const deadline = sent + interval;
    const ping = encodeMessage({ type: MessageType.Ping, seq, node: node.name, sourceNode: me });

    let done = false, nacks = 0, expectedNacks = 0;
    let deadlinePassed = false, fallbackPending = false, fallbackOk = false;
    const timers: TimerHandle[] = [];

    const finish = (delta: number) => {
      done = true;
      for (const t of timers) t.cancel();
      this.#handlers.get(seq)?.timer.cancel();
      this.#handlers.delete(seq);
      h.awareness.applyDelta(delta);
      this.#busy = false;
      if (this.#tickPending) {
        this.#tickPending = false;
        this.tick();
      }
    };

    const conclude = () => {
      if (done || this.#stopped) return;
      if (fallbackOk) {
        this.stats.probesSavedByTcp++;
        finish(-1);
        return;
      }
      // Lifeguard: each nack we expected but did not get counts against our own health; with no
      // nack-capable peers any failed probe does.
      const delta = expectedNacks > 0 ? Math.max(0, expectedNacks - nacks) : 1;
      this.stats.probesFailed++;
      finish(delta);
      h.table.suspectNode({
        type: MessageType.Suspect,
        incarnation: node.incarnation,
        node: node.name,
        from: me,
      });
    };

    this.#handlers.set(seq, {
      onAck: (payload) => {
        if (done) return;
        finish(-1);
        h.onPingComplete(node.name, clock.now() - sent, payload);
      },
      onNack: () => void nacks++,
      timer: clock.setTimer(interval, () => this.#handlers.delete(seq)),
    });

    // Buddy rule: the suspicion goes *before* the ping, so the target refutes first and its ack
    // already carries the refutation.
    const parts = node.status !== MemberStatus.Alive && cfg.buddyProbes
      ? [
        encodeMessage({
          type: MessageType.Suspect,
          incarnation: node.incarnation,
          node: node.name,
          from: me,
        }),
        ping,
      ]
      : [ping];
    h.send(node.addr, parts);

    // Not scaled by awareness: waiting longer will not get a lost UDP packet through; the stretched
    // interval instead gives the indirect and TCP probes more time.
    timers.push(clock.setTimer(cfg.probeTimeoutMs, () => {
      if (done || this.#stopped) return;
      const peers = h.table.kRandomMembers(
        cfg.indirectChecks,
        (m) => m.name === me || m.name === node.name || m.status !== MemberStatus.Alive,
      );
      for (const peer of peers) {
        if (cfg.indirectNacks) expectedNacks++;
        const req: IndirectPingMsg = {
          type: MessageType.IndirectPing,
          seq,
          node: node.name,
          addr: node.addr,
          nack: cfg.indirectNacks,
          sourceNode: me,
        };
        h.send(peer.addr, [encodeMessage(req)]);
      }
      if (!cfg.disableTcpPings) {
        fallbackPending = true;
        h.transport.request(node.addr, ping, Math.max(1, deadline - clock.now()), (res) => {
          fallbackPending = false;
          if (res.ok) {
            try {
              const m = decodeMessage(res.data);
              fallbackOk = m.type === MessageType.Ack && m.seq === seq;
            } catch {
              fallbackOk = false;
            }
          }
          if (deadlinePassed) conclude();
        });
      }
    }));

    timers.push(clock.setTimer(interval, () => {
      deadlinePassed = true;
      if (!fallbackPending) conclude();
    }));
  }

  /** Someone asks us to ping `req.node` on their behalf. */
  handleIndirectPing(from: string, req: IndirectPingMsg): void {
    const h = this.host;
    this.stats.indirectPingsServed++;
    const localSeq = this.nextSeq();
    let answered = false;
    let nackTimer: TimerHandle | undefined;
    this.#handlers.set(localSeq, {
      onAck: () => {
        answered = true;
        nackTimer?.cancel();
        h.send(from, [encodeMessage({ type: MessageType.Ack, seq: req.seq, payload: new Uint8Array(0) })]);
      },
      timer: h.clock.setTimer(h.config.probeTimeoutMs, () => this.#handlers.delete(localSeq)),
    });
    h.send(req.addr, [
      encodeMessage({ type: MessageType.Ping, seq: localSeq, node: req.node, sourceNode: h.table.localName }),
    ]);
    if (req.nack) {
      nackTimer = h.clock.setTimer(h.config.probeTimeoutMs, () => {
        if (!answered && !this.#stopped) {
          h.send(from, [encodeMessage({ type: MessageType.Nack, seq: req.seq })]);
        }
      });
    }
  }

  /** An ack for one of our pings (direct, relayed, or for an indirect ping we serve). */
  handleAck(seq: number, payload: Uint8Array): void {
    const handler = this.#handlers.get(seq);
    if (!handler) return;
    this.#handlers.delete(seq);
    handler.timer.cancel();
    handler.onAck(payload);
  }

  /** A nack from an indirect prober: it could not reach the target either. */
  handleNack(seq: number): void {
    this.#handlers.get(seq)?.onNack?.();
  }

  /** Cancels all pending handlers; later ticks do nothing. */
  stop(): void {
    this.#stopped = true;
    for (const h of this.#handlers.values()) h.timer.cancel();
    this.#handlers.clear();
  }
}
