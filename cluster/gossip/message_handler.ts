/**
 * The inbound side of a gossip node: decodes what the transport delivers and routes each message to
 * the part that owns it — pings are answered with an ack carrying our live load, acks/nacks and
 * indirect pings go to the {@link Prober}, alive/suspect/dead news to the {@link MemberTable} (stale
 * rumors also to the {@link StaleCorrector}), user states to {@link UserStates}, and stream requests
 * (TCP ping, push-pull) are answered in place. Network input never throws out of here: malformed
 * and unknown input is counted and dropped, handler failures are caught by the node's `guard`.
 *
 * @module
 */

import { decodeMessage, decodePacket, encodeMessage } from "./codec.ts";
import type { GossipConfig } from "./config.ts";
import { UnknownMessageTypeError } from "./errors.ts";
import type { MemberTable } from "./member_table.ts";
import { ACK_PAYLOAD_MAX_BYTES, type Message, MessageType } from "./messages.ts";
import type { PacketSender } from "./packet_sender.ts";
import type { Prober } from "./prober.ts";
import { answerPushPull } from "./push_pull.ts";
import type { Reconnector } from "./reconnector.ts";
import type { StaleCorrector } from "./stale_corrector.ts";
import type { UserStates } from "./user_states.ts";

/** Counters of received datagrams and streams. */
export interface InboundStats {
  packetsReceived: number;
  bytesReceived: number;
  malformedPackets: number;
  unknownMessages: number;
  misdirectedPings: number;
  streamsServed: number;
  malformedStreams: number;
}

/** What the message handler needs from its node. */
export interface MessageHandlerHost {
  config: Pick<GossipConfig, "name">;
  table: MemberTable;
  prober: Prober;
  reconnector: Reconnector;
  sender: PacketSender;
  staleCorrector: StaleCorrector;
  userStates: UserStates;
  /** False once the node stopped: late input is ignored. */
  running(): boolean;
  /** Runs `fn`, counting and logging what it throws instead of letting it escape. */
  guard(what: string, fn: () => void): void;
  /** Live load to attach to every ack (dropped if over {@link ACK_PAYLOAD_MAX_BYTES}). */
  ackPayload(): Uint8Array | undefined;
  log(level: "debug" | "info" | "warn", message: string): void;
}

/**
 * Routes received datagrams and stream requests.
 *
 * @example
 * ```ts
 * const handler = new MessageHandler(host);
 * transport.listen({
 *   onPacket: (from, data) => handler.onPacket(from, data),
 *   onRequest: (from, data, reply) => handler.onRequest(from, data, reply),
 * });
 * ```
 */
export class MessageHandler {
  readonly stats: InboundStats = {
    packetsReceived: 0,
    bytesReceived: 0,
    malformedPackets: 0,
    unknownMessages: 0,
    misdirectedPings: 0,
    streamsServed: 0,
    malformedStreams: 0,
  };

  constructor(readonly host: MessageHandlerHost) {}

  /** One received datagram: a single message or a compound of several. */
  onPacket(from: string, data: Uint8Array): void {
    if (!this.host.running()) return;
    this.stats.packetsReceived++;
    this.stats.bytesReceived += data.length;
    let decoded: ReturnType<typeof decodePacket>;
    try {
      decoded = decodePacket(data);
    } catch (e) {
      this.#countBad(e);
      return;
    }
    for (const e of decoded.errors) this.#countBad(e);
    if (decoded.messages.length > 0) this.host.reconnector.noticeLife(from);
    for (const m of decoded.messages) this.host.guard("packet", () => this.#handle(from, m));
  }

  /** One stream request (TCP ping or push-pull); `reply` gets exactly one encoded answer. */
  onRequest(from: string, data: Uint8Array, reply: (data: Uint8Array) => void): void {
    if (!this.host.running()) return;
    this.stats.streamsServed++;
    const fail = (message: string) => reply(encodeMessage({ type: MessageType.Error, message }));
    let m: Message;
    try {
      m = decodeMessage(data);
    } catch (e) {
      this.stats.malformedStreams++;
      return fail(`malformed request: ${(e as Error).message}`);
    }
    this.host.guard("stream", () => {
      if (m.type === MessageType.Ping) {
        if (m.node !== "" && m.node !== this.host.config.name) {
          return fail(`this is ${this.host.config.name}, not ${m.node}`);
        }
        return reply(encodeMessage({ type: MessageType.Ack, seq: m.seq, payload: this.#ackPayload() }));
      }
      if (m.type !== MessageType.PushPull) return fail(`unexpected stream message type ${m.type}`);
      let answer: Uint8Array;
      try {
        answer = answerPushPull(this.host.table, m);
      } catch (e) {
        this.host.log("warn", `refused push-pull from ${from}: ${(e as Error).message}`);
        return fail((e as Error).message);
      }
      reply(answer);
    });
  }

  #countBad(e: unknown): void {
    if (e instanceof UnknownMessageTypeError) this.stats.unknownMessages++;
    else this.stats.malformedPackets++;
  }

  #handle(from: string, m: Message): void {
    const h = this.host;
    switch (m.type) {
      case MessageType.Ping:
        if (m.node !== "" && m.node !== h.config.name) {
          this.stats.misdirectedPings++;
          return;
        }
        h.sender.send(from, [
          encodeMessage({ type: MessageType.Ack, seq: m.seq, payload: this.#ackPayload() }),
        ]);
        return;
      case MessageType.IndirectPing:
        return h.prober.handleIndirectPing(from, m);
      case MessageType.Ack:
        return h.prober.handleAck(m.seq, m.payload);
      case MessageType.Nack:
        return h.prober.handleNack(m.seq);
      case MessageType.Alive:
        return h.table.aliveNode(m);
      case MessageType.Suspect:
        h.staleCorrector.correct(from, m);
        return h.table.suspectNode(m);
      case MessageType.Dead:
        h.staleCorrector.correct(from, m);
        return h.table.deadNode(m);
      case MessageType.User:
        return h.userStates.receive(m);
      default:
        // Stream-only messages arriving as datagrams.
        this.stats.malformedPackets++;
    }
  }

  #ackPayload(): Uint8Array {
    const p = this.host.ackPayload() ?? new Uint8Array(0);
    return p.length <= ACK_PAYLOAD_MAX_BYTES ? p : new Uint8Array(0);
  }
}
