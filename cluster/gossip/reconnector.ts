/**
 * Healing after failures, in two parts.
 *
 * - Serf's reconnect: members that failed (not those that left) are remembered for
 *   `reconnectTimeoutMs`; every `reconnectIntervalMs`, with probability failed/alive, one of them is
 *   retried with a full-state exchange. When a partition heals, the first exchange that gets
 *   through merges the two halves' views.
 * - Revival sync: a well-formed datagram from a member we believe dead is evidence that it lives (a
 *   healed partition, or a refutation we missed). We exchange state with it directly, at most once
 *   per {@link REVIVAL_SYNC_MIN_INTERVALS} probe intervals: our view makes it refute, and its reply
 *   carries the refutation back, instead of waiting for the next periodic push-pull.
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import type { GossipConfig } from "./config.ts";
import type { MemberEvent, MemberTable } from "./member_table.ts";
import { MemberStatus } from "./messages.ts";
import { randomInt, type Rng } from "./rng.ts";

/** A member we believe dead but hear from is synced with at most once per this many probe
 * intervals: enough to revive it within seconds, few enough that a flapping peer cannot make us
 * flood it with full-state exchanges. */
export const REVIVAL_SYNC_MIN_INTERVALS = 5;

/** What the reconnector needs from its node. */
export interface ReconnectHost {
  config: GossipConfig;
  clock: Clock;
  rng: Rng;
  table: MemberTable;
  /** Full-state exchange with `addr`. */
  pushPull(addr: string, join: boolean): void;
}

export class Reconnector {
  #failed = new Map<string, { addr: string; since: number }>();
  #revivalSyncAt = new Map<string, number>();
  /** Revival syncs started (for tests and the status page). */
  revivalSyncs = 0;

  constructor(readonly host: ReconnectHost) {}

  /** Members currently remembered as failed. */
  get failedCount(): number {
    return this.#failed.size;
  }

  /** Tracks failures and recoveries from the member table's events. */
  onEvent(e: MemberEvent): void {
    if (e.member.name === this.host.config.name) return;
    if (e.type === "dead") this.#failed.set(e.member.name, { addr: e.member.addr, since: e.at });
    else if (e.type === "join" || e.type === "alive" || e.type === "left") {
      this.#failed.delete(e.member.name);
      this.#revivalSyncAt.delete(e.member.name);
    }
  }

  /** Reconnect tick: with probability failed/alive, retry one random failed member. */
  tick(): void {
    const { clock, config, rng, table } = this.host;
    const now = clock.now();
    for (const [name, f] of this.#failed) {
      if (now - f.since > config.reconnectTimeoutMs) this.#failed.delete(name);
    }
    if (this.#failed.size === 0) return;
    let alive = 0;
    for (const m of table.members()) {
      if (m.status === MemberStatus.Alive || m.status === MemberStatus.Suspect) alive++;
    }
    if (rng.next() > this.#failed.size / Math.max(1, alive)) return;
    const entries = [...this.#failed.values()];
    this.host.pushPull(entries[randomInt(rng, entries.length)].addr, true);
  }

  /** A valid datagram arrived from `from`: if that is a member we believe dead, sync with it. */
  noticeLife(from: string): void {
    const { clock, config, table } = this.host;
    const m = table.byAddress(from);
    if (!m || m.status !== MemberStatus.Dead || m.name === config.name) return;
    const now = clock.now();
    const last = this.#revivalSyncAt.get(m.name);
    if (last !== undefined && now - last < REVIVAL_SYNC_MIN_INTERVALS * config.probeIntervalMs) return;
    this.#revivalSyncAt.set(m.name, now);
    this.revivalSyncs++;
    this.host.pushPull(m.addr, false);
  }
}
