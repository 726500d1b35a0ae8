/**
 * The network seam of the gossip engine. Two implementations share it: `net_transport.ts` (UDP
 * datagrams + TCP streams on real sockets, with label and AES-GCM envelope) and
 * `sim/sim_network.ts` (an in-memory network with loss, latency, partitions and a virtual clock).
 *
 * Datagrams carry probes and gossip. Streams carry the exchanges that must arrive whole: every
 * stream the protocol opens carries exactly one request frame and one reply frame (push-pull state
 * sync, the fallback TCP ping), so the stream seam is `request` on the dialing side and
 * `onRequest` on the accepting side. Callbacks instead of promises keep the engine synchronous, so
 * the simulator can run it without draining microtask queues between virtual-time steps.
 *
 * @module
 */

/** Outcome of a stream request. */
export type RequestResult = { ok: true; data: Uint8Array } | { ok: false; error: Error };

/** What the engine receives. Implementations catch nothing on the engine's behalf: the engine
 * itself never throws out of these. */
export interface TransportHandler {
  /** A datagram from `from` ("host:port"), already authenticated and unwrapped. */
  onPacket(from: string, data: Uint8Array): void;
  /** A stream request; call `reply` once with the answer frame (or never, to just close). */
  onRequest(from: string, data: Uint8Array, reply: (data: Uint8Array) => void): void;
}

/** Packet and stream I/O for one node. */
export interface Transport {
  /** "host:port" at which peers reach this node (UDP and TCP share the port). */
  readonly address: string;
  /** Bytes the transport adds to each datagram (label header, encryption nonce and tag): the engine
   * keeps every datagram within MAX_DATAGRAM_BYTES including this. */
  readonly packetOverhead: number;
  /** Starts delivering to `handler`. */
  listen(handler: TransportHandler): void;
  /** Fire-and-forget datagram; failures are counted, not thrown. */
  sendPacket(to: string, data: Uint8Array): void;
  /** Opens a stream, sends `data`, waits up to `timeoutMs` for the reply frame. `done` is called
   * exactly once. */
  request(to: string, data: Uint8Array, timeoutMs: number, done: (result: RequestResult) => void): void;
  /** Stops listening and releases sockets. */
  close(): Promise<void>;
}
