/**
 * Protocol-version negotiation for push-pull (memberlist's verifyProtocol). Each node advertises
 * [min, max] versions it understands and the `cur` it speaks; a state exchange is accepted only if
 * the header ranges overlap and every alive member's `cur` lies inside the range all alive members
 * understand, so a node never joins a ring it cannot talk to.
 *
 * @module
 */

import { PROTOCOL_VERSION_MAX, PROTOCOL_VERSION_MIN } from "./config.ts";
import { ProtocolVersionError } from "./errors.ts";
import { MemberStatus, type ProtocolVersions, type PushPullMsg } from "./messages.ts";

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
