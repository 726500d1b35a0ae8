/**
 * Virtual time for the simulator. A {@link VirtualScheduler} keeps one event heap ordered by
 * (time, insertion order) and runs events in order, jumping time forward between them: 30 minutes of
 * a 50-node ring take a few seconds of CPU and replay exactly for a given seed.
 *
 * Each simulated node sees time through its own {@link NodeClock}, which can be
 * - paused (SIGSTOP): its timers and incoming packets are held, then run in their original order at
 *   resume time, late — as a stopped process finds them;
 * - slowed: every event of the node runs `slowMs` late (CPU starvation), or only its network input
 *   runs `receiveDelayMs` late (a receive backlog while timers fire on time);
 * - halted (crash): everything addressed to it is discarded.
 *
 * @example
 * ```ts
 * const sched = new VirtualScheduler(0);
 * const clock = new NodeClock(sched);
 * clock.setTimer(1000, () => console.log("t =", clock.now()));
 * sched.runFor(2000); // prints t = 1000
 * ```
 *
 * @module
 */

import type { Clock, TimerHandle } from "../clock.ts";

interface Event {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** The global event loop of a simulation. */
export class VirtualScheduler {
  #heap: Event[] = [];
  #seq = 0;
  #now: number;
  /** Events run so far (a cost measure for the bench). */
  eventsRun = 0;

  /** `startMs`: the epoch the simulation starts at (incarnations are time-based). */
  constructor(startMs: number) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  /** Schedules `fn` at absolute time `atMs` (clamped to now). */
  schedule(atMs: number, fn: () => void): TimerHandle {
    const ev: Event = { at: Math.max(atMs, this.#now), seq: this.#seq++, fn, cancelled: false };
    this.#push(ev);
    return { cancel: () => void (ev.cancelled = true) };
  }

  /** Runs every event due up to `tMs`, then sets the time to `tMs`. */
  runUntil(tMs: number): void {
    while (this.#heap.length > 0 && this.#heap[0].at <= tMs) {
      const ev = this.#pop();
      if (ev.cancelled) continue;
      this.#now = ev.at;
      this.eventsRun++;
      ev.fn();
    }
    if (tMs > this.#now) this.#now = tMs;
  }

  /** Runs `ms` of virtual time. */
  runFor(ms: number): void {
    this.runUntil(this.#now + ms);
  }

  /** Pending events (cancelled ones included until they surface). */
  get pending(): number {
    return this.#heap.length;
  }

  #less(a: Event, b: Event): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(ev: Event): void {
    const h = this.#heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  #pop(): Event {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l], h[m])) m = l;
        if (r < h.length && this.#less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

/** One node's view of virtual time, with pause, slowness and crash. */
export class NodeClock implements Clock {
  #paused = false;
  #halted = false;
  #held: { at: number; seq: number; fn: () => void }[] = [];
  #seq = 0;
  /** Extra delay before each of this node's events runs (ms): a CPU-starved process. */
  slowMs = 0;
  /** Extra delay before each incoming packet or stream is handled (ms), timers unaffected: a
   * process whose receive loop lags behind a backlog while its timers still fire on time. */
  receiveDelayMs = 0;

  constructor(readonly scheduler: VirtualScheduler) {}

  now(): number {
    return this.scheduler.now();
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    let cancelled = false;
    const h = this.scheduler.schedule(this.now() + Math.max(0, delayMs), () => {
      if (!cancelled) this.run(fn);
    });
    return {
      cancel: () => {
        cancelled = true;
        h.cancel();
      },
    };
  }

  /** Runs `fn` as this node would: now, later if slowed, at resume if paused, never if halted. */
  run(fn: () => void): void {
    if (this.#halted) return;
    if (this.#paused) {
      this.#held.push({ at: this.now(), seq: this.#seq++, fn });
      return;
    }
    if (this.slowMs > 0) {
      this.scheduler.schedule(this.now() + this.slowMs, () => this.#runNow(fn));
      return;
    }
    fn();
  }

  /** Delivers network input: like {@link run}, after `receiveDelayMs`. */
  deliver(fn: () => void): void {
    if (this.receiveDelayMs > 0) {
      this.scheduler.schedule(this.now() + this.receiveDelayMs, () => this.run(fn));
    } else this.run(fn);
  }

  #runNow(fn: () => void): void {
    if (this.#halted) return;
    if (this.#paused) this.#held.push({ at: this.now(), seq: this.#seq++, fn });
    else fn();
  }

  get paused(): boolean {
    return this.#paused;
  }

  get halted(): boolean {
    return this.#halted;
  }

  /** Freezes the node (SIGSTOP). */
  pause(): void {
    this.#paused = true;
  }

  /** Thaws the node (SIGCONT): held events run now, in the order they came due. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const held = this.#held.sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.#held = [];
    for (const h of held) {
      if (this.#halted || this.#paused) {
        if (this.#paused) this.#held.push(h);
        continue;
      }
      h.fn();
    }
  }

  /** Crashes the node: nothing addressed to it runs again. */
  halt(): void {
    this.#halted = true;
    this.#held = [];
  }
}
