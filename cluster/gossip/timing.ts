/**
 * Pure timing formulas of SWIM + Lifeguard, as in hashicorp/memberlist. All times in ms; `n` is
 * the number of members this node knows (itself and recently dead ones included).
 *
 * @module
 */

/**
 * Minimum suspicion timeout: `mult · max(1, log10 n) · probeInterval`, floored to whole ms. The log
 * scale gives gossip time to carry the suspicion (and the refutation) across a larger ring.
 *
 * @example
 * ```ts
 * suspicionTimeoutMs(4, 50, 1000); // 6792
 * ```
 */
export function suspicionTimeoutMs(mult: number, n: number, probeIntervalMs: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)));
  // Three decimals of the scale, like memberlist, so results match its table to the millisecond.
  return Math.floor((mult * Math.floor(nodeScale * 1000) * probeIntervalMs) / 1000);
}

/**
 * Lifeguard dynamic suspicion: the timeout shrinks from `max` towards `min` as the number of
 * independent confirmations `n` approaches `k` (logarithmically), minus the time already elapsed.
 * May be negative (the timer is then overdue).
 *
 * @example
 * ```ts
 * remainingSuspicionMs(0, 3, 0, 2000, 30000); // 30000
 * remainingSuspicionMs(3, 3, 0, 2000, 30000); // 2000
 * ```
 */
export function remainingSuspicionMs(
  n: number,
  k: number,
  elapsedMs: number,
  minMs: number,
  maxMs: number,
): number {
  if (k < 1) return minMs - elapsedMs;
  const frac = Math.log(n + 1) / Math.log(k + 1);
  const raw = maxMs - frac * (maxMs - minMs);
  const timeout = Math.max(minMs, Math.floor(raw));
  return timeout - elapsedMs;
}

/**
 * Confirmations wanted before a suspicion reaches its minimum: `mult − 2` (the nominal timeout two
 * probe intervals early), or 0 when the ring is too small to provide them (`n − 2 < k`: us and the
 * suspect do not count).
 */
export function suspicionConfirmationsWanted(mult: number, n: number): number {
  const k = mult - 2;
  return n - 2 < k ? 0 : Math.max(0, k);
}

/**
 * How many times a broadcast is transmitted: `mult · ceil(log10(n + 1))`, enough for an epidemic
 * to reach every node with high probability.
 *
 * @example
 * ```ts
 * retransmitLimit(4, 50); // 8
 * ```
 */
export function retransmitLimit(mult: number, n: number): number {
  return mult * Math.ceil(Math.log10(n + 1));
}

/** Rings above this many members sync less often: each doubling adds one interval. */
export const PUSH_PULL_SCALE_THRESHOLD = 32;

/**
 * Push-pull period scaled with ring size so full-state syncs do not saturate the network:
 * unchanged up to 32 members, then `(ceil(log2 n − log2 32) + 1) · interval`.
 *
 * @example
 * ```ts
 * pushPullScaleMs(30000, 50); // 60000
 * ```
 */
export function pushPullScaleMs(intervalMs: number, n: number): number {
  if (n <= PUSH_PULL_SCALE_THRESHOLD) return intervalMs;
  const multiplier = Math.ceil(Math.log2(n) - Math.log2(PUSH_PULL_SCALE_THRESHOLD)) + 1;
  return multiplier * intervalMs;
}

/**
 * Time-based starting incarnation: the current Unix second, or one past a persisted value if that
 * is higher. A restarted node thus always beats its former self's incarnation.
 */
export function initialIncarnation(nowMs: number, persisted?: number): number {
  const fromClock = Math.floor(nowMs / 1000) >>> 0;
  return persisted !== undefined && persisted + 1 > fromClock ? persisted + 1 : fromClock;
}

/** Largest incarnation value on the wire (u32). */
export const MAX_INCARNATION = 0xffff_ffff;

/**
 * Incarnations start at the Unix second and grow by one per refutation, so a value further ahead of
 * our clock than `maxLeadSec` cannot come from an honest peer.
 */
export function isPlausibleIncarnation(incarnation: number, nowMs: number, maxLeadSec: number): boolean {
  return incarnation <= Math.floor(nowMs / 1000) + maxLeadSec;
}
