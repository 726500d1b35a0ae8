/**
 * User state: a small per-node record (edgering sends its live load) spread like membership news.
 * Our own state is queued under our name, newest replacing older; a state learnt about another
 * member is kept only if newer than what we know — (incarnation, seq) ordered — and then queued
 * again, so every node re-gossips it and it reaches all N nodes in about log N gossip rounds, where
 * acks alone would refresh it only once per N probe intervals. Kept apart from `gossip_node.ts`
 * because its newest-wins rule and its store are independent of membership.
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import { encodeMessage } from "./codec.ts";
import type { MemberTable } from "./member_table.ts";
import { MessageType, USER_STATE_MAX_BYTES, type UserStateMsg } from "./messages.ts";

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

/** Counters of received user states. */
export interface UserStateStats {
  /** User states we accepted as newer than what we knew. */
  userStatesAccepted: number;
  /** User states dropped: older than known, about an unknown member, or about ourselves. */
  userStatesIgnored: number;
}

/** Collaborators of {@link UserStates}. */
export interface UserStatesOptions {
  table: MemberTable;
  clock: Clock;
  /** Queue an encoded message under `key` for gossip (newest per key replaces older). */
  broadcast(key: string, message: Uint8Array): void;
}

/**
 * What every member last told the ring about itself, and our own sequence of states.
 *
 * @example
 * ```ts
 * const states = new UserStates({ table, clock, broadcast: (k, m) => queue.queue(k, m) });
 * states.publish(encodeLoad(load)); // ours, to everyone
 * states.receive(msg); // theirs: kept and passed on if newer
 * states.get("node-b")?.payload;
 * ```
 */
export class UserStates {
  #known = new Map<string, KnownUserState>();
  #seq = 0;
  readonly stats: UserStateStats = { userStatesAccepted: 0, userStatesIgnored: 0 };

  constructor(readonly options: UserStatesOptions) {}

  /** Queues `payload` as our newest state, under our current incarnation and the next seq. */
  publish(payload: Uint8Array): void {
    const me = this.options.table.local();
    this.#seq = (this.#seq + 1) >>> 0;
    const msg: UserStateMsg = {
      type: MessageType.User,
      node: me.name,
      incarnation: me.incarnation,
      seq: this.#seq,
      payload,
    };
    this.options.broadcast(USER_STATE_KEY + me.name, encodeMessage(msg));
  }

  /** Keeps a user state newer than what we know about a known member, and passes it on. States
   * about unknown names are dropped, so forged names cannot grow the map. */
  receive(m: UserStateMsg): void {
    const known = this.#known.get(m.node);
    const newer = !known || m.incarnation > known.incarnation ||
      (m.incarnation === known.incarnation && m.seq > known.seq);
    if (
      !newer || m.node === this.options.table.localName || !this.options.table.get(m.node) ||
      m.payload.length > USER_STATE_MAX_BYTES
    ) {
      this.stats.userStatesIgnored++;
      return;
    }
    this.stats.userStatesAccepted++;
    this.#known.set(m.node, {
      incarnation: m.incarnation,
      seq: m.seq,
      payload: m.payload,
      at: this.options.clock.now(),
    });
    this.options.broadcast(USER_STATE_KEY + m.node, encodeMessage(m));
  }

  /** The latest state learnt about `name` and when (clock ms), if any. */
  get(name: string): Readonly<KnownUserState> | undefined {
    return this.#known.get(name);
  }
}
