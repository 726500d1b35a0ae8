/**
 * The record a node keeps per member, and the events emitted when it changes.
 *
 * @module
 */

import { type AliveMsg, type MemberStatus, MessageType, type ProtocolVersions } from "./messages.ts";

/** What this node knows about one member. */
export interface MemberState {
  name: string;
  /** "host:port" of its gossip socket (UDP and TCP). */
  addr: string;
  /** Capability metadata (≤ 512 bytes). */
  meta: Uint8Array;
  vsn: ProtocolVersions;
  incarnation: number;
  status: MemberStatus;
  /** When `status` last changed (clock ms). */
  stateChangeAt: number;
}

/** A change worth telling the layers above (planner, status page, tests). */
export interface MemberEvent {
  type: "join" | "update" | "alive" | "suspect" | "dead" | "left" | "conflict";
  member: Readonly<MemberState>;
  /** Who reported it (suspect/dead) or the conflicting address (conflict). */
  from?: string;
  at: number;
}

/** The alive message announcing `m` as it is now (refutations, re-announcements, corrections). */
export function aliveMessage(m: Readonly<MemberState>): AliveMsg {
  return {
    type: MessageType.Alive,
    incarnation: m.incarnation,
    node: m.name,
    addr: m.addr,
    meta: m.meta,
    vsn: m.vsn,
  };
}

/** Byte-wise equality (metadata comparison). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Equality of protocol version triples. */
export function versionsEqual(a: ProtocolVersions, b: ProtocolVersions): boolean {
  return a.min === b.min && a.max === b.max && a.cur === b.cur;
}
