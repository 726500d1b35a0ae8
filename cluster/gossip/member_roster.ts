/**
 * The roster of known members: who they are (by name and by address) and the order in which they
 * are probed and drawn at random. {@link MemberTable} decides *what* a member's state becomes; this
 * file only stores the records and chooses among them, so the SWIM transition rules read without
 * list bookkeeping in between.
 *
 * Probe order is memberlist's randomised round-robin: a newcomer is inserted at a random offset
 * (were it appended, every node would probe it last), the list is walked skipping ourselves and
 * dead members, and at each wrap-around long-dead members are forgotten and the rest reshuffled.
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import type { GossipConfig } from "./config.ts";
import type { MemberState } from "./member_state.ts";
import { MemberStatus } from "./messages.ts";
import { randomInt, type Rng, shuffle } from "./rng.ts";

/** Collaborators of a {@link MemberRoster}. */
export interface MemberRosterOptions {
  localName: string;
  /** Read at every reshuffle: how long a dead or left member is remembered (ms). */
  config: Pick<GossipConfig, "gossipToTheDeadMs">;
  clock: Clock;
  rng: Rng;
}

/**
 * Member records indexed by name and address, in probe order.
 *
 * @example
 * ```ts
 * const roster = new MemberRoster({ localName: "a", config, clock, rng: seededRng(1) });
 * roster.add(state);
 * const target = roster.nextProbeTarget();
 * ```
 */
export class MemberRoster {
  /** Probe order (shuffled at every wrap-around). */
  #nodes: MemberState[] = [];
  #map = new Map<string, MemberState>();
  #byAddr = new Map<string, MemberState>();
  #probeIndex = 0;

  constructor(readonly options: MemberRosterOptions) {}

  /** Members known, dead ones not yet forgotten included (the N of the timing formulas). */
  get size(): number {
    return this.#nodes.length;
  }

  /** The mutable record of `name`; only the member table writes through it. */
  get(name: string): MemberState | undefined {
    return this.#map.get(name);
  }

  /** The member whose gossip socket is at `addr`, if known. */
  byAddress(addr: string): MemberState | undefined {
    return this.#byAddr.get(addr);
  }

  /** All known members, in probe order. */
  members(): readonly MemberState[] {
    return this.#nodes;
  }

  /** Enters a new member at a random offset of the probe order (draws one random number). */
  add(state: MemberState): void {
    this.#map.set(state.name, state);
    this.#byAddr.set(state.addr, state);
    // Insert at a random offset: if every node appended, a newcomer would be probed last by all.
    const offset = randomInt(this.options.rng, this.#nodes.length);
    const last = this.#nodes.push(state) - 1;
    [this.#nodes[offset], this.#nodes[last]] = [this.#nodes[last], this.#nodes[offset]];
  }

  /** Moves `state` to `addr` in the address index (a no-op move re-asserts the entry). */
  setAddress(state: MemberState, addr: string): void {
    if (state.addr !== addr) {
      if (this.#byAddr.get(state.addr) === state) this.#byAddr.delete(state.addr);
      state.addr = addr;
    }
    this.#byAddr.set(addr, state);
  }

  /**
   * Next member to probe, randomised round-robin: walk the shuffled list, skipping ourselves and
   * dead members; at the end forget long-dead members and reshuffle.
   */
  nextProbeTarget(): Readonly<MemberState> | undefined {
    let checked = 0;
    while (checked < this.#nodes.length) {
      if (this.#probeIndex >= this.#nodes.length) {
        this.resetNodes();
        this.#probeIndex = 0;
        checked++;
        continue;
      }
      const node = this.#nodes[this.#probeIndex++];
      if (
        node.name === this.options.localName || node.status === MemberStatus.Dead ||
        node.status === MemberStatus.Left
      ) {
        checked++;
        continue;
      }
      return node;
    }
    return undefined;
  }

  /** Forgets members dead or left for longer than `gossipToTheDeadMs`, then reshuffles. */
  resetNodes(): void {
    const now = this.options.clock.now();
    const keep: MemberState[] = [];
    for (const n of this.#nodes) {
      const gone = (n.status === MemberStatus.Dead || n.status === MemberStatus.Left) &&
        now - n.stateChangeAt > this.options.config.gossipToTheDeadMs;
      if (gone && n.name !== this.options.localName) {
        this.#map.delete(n.name);
        if (this.#byAddr.get(n.addr) === n) this.#byAddr.delete(n.addr);
      } else keep.push(n);
    }
    this.#nodes = keep;
    shuffle(this.options.rng, this.#nodes);
  }

  /** Up to `k` distinct random members for which `exclude` is false. */
  kRandomMembers(k: number, exclude: (m: Readonly<MemberState>) => boolean): Readonly<MemberState>[] {
    const out: MemberState[] = [];
    const n = this.#nodes.length;
    // Up to 3n draws: exhaustive enough for small rings, cheap for large ones where k ≪ n.
    for (let i = 0; i < 3 * n && out.length < k; i++) {
      const m = this.#nodes[randomInt(this.options.rng, n)];
      if (exclude(m) || out.includes(m)) continue;
      out.push(m);
    }
    return out;
  }
}
