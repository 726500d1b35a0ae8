/**
 * Direct correction of stale rumors. A suspect/dead rumor older than the alive incarnation we know
 * means its sender missed the refutation. We tell that sender directly (one datagram with the
 * member's current alive) instead of hoping the refutation's epidemic, whose retransmit budget is
 * spent, reaches it before its suspicion timer does. Separate from the message dispatch because it
 * keeps its own memory of whom it already corrected.
 *
 * @module
 */

import { encodeMessage } from "./codec.ts";
import { aliveMessage } from "./member_state.ts";
import type { MemberTable } from "./member_table.ts";
import { type DeadMsg, MemberStatus, type SuspectMsg } from "./messages.ts";

/** (sender, member, incarnation) corrections remembered to avoid repeats; the set is simply
 * cleared when full, which at worst repeats a one-datagram correction. */
const STALE_CORRECTIONS_REMEMBERED = 4096;

/** Counters of the stale-rumor corrector. */
export interface StaleCorrectionStats {
  /** Senders of stale suspect/dead rumors we corrected directly. */
  staleCorrections: number;
}

/** Collaborators of a {@link StaleCorrector}. */
export interface StaleCorrectorOptions {
  table: MemberTable;
  /** Sends encoded messages as one datagram (queued gossip piggybacked). */
  send(to: string, parts: Uint8Array[]): void;
}

/**
 * Answers stale suspect/dead rumors with the member's current alive, once per sender, member and
 * incarnation.
 *
 * @example
 * ```ts
 * const corrector = new StaleCorrector({ table, send: (to, parts) => sender.send(to, parts) });
 * corrector.correct(from, suspectMsg); // no-op unless the rumor is older than what we know
 * ```
 */
export class StaleCorrector {
  #corrected = new Set<string>();
  readonly stats: StaleCorrectionStats = { staleCorrections: 0 };

  constructor(readonly options: StaleCorrectorOptions) {}

  /** Sends `from` the alive that supersedes rumor `m`, if `m` is stale and not yet corrected. */
  correct(from: string, m: SuspectMsg | DeadMsg): void {
    const known = this.options.table.get(m.node);
    if (!known || known.status !== MemberStatus.Alive || m.incarnation >= known.incarnation) return;
    const key = `${from}\u0000${m.node}\u0000${known.incarnation}`;
    if (this.#corrected.has(key)) return;
    if (this.#corrected.size >= STALE_CORRECTIONS_REMEMBERED) this.#corrected.clear();
    this.#corrected.add(key);
    this.stats.staleCorrections++;
    this.options.send(from, [encodeMessage(aliveMessage(known))]);
  }
}
