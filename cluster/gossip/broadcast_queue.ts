/**
 * Transmit-limited broadcast queue (memberlist's TransmitLimitedQueue). Each entry is keyed by the
 * member it is about, so a newer alive/suspect/dead message replaces any queued older one for the
 * same member ("newest replaces older"). Entries are handed out freshest first — fewest
 * transmissions, then largest (to pack datagrams), then newest — and dropped after
 * `retransmitLimit(mult, N)` transmissions.
 *
 * @example
 * ```ts
 * const q = new BroadcastQueue({ retransmitMult: 4, numNodes: () => 10 });
 * q.queue("node-a", aliveBytes);
 * const parts = q.getBroadcasts(2, 1300); // up to 1300 bytes, 2 bytes overhead per part
 * ```
 *
 * @module
 */

import { retransmitLimit } from "./timing.ts";

/** Queued broadcasts beyond this are pruned (most transmitted first): a burst of joins in a large
 * ring must not grow memory without bound. */
export const BROADCAST_QUEUE_MAX = 4096;

interface Entry {
  key: string;
  message: Uint8Array;
  transmits: number;
  id: number;
  onFinished?: () => void;
}

/** Options of {@link BroadcastQueue}. */
export interface BroadcastQueueOptions {
  /** Multiplier of the retransmit budget. */
  retransmitMult: number;
  /** Current ring size estimate (read at every `getBroadcasts`). */
  numNodes: () => number;
  /** Prune threshold; defaults to {@link BROADCAST_QUEUE_MAX}. */
  maxQueued?: number;
}

export class BroadcastQueue {
  #entries: Entry[] = [];
  #byKey = new Map<string, Entry>();
  #nextId = 1;
  #sorted = true;

  constructor(readonly options: BroadcastQueueOptions) {}

  /** Number of queued broadcasts. */
  get length(): number {
    return this.#entries.length;
  }

  /**
   * Queues `message` under `key`, replacing (and finishing) any entry with the same key.
   * `onFinished` runs when the message is retired: transmit budget spent, replaced, or pruned.
   */
  queue(key: string, message: Uint8Array, onFinished?: () => void): void {
    this.queueWithTransmits(key, message, 0, onFinished);
  }

  /** Like `queue` but starting at a given transmit count (tests, and re-queued leftovers). */
  queueWithTransmits(key: string, message: Uint8Array, transmits: number, onFinished?: () => void): void {
    const old = this.#byKey.get(key);
    if (old) {
      this.#remove(old);
      old.onFinished?.();
    }
    const entry: Entry = { key, message, transmits, id: this.#nextId++, onFinished };
    this.#entries.push(entry);
    this.#byKey.set(key, entry);
    this.#sorted = false;
    const max = this.options.maxQueued ?? BROADCAST_QUEUE_MAX;
    if (this.#entries.length > max) this.prune(max);
  }

  /**
   * Takes broadcasts that fit in `limitBytes`, counting `overheadBytes` per message, and charges one
   * transmission to each. Entries that reach the retransmit limit are retired.
   */
  getBroadcasts(overheadBytes: number, limitBytes: number): Uint8Array[] {
    if (this.#entries.length === 0) return [];
    this.#sort();
    const limit = retransmitLimit(this.options.retransmitMult, this.options.numNodes());
    const out: Uint8Array[] = [];
    const retired: Entry[] = [];
    let used = 0;
    for (const e of this.#entries) {
      const free = limitBytes - used - overheadBytes;
      if (free <= 0) break;
      if (e.message.length > free) continue;
      used += overheadBytes + e.message.length;
      out.push(e.message);
      e.transmits++;
      if (e.transmits >= limit) retired.push(e);
    }
    if (out.length > 0) this.#sorted = false;
    for (const e of retired) {
      this.#remove(e);
      e.onFinished?.();
    }
    return out;
  }

  /** Keeps the `maxRetain` freshest entries, retiring the rest. */
  prune(maxRetain: number): void {
    this.#sort();
    while (this.#entries.length > maxRetain) {
      const e = this.#entries[this.#entries.length - 1];
      this.#remove(e);
      e.onFinished?.();
    }
  }

  /** Keys in hand-out order, with transmit counts (for tests and the status page). */
  orderedView(): { key: string; transmits: number; bytes: number }[] {
    this.#sort();
    return this.#entries.map((e) => ({ key: e.key, transmits: e.transmits, bytes: e.message.length }));
  }

  /** Retires everything. */
  reset(): void {
    const all = this.#entries;
    this.#entries = [];
    this.#byKey.clear();
    for (const e of all) e.onFinished?.();
  }

  #remove(e: Entry): void {
    const i = this.#entries.indexOf(e);
    if (i >= 0) this.#entries.splice(i, 1);
    if (this.#byKey.get(e.key) === e) this.#byKey.delete(e.key);
  }

  #sort(): void {
    if (this.#sorted) return;
    this.#entries.sort((a, b) =>
      a.transmits - b.transmits || b.message.length - a.message.length || b.id - a.id
    );
    this.#sorted = true;
  }
}
