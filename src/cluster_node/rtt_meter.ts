/**
 * Smooths this node's gossip probe round trips into the RTTs it advertises to the planner, and decides
 * when a new set is worth a metadata update.
 *
 * Every node plans on its own, so a measured RTT can only enter the plan if every node sees the same
 * figure: each node publishes what it measured in its gossip metadata, and the planner reads both
 * directions of a pair from there (taking the larger). A metadata update costs a new incarnation
 * gossiped to the whole ring, and a changed RTT can change the plan, so the published figures must
 * not follow every probe. A peer's RTT is the smallest probe round trip of the last
 * {@link RTT_WINDOW_MS}, rounded to 0.1 ms: queueing on a busy host or link only ever adds to a round
 * trip, so the minimum is the path's own latency — steady under load spikes, which would otherwise
 * move layers between nodes for nothing — while a link that became slow shows within a window. A peer
 * is left out until it has been measured for {@link RTT_SETTLE_MS} (a node that just joined, or just
 * started, has few probes and they are slowed by model loading), so the planner assumes its default
 * RTT meanwhile. A new set is published only when a peer appeared or went away, or some RTT moved by
 * more than {@link RTT_PUBLISH_MIN_CHANGE_MS} and {@link RTT_PUBLISH_MIN_CHANGE_RATIO} of its published
 * value — and then at most every {@link RTT_PUBLISH_INTERVAL_MS}.
 *
 * Pure apart from its own state: the caller passes the samples and the clock.
 *
 * @example
 * ```ts
 * const meter = new RttMeter();
 * meter.sample(new Map([["node-b", 0.31]]), performance.now());
 * const due = meter.publishDue(performance.now()); // { "node-b": 0.3 } once settled, or undefined
 * ```
 *
 * @module
 */

/** How far back the minimum looks, ms: tens of probes per peer on either profile. */
export const RTT_WINDOW_MS = 30_000;
/** How long a peer is measured before its RTT is published, ms. */
export const RTT_SETTLE_MS = 10_000;
/** Least change of a peer's RTT worth a metadata update, ms: loopback jitter is a few tenths. */
export const RTT_PUBLISH_MIN_CHANGE_MS = 0.5;
/** Least relative change worth a metadata update: a quarter of the published RTT. */
export const RTT_PUBLISH_MIN_CHANGE_RATIO = 0.25;
/** Shortest time between two published sets, ms, whatever changed: bounds the metadata gossip. */
export const RTT_PUBLISH_INTERVAL_MS = 5_000;

/** RTT rounded to the 0.1 ms steps the metadata carries, ms. */
export function quantiseRttMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Per-peer windows of probe round trips, and the set last published. */
export class RttMeter {
  /** peer → [time ms, RTT ms] samples within the window, oldest first */
  readonly #samples = new Map<string, Array<[number, number]>>();
  /** peer → when it was first sampled, ms */
  readonly #since = new Map<string, number>();
  #published?: Record<string, number>;
  #publishedAt = -Infinity;

  /**
   * Adds one probe RTT per peer (ms) taken at `nowMs` and forgets peers absent from `rtts` (gone from
   * the ring, or not probed since they came back). Non-finite or negative figures are ignored.
   */
  sample(rtts: ReadonlyMap<string, number>, nowMs: number): void {
    for (const peer of [...this.#samples.keys()]) {
      if (!rtts.has(peer)) {
        this.#samples.delete(peer);
        this.#since.delete(peer);
      }
    }
    for (const [peer, ms] of rtts) {
      if (!Number.isFinite(ms) || ms < 0) continue;
      const window = this.#samples.get(peer) ?? [];
      window.push([nowMs, ms]);
      while (window.length > 0 && nowMs - window[0][0] > RTT_WINDOW_MS) window.shift();
      this.#samples.set(peer, window);
      if (!this.#since.has(peer)) this.#since.set(peer, nowMs);
    }
  }

  /** The RTTs now, ms by peer: the minimum of each settled peer's window, in 0.1 ms steps. */
  current(nowMs: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [peer, window] of this.#samples) {
      if (nowMs - this.#since.get(peer)! < RTT_SETTLE_MS || window.length === 0) continue;
      out[peer] = quantiseRttMs(Math.min(...window.map(([, ms]) => ms)));
    }
    return out;
  }

  /**
   * The set to publish now, or undefined when the published one is still good enough (see the module
   * doc). Returning a set records it as published at `nowMs`.
   */
  publishDue(nowMs: number): Record<string, number> | undefined {
    const next = this.current(nowMs);
    if (!rttsChanged(this.#published, next)) return undefined;
    if (this.#published && nowMs - this.#publishedAt < RTT_PUBLISH_INTERVAL_MS) return undefined;
    this.#published = next;
    this.#publishedAt = nowMs;
    return next;
  }
}

/** Whether `next` differs enough from `published` to be worth a metadata update. */
export function rttsChanged(
  published: Record<string, number> | undefined,
  next: Record<string, number>,
): boolean {
  if (!published) return Object.keys(next).length > 0;
  const a = Object.keys(published), b = Object.keys(next);
  if (a.length !== b.length || b.some((peer) => !(peer in published))) return true;
  return b.some((peer) => {
    const change = Math.abs(next[peer] - published[peer]);
    return change > RTT_PUBLISH_MIN_CHANGE_MS && change > RTT_PUBLISH_MIN_CHANGE_RATIO * published[peer];
  });
}
