/**
 * A bounded wait queue that is fair between clients: round-robin across clients, FIFO within a client.
 *
 * Each client (an API key, an OpenAI `user`, a remote address — whatever key the caller picks) has its
 * own FIFO. `shift()` takes the oldest item of the client served least recently, so a client that
 * submits a burst of 50 requests gets one admission per round while a client arriving later waits
 * behind at most one item of each other waiting client, not behind the whole burst. Among clients never
 * served (or forgotten, see {@link MAX_CLIENT_HISTORY}) the one whose oldest item arrived first goes
 * first, so with a single client this is a plain FIFO.
 *
 * Bounds are checked on `push` against limits the caller passes each time, because the scheduler's room
 * grows and shrinks with its free KV slots: the total bound keeps memory fixed, the per-client bound
 * keeps one client from filling the whole queue and pushing everyone else into 429s.
 *
 * Pure data structure: no clock, no I/O; `shift` costs O(clients with waiting items).
 */
import { QueueFullError } from "./scheduler_errors.ts";

/**
 * Clients whose last-served turn is remembered after their queue empties. Past this, the idle client
 * served longest ago is forgotten; if it comes back it counts as never served and may go once ahead of
 * its round-robin turn — a bounded unfairness that keeps memory fixed however many clients come and go.
 */
export const MAX_CLIENT_HISTORY = 1024;

/** Limits checked by {@link FairQueue.push}; counts of waiting items. */
export interface FairQueueLimits {
  /** most items waiting over all clients */
  readonly total: number;
  /** most items waiting for one client (use `total` for no stricter bound) */
  readonly perClient: number;
}

/** One client's queue is full: it must wait for its own requests to be admitted (HTTP 429). */
export class ClientQueueFullError extends QueueFullError {
  override name = "ClientQueueFullError";
  constructor(readonly client: string, queued: number, limit: number) {
    super(queued, limit);
    this.message = `this client already has ${queued} requests waiting (limit ${limit}); retry later`;
  }
}

interface Entry<T> {
  readonly item: T;
  /** arrival number, to order never-served clients by their oldest item */
  readonly arrival: number;
}

/**
 * Round-robin over clients, FIFO within each, with a total and a per-client bound.
 *
 * @example
 * ```ts
 * const q = new FairQueue<string>();
 * const limits = { total: 8, perClient: 8 };
 * q.push("a", "a1", limits); q.push("a", "a2", limits); q.push("b", "b1", limits);
 * q.shift(); // "a1"
 * q.shift(); // "b1" — b has never been served, a just was
 * q.shift(); // "a2"
 * ```
 */
export class FairQueue<T> {
  /** waiting items per client; a client leaves the map when its queue empties */
  private readonly waiting = new Map<string, Entry<T>[]>();
  /** turn at which each client was last served, in serve order (first = served longest ago) */
  private readonly lastServed = new Map<string, number>();
  private turn = 0;
  private arrivals = 0;
  private count = 0;

  /** Items waiting over all clients. */
  get size(): number {
    return this.count;
  }

  /** Items waiting for `client`. */
  queuedFor(client: string): number {
    return this.waiting.get(client)?.length ?? 0;
  }

  /**
   * Appends `item` to `client`'s queue. Throws ClientQueueFullError when the client already has
   * `limits.perClient` waiting, QueueFullError when `limits.total` are waiting in all.
   */
  push(client: string, item: T, limits: FairQueueLimits): void {
    const own = this.queuedFor(client);
    if (own >= limits.perClient) throw new ClientQueueFullError(client, own, limits.perClient);
    if (this.count >= limits.total) throw new QueueFullError(this.count, limits.total);
    let queue = this.waiting.get(client);
    if (!queue) this.waiting.set(client, queue = []);
    queue.push({ item, arrival: this.arrivals++ });
    this.count++;
  }

  /** Takes the oldest item of the waiting client served least recently; undefined when empty. */
  shift(): T | undefined {
    let best: string | undefined;
    let bestRank = [Infinity, Infinity];
    for (const [client, queue] of this.waiting) {
      // never served → -1, so it ranks before every served client; ties by oldest waiting item
      const rank = [this.lastServed.get(client) ?? -1, queue[0].arrival];
      if (rank[0] < bestRank[0] || (rank[0] === bestRank[0] && rank[1] < bestRank[1])) {
        best = client;
        bestRank = rank;
      }
    }
    if (best === undefined) return undefined;
    const queue = this.waiting.get(best)!;
    const { item } = queue.shift()!;
    if (queue.length === 0) this.waiting.delete(best);
    this.count--;
    // re-insert so the map stays in serve order and pruning drops the longest-idle client
    this.lastServed.delete(best);
    this.lastServed.set(best, this.turn++);
    this.prune();
    return item;
  }

  /** Removes `item` wherever it waits (a cancelled request); false when it is not queued. */
  remove(item: T): boolean {
    for (const [client, queue] of this.waiting) {
      const at = queue.findIndex((e) => e.item === item);
      if (at < 0) continue;
      queue.splice(at, 1);
      if (queue.length === 0) this.waiting.delete(client);
      this.count--;
      return true;
    }
    return false;
  }

  /** Every waiting item, in no particular order. */
  values(): T[] {
    return [...this.waiting.values()].flatMap((queue) => queue.map((e) => e.item));
  }

  private prune(): void {
    if (this.lastServed.size <= MAX_CLIENT_HISTORY) return;
    for (const client of this.lastServed.keys()) {
      if (this.lastServed.size <= MAX_CLIENT_HISTORY) return;
      // a client with waiting items keeps its place in the rotation
      if (!this.waiting.has(client)) this.lastServed.delete(client);
    }
  }
}
