/**
 * Push-pull: the full-state exchange over a stream used for joining and anti-entropy. The dialing
 * side sends its member table, the other side merges it and answers with its own (merged) table,
 * which the dialer merges in turn.
 *
 * Protocol versions are negotiated here (memberlist's verifyProtocol): each node advertises the
 * [min, max] versions it understands and the `cur` it speaks; an exchange is accepted only if the
 * header ranges overlap and every alive member's `cur` lies inside the range all alive members
 * understand, so a node never joins a ring it cannot talk to.
 *
 * @module
 */

import { decodeMessage, encodeMessage } from "./codec.ts";
import { PROTOCOL_VERSION_MAX, PROTOCOL_VERSION_MIN } from "./config.ts";
import { GossipRequestError, ProtocolVersionError } from "./errors.ts";
import type { MemberTable } from "./member_table.ts";
import { MemberStatus, MessageType, type ProtocolVersions, type PushPullMsg } from "./messages.ts";

/** The versions this build advertises. */
export const LOCAL_VERSIONS: ProtocolVersions = {
  min: PROTOCOL_VERSION_MIN,
  max: PROTOCOL_VERSION_MAX,
  cur: PROTOCOL_VERSION_MAX,
};

/** Our push-pull request: the whole member table. */
export function encodeLocalState(table: MemberTable, join: boolean): Uint8Array {
  return encodeMessage({ type: MessageType.PushPull, join, vsn: LOCAL_VERSIONS, nodes: table.snapshot() });
}

/**
 * Answers a peer's push-pull: verifies versions (throws {@link ProtocolVersionError}), merges, and
 * returns our encoded state. Merging before replying (memberlist replies first) means that if the
 * peer's view accuses us, our refutation travels back in this very exchange instead of by gossip.
 */
export function answerPushPull(table: MemberTable, request: PushPullMsg): Uint8Array {
  verifyPushPull(request, table.members());
  table.mergeState(request.nodes);
  return encodeLocalState(table, false);
}

/** Merges the reply to our push-pull request. Throws on a remote error, a wrong reply or a
 * version mismatch. */
export function mergePushPullReply(table: MemberTable, addr: string, data: Uint8Array): void {
  const reply = decodeMessage(data);
  if (reply.type === MessageType.Error) throw new GossipRequestError(addr, `remote error: ${reply.message}`);
  if (reply.type !== MessageType.PushPull) {
    throw new GossipRequestError(addr, `unexpected reply type ${reply.type}`);
  }
  verifyPushPull(reply, table.members());
  table.mergeState(reply.nodes);
}

interface Versioned {
  name: string;
  status: MemberStatus;
  vsn: ProtocolVersions;
}

/** Throws {@link ProtocolVersionError} when `remote` cannot be merged with `local` members. */
export function verifyPushPull(remote: PushPullMsg, local: readonly Versioned[]): void {
  if (remote.vsn.max < PROTOCOL_VERSION_MIN || remote.vsn.min > PROTOCOL_VERSION_MAX) {
    throw new ProtocolVersionError(
      `peer speaks protocol ${remote.vsn.min}..${remote.vsn.max}, we speak ${PROTOCOL_VERSION_MIN}..${PROTOCOL_VERSION_MAX}`,
    );
  }
  let maxMin = 0, minMax = 255;
  const all = [...remote.nodes, ...local].filter((n) => n.status === MemberStatus.Alive);
  for (const n of all) {
    maxMin = Math.max(maxMin, n.vsn.min);
    minMax = Math.min(minMax, n.vsn.max);
  }
  for (const n of all) {
    if (n.vsn.cur < maxMin || n.vsn.cur > minMax) {
      throw new ProtocolVersionError(
        `member ${n.name} speaks protocol ${n.vsn.cur}, outside the ring's common range ${maxMin}..${minMax}`,
      );
    }
  }
}
