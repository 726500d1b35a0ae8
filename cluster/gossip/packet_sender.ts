/**
 * Every datagram this node sends goes through here, so the broadcast queue is drained in one
 * place. A direct message (ping, ack, nack, correction) gets queued membership news and user states
 * piggybacked in its spare room up to {@link MAX_DATAGRAM_BYTES}; a gossip round sends queued news
 * alone to `gossipNodes` random members (the recently dead included, so they learn they were
 * declared dead and can refute). Raw sends (the leave notice) bypass the queue but are counted.
 *
 * @module
 */

import type { BroadcastQueue } from "./broadcast_queue.ts";
import type { Clock } from "./clock.ts";
import { COMPOUND_HEADER_OVERHEAD, COMPOUND_PART_OVERHEAD, encodeCompound } from "./codec.ts";
import { type GossipConfig, MAX_DATAGRAM_BYTES } from "./config.ts";
import type { MemberTable } from "./member_table.ts";
import { MemberStatus } from "./messages.ts";
import type { Transport } from "./transport.ts";

/** Outgoing datagram counters (gossip payload bytes, before the transport's envelope). */
export interface PacketSenderStats {
  packetsSent: number;
  bytesSent: number;
}

/** Collaborators of a {@link PacketSender}. */
export interface PacketSenderOptions {
  config: Pick<GossipConfig, "name" | "gossipNodes" | "gossipToTheDeadMs">;
  clock: Clock;
  table: MemberTable;
  queue: BroadcastQueue;
  transport: Transport;
}

/**
 * Sends datagrams with queued gossip packed into them.
 *
 * @example
 * ```ts
 * const sender = new PacketSender({ config, clock, table, queue, transport });
 * sender.send("10.0.0.2:7946", [encodeMessage(ack)]); // ack + piggybacked news
 * sender.gossip(); // one gossip round
 * ```
 */
export class PacketSender {
  readonly stats: PacketSenderStats = { packetsSent: 0, bytesSent: 0 };

  constructor(readonly options: PacketSenderOptions) {}

  /** Sends `parts` as one datagram, filling the spare room with queued broadcasts. */
  send(to: string, parts: Uint8Array[]): void {
    let used = this.options.transport.packetOverhead + COMPOUND_HEADER_OVERHEAD;
    for (const p of parts) used += COMPOUND_PART_OVERHEAD + p.length;
    const extra = this.options.queue.getBroadcasts(COMPOUND_PART_OVERHEAD, MAX_DATAGRAM_BYTES - used);
    const all = extra.length > 0 ? parts.concat(extra) : parts;
    this.sendRaw(to, all.length === 1 ? all[0] : encodeCompound(all));
  }

  /** Sends an already encoded datagram as is. */
  sendRaw(to: string, packet: Uint8Array): void {
    this.stats.packetsSent++;
    this.stats.bytesSent += packet.length;
    this.options.transport.sendPacket(to, packet);
  }

  /** One gossip round: queued news to up to `gossipNodes` random live or recently dead members. */
  gossip(): void {
    const now = this.options.clock.now();
    const cfg = this.options.config;
    const targets = this.options.table.kRandomMembers(
      cfg.gossipNodes,
      (m) =>
        m.name === cfg.name || m.status === MemberStatus.Left ||
        (m.status === MemberStatus.Dead && now - m.stateChangeAt > cfg.gossipToTheDeadMs),
    );
    const room = MAX_DATAGRAM_BYTES - this.options.transport.packetOverhead - COMPOUND_HEADER_OVERHEAD;
    for (const t of targets) {
      const msgs = this.options.queue.getBroadcasts(COMPOUND_PART_OVERHEAD, room);
      if (msgs.length === 0) return;
      this.sendRaw(t.addr, msgs.length === 1 ? msgs[0] : encodeCompound(msgs));
    }
  }
}
