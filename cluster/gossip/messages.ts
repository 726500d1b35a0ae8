/**
 * Message types of the gossip wire protocol. The numeric codes are append-only: a code is never
 * reused or renumbered, and a new protocol version may only add codes or trailing fields (older
 * decoders ignore both). Bodies are msgpack arrays in the field order given in each comment.
 *
 * @module
 */

/** Wire codes. Never renumber; append new codes at the end. */
export enum MessageType {
  /** [seq, targetName, sourceName] — direct probe. */
  Ping = 0,
  /** [seq, targetName, targetAddr, wantNack, sourceName] — "please ping target for me". */
  IndirectPing = 1,
  /** [seq, payload] — answer to a ping; payload carries live load. */
  Ack = 2,
  /** [incarnation, node, from] */
  Suspect = 3,
  /** [incarnation, node, addr, meta, [pmin, pmax, pcur]] */
  Alive = 4,
  /** [incarnation, node, from] — from === node means a graceful leave. */
  Dead = 5,
  /** [join, [pmin, pmax, pcur], [[name, addr, meta, incarnation, status, [pmin, pmax, pcur]], …]] */
  PushPull = 6,
  /** Not msgpack: [count u8][len u16 BE × count][parts…]. */
  Compound = 7,
  /** [node, incarnation, seq, payload] — a member's latest small state (its live load), spread
   * by gossip; per member the highest (incarnation, seq) wins. A build that does not know the
   * code counts it as unknown and drops it, so no protocol version bump is needed. */
  User = 8,
  /** [seq] — indirect prober could not reach the target. */
  Nack = 9,
  /** [message] — stream error reply. */
  Error = 10,
}

/** Member status as gossiped; codes are part of the wire format. */
export enum MemberStatus {
  Alive = 0,
  Suspect = 1,
  Dead = 2,
  Left = 3,
}

/** Protocol version range a node understands and the version it speaks. */
export interface ProtocolVersions {
  min: number;
  max: number;
  cur: number;
}

/** Longest node name on the wire, in UTF-8 bytes. */
export const NODE_NAME_MAX_BYTES = 128;
/** Longest "host:port" address on the wire, in UTF-8 bytes (a DNS name is ≤ 253). */
export const ADDRESS_MAX_BYTES = 260;
/** Static capability metadata per node, in bytes: small enough to ride in one datagram. */
export const META_MAX_BYTES = 512;
/** Ack payload (live load), in bytes: acks are sent every probe, so keep them tiny. */
export const ACK_PAYLOAD_MAX_BYTES = 256;
/** User state (live load broadcast), in bytes: it rides in every gossip round, so keep it as
 * small as an ack payload. */
export const USER_STATE_MAX_BYTES = ACK_PAYLOAD_MAX_BYTES;
/** Error text in a stream reply, in bytes. */
export const ERROR_TEXT_MAX_BYTES = 1024;
/** Members in one push-pull: bounds the memory a single stream can make us allocate. */
export const PUSH_PULL_MAX_NODES = 10_000;

export interface PingMsg {
  type: MessageType.Ping;
  seq: number;
  /** Name of the intended target; "" = anyone at that address. */
  node: string;
  sourceNode: string;
}

export interface IndirectPingMsg {
  type: MessageType.IndirectPing;
  seq: number;
  node: string;
  addr: string;
  nack: boolean;
  sourceNode: string;
}

export interface AckMsg {
  type: MessageType.Ack;
  seq: number;
  payload: Uint8Array;
}

export interface NackMsg {
  type: MessageType.Nack;
  seq: number;
}

export interface SuspectMsg {
  type: MessageType.Suspect;
  incarnation: number;
  node: string;
  from: string;
}

export interface AliveMsg {
  type: MessageType.Alive;
  incarnation: number;
  node: string;
  addr: string;
  meta: Uint8Array;
  vsn: ProtocolVersions;
}

export interface DeadMsg {
  type: MessageType.Dead;
  incarnation: number;
  node: string;
  from: string;
}

/** One member's state in a push-pull. */
export interface PushNodeState {
  name: string;
  addr: string;
  meta: Uint8Array;
  incarnation: number;
  status: MemberStatus;
  vsn: ProtocolVersions;
}

export interface PushPullMsg {
  type: MessageType.PushPull;
  join: boolean;
  vsn: ProtocolVersions;
  nodes: PushNodeState[];
}

/** A member's latest user state (see {@link MessageType.User}). */
export interface UserStateMsg {
  type: MessageType.User;
  /** Member the state is about (its origin). */
  node: string;
  /** The origin's incarnation when it sent this: a restarted node starts higher, so its new
   * states beat those of its former self even though `seq` restarts. */
  incarnation: number;
  /** Per-process counter, compared only between states of the same incarnation. */
  seq: number;
  payload: Uint8Array;
}

export interface ErrorMsg {
  type: MessageType.Error;
  message: string;
}

/** Every single (non-compound) message. */
export type Message =
  | PingMsg
  | IndirectPingMsg
  | AckMsg
  | NackMsg
  | SuspectMsg
  | AliveMsg
  | DeadMsg
  | PushPullMsg
  | UserStateMsg
  | ErrorMsg;
