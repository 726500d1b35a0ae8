/**
 * In-memory network for the simulator: the real protocol code talks to it through the same
 * {@link Transport} interface as to UDP/TCP sockets.
 *
 * Datagrams suffer per-link loss, latency plus random jitter (which reorders them), duplication,
 * and one-way or two-way partitions; a datagram over MAX_DATAGRAM_BYTES (transport overhead
 * included) is dropped and counted, so a test can assert that none was ever produced. Streams are
 * reliable but slow down with loss (one retransmission timeout per lost segment) and hang until
 * the caller's timeout across a partition or to a crashed node. Delivery goes through the receiving
 * node's {@link NodeClock}, so pausing, slowing or crashing a node affects what it sees.
 *
 * @example
 * ```ts
 * const net = new SimNetwork(scheduler, seededRng(1), { latencyMs: 1, lossRate: 0.1 });
 * const t = net.attach("10.0.0.1:7946", new NodeClock(scheduler));
 * net.partition(["10.0.0.1:7946"], ["10.0.0.2:7946"]);
 * ```
 *
 * @module
 */

import { MAX_DATAGRAM_BYTES } from "../config.ts";
import { GossipRequestError } from "../errors.ts";
import type { Rng } from "../rng.ts";
import type { RequestResult, Transport, TransportHandler } from "../transport.ts";
import type { NodeClock, VirtualScheduler } from "./virtual_clock.ts";

/** Conditions of one directed link. */
export interface LinkConditions {
  /** Probability in [0, 1] that a datagram is lost. */
  lossRate: number;
  /** One-way base latency (ms). */
  latencyMs: number;
  /** Extra latency drawn uniformly from [0, jitterMs) per datagram (ms); reorders packets. */
  jitterMs: number;
  /** Probability in [0, 1] that a datagram is delivered twice. */
  duplicateRate: number;
}

/** Traffic counters of one node, as seen on the wire (transport overhead included). */
export interface SimCounters {
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  packetsDropped: number;
  oversizePackets: number;
  largestPacket: number;
  streamBytesSent: number;
  streamBytesReceived: number;
}

/** Bytes the simulated transport adds per datagram by default: an AES-GCM envelope (version,
 * label length, 12-byte nonce, 16-byte tag), as the real transport with a key adds. */
export const SIM_DEFAULT_OVERHEAD = 30;

/** Round trips lost TCP segments cost at most before we give up adding delay. */
const MAX_TCP_RETRIES = 6;

interface Endpoint {
  clock: NodeClock;
  handler?: TransportHandler;
  counters: SimCounters;
}

export class SimNetwork {
  readonly defaults: LinkConditions;
  #links = new Map<string, LinkConditions>();
  #blocked = new Set<string>();
  #blockedPackets = new Set<string>();
  #endpoints = new Map<string, Endpoint>();

  constructor(
    readonly scheduler: VirtualScheduler,
    readonly rng: Rng,
    defaults: Partial<LinkConditions> = {},
  ) {
    this.defaults = { lossRate: 0, latencyMs: 1, jitterMs: 1, duplicateRate: 0, ...defaults };
  }

  /** Registers a node's address and returns its transport. */
  attach(address: string, clock: NodeClock, packetOverhead = SIM_DEFAULT_OVERHEAD): SimTransport {
    const counters: SimCounters = {
      packetsSent: 0,
      bytesSent: 0,
      packetsReceived: 0,
      bytesReceived: 0,
      packetsDropped: 0,
      oversizePackets: 0,
      largestPacket: 0,
      streamBytesSent: 0,
      streamBytesReceived: 0,
    };
    this.#endpoints.set(address, { clock, counters });
    return new SimTransport(this, address, packetOverhead);
  }

  counters(address: string): SimCounters {
    const ep = this.#endpoints.get(address);
    if (!ep) throw new Error(`no simulated node at ${address}`);
    return ep.counters;
  }

  /** Overrides the conditions of the directed link from → to. */
  setLink(from: string, to: string, conditions: Partial<LinkConditions>): void {
    this.#links.set(`${from}>${to}`, { ...this.link(from, to), ...conditions });
  }

  link(from: string, to: string): LinkConditions {
    return this.#links.get(`${from}>${to}`) ?? this.defaults;
  }

  /** Drops everything from → to (one-way partition). */
  block(from: string, to: string): void {
    this.#blocked.add(`${from}>${to}`);
  }

  /** Drops datagrams from → to but lets streams through (a UDP-only firewall). */
  blockPackets(from: string, to: string): void {
    this.#blockedPackets.add(`${from}>${to}`);
  }

  /** Cuts every link between the two groups, both ways. */
  partition(a: readonly string[], b: readonly string[]): void {
    for (const x of a) {
      for (const y of b) {
        this.block(x, y);
        this.block(y, x);
      }
    }
  }

  /** Removes all partitions and per-link overrides. */
  heal(): void {
    this.#blocked.clear();
    this.#blockedPackets.clear();
    this.#links.clear();
  }

  isBlocked(from: string, to: string): boolean {
    return this.#blocked.has(`${from}>${to}`);
  }

  listen(address: string, handler: TransportHandler | undefined): void {
    const ep = this.#endpoints.get(address);
    if (ep) ep.handler = handler;
  }

  /** Sees every datagram handed to the network (tests and debugging). */
  tap?: (from: string, to: string, data: Uint8Array) => void;

  sendPacket(from: string, to: string, data: Uint8Array, overhead: number): void {
    const src = this.#endpoints.get(from);
    if (!src) return;
    this.tap?.(from, to, data);
    const size = data.length + overhead;
    src.counters.packetsSent++;
    src.counters.bytesSent += size;
    src.counters.largestPacket = Math.max(src.counters.largestPacket, size);
    if (size > MAX_DATAGRAM_BYTES) {
      src.counters.oversizePackets++;
      return;
    }
    const dst = this.#endpoints.get(to);
    const cond = this.link(from, to);
    const blocked = this.isBlocked(from, to) || this.#blockedPackets.has(`${from}>${to}`);
    if (!dst || blocked || this.rng.next() < cond.lossRate) {
      src.counters.packetsDropped++;
      return;
    }
    const copies = this.rng.next() < cond.duplicateRate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const at = this.scheduler.now() + cond.latencyMs + this.rng.next() * cond.jitterMs;
      this.scheduler.schedule(at, () =>
        dst.clock.deliver(() => {
          dst.counters.packetsReceived++;
          dst.counters.bytesReceived += size;
          dst.handler?.onPacket(from, data);
        }));
    }
  }

  request(
    from: string,
    to: string,
    data: Uint8Array,
    timeoutMs: number,
    done: (r: RequestResult) => void,
  ): void {
    const src = this.#endpoints.get(from);
    if (!src) return;
    let finished = false;
    const finish = (r: RequestResult) => {
      if (finished) return;
      finished = true;
      timer.cancel();
      done(r);
    };
    const timer = src.clock.setTimer(
      timeoutMs,
      () => finish({ ok: false, error: new GossipRequestError(to, `timeout after ${timeoutMs} ms`) }),
    );
    src.counters.streamBytesSent += data.length;
    const dst = this.#endpoints.get(to);
    // Across a partition or to a vanished node the connection attempt just hangs until the timeout.
    if (!dst || this.isBlocked(from, to) || this.isBlocked(to, from)) return;
    this.scheduler.schedule(
      this.scheduler.now() + this.#streamDelay(from, to),
      () =>
        dst.clock.deliver(() => {
          dst.counters.streamBytesReceived += data.length;
          dst.handler?.onRequest(from, data, (reply) => {
            dst.counters.streamBytesSent += reply.length;
            this.scheduler.schedule(this.scheduler.now() + this.#streamDelay(to, from), () =>
              src.clock.deliver(() => {
                if (finished) {
                  return;
                }
                src.counters.streamBytesReceived += reply.length;
                finish({ ok: true, data: reply });
              }));
          });
        }),
    );
  }

  /** One-way stream delay: latency, jitter, plus a retransmission timeout per lost segment. */
  #streamDelay(from: string, to: string): number {
    const c = this.link(from, to);
    let delay = c.latencyMs + this.rng.next() * c.jitterMs;
    const rto = Math.max(200, 3 * c.latencyMs);
    for (let i = 0; i < MAX_TCP_RETRIES && this.rng.next() < c.lossRate; i++) delay += rto;
    return delay;
  }
}

/** A node's {@link Transport} on a {@link SimNetwork}. */
export class SimTransport implements Transport {
  constructor(readonly network: SimNetwork, readonly address: string, readonly packetOverhead: number) {}

  listen(handler: TransportHandler): void {
    this.network.listen(this.address, handler);
  }

  sendPacket(to: string, data: Uint8Array): void {
    this.network.sendPacket(this.address, to, data, this.packetOverhead);
  }

  request(to: string, data: Uint8Array, timeoutMs: number, done: (result: RequestResult) => void): void {
    this.network.request(this.address, to, data, timeoutMs, done);
  }

  close(): Promise<void> {
    this.network.listen(this.address, undefined);
    return Promise.resolve();
  }
}
