/**
 * Real-socket {@link Transport}: UDP datagrams (Deno.listenDatagram — needs the `net` unstable
 * flag) and TCP streams on the same port. Every datagram and stream frame is wrapped in the
 * envelope of `envelope.ts` (cluster label, AES-GCM with the keyring). Anything that fails the
 * envelope — wrong label, wrong key, missing encryption, garbage, oversize — is counted in
 * {@link NetTransportStats} and dropped; nothing from the network can throw out of here.
 *
 * Stream frames are [length u32 BE][envelope]; each stream carries one request and one reply.
 *
 * @example
 * ```ts
 * const t = NetTransport.listen({ hostname: "127.0.0.1", port: 0, label: "prod" });
 * console.log(t.address); // "127.0.0.1:41234"
 * ```
 *
 * @module
 */

import { MAX_DATAGRAM_BYTES } from "./config.ts";
import { type EnvelopeOptions, envelopeOverhead, open, seal } from "./envelope.ts";
import { GossipBindError, GossipRequestError, SecurityError } from "./errors.ts";
import type { Keyring } from "./keyring.ts";
import type { RequestResult, Transport, TransportHandler } from "./transport.ts";

/** Largest stream frame accepted (bytes): a push-pull of 10,000 members with full metadata. */
export const STREAM_MAX_BYTES = 8 * 1024 * 1024;
/** Inbound streams served at once; more are closed at accept, so a flood cannot exhaust us. */
export const MAX_CONCURRENT_STREAMS = 64;
/** How long an inbound stream may take to deliver its request (ms). */
export const STREAM_READ_TIMEOUT_MS = 10_000;
/** Receive buffer: larger than any valid datagram, so oversize ones are seen and counted. */
const RECV_BUFFER_BYTES = 65_536;

/** Options of {@link NetTransport.listen}. */
export interface NetTransportOptions {
  /** Interface to bind, e.g. "127.0.0.1" or "0.0.0.0". */
  hostname: string;
  /** UDP and TCP port; 0 picks a free one. */
  port: number;
  /** Host peers should use when `hostname` is a wildcard. */
  advertiseHost?: string;
  label?: string;
  /** Cluster keys; omit for an unencrypted (insecure) ring. */
  keyring?: Keyring;
}

/** Transport counters; the drop counters are what the status page shows. */
export interface NetTransportStats {
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  sendErrors: number;
  oversizePackets: number;
  malformedEnvelopes: number;
  decryptFailures: number;
  labelMismatches: number;
  unencryptedDropped: number;
  streamsAccepted: number;
  streamsRejected: number;
  streamErrors: number;
  requests: number;
  requestFailures: number;
}

/** Splits "host:port" or "[v6]:port". Throws {@link GossipRequestError} if malformed. */
export function splitHostPort(addr: string): { hostname: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(addr) ?? /^([^:]+):(\d+)$/.exec(addr);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new GossipRequestError(addr, "address must be host:port");
  return { hostname: m[1], port };
}

export class NetTransport implements Transport {
  readonly stats: NetTransportStats = {
    packetsSent: 0,
    bytesSent: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    sendErrors: 0,
    oversizePackets: 0,
    malformedEnvelopes: 0,
    decryptFailures: 0,
    labelMismatches: 0,
    unencryptedDropped: 0,
    streamsAccepted: 0,
    streamsRejected: 0,
    streamErrors: 0,
    requests: 0,
    requestFailures: 0,
  };
  #handler?: TransportHandler;
  #closed = false;
  #active = new Set<Deno.Conn>();

  private constructor(
    readonly address: string,
    readonly envelope: EnvelopeOptions,
    readonly udp: Deno.DatagramConn,
    readonly tcp: Deno.Listener,
  ) {}

  /** Binds UDP and TCP on one port. Throws {@link GossipBindError} with a one-line reason. */
  static listen(opts: NetTransportOptions): NetTransport {
    const envelope = { label: opts.label ?? "", keyring: opts.keyring };
    // With port 0, TCP picks the port and UDP must get the same one; retry if UDP's is taken.
    for (let attempt = 0;; attempt++) {
      let tcp: Deno.Listener;
      try {
        tcp = Deno.listen({ hostname: opts.hostname, port: opts.port, transport: "tcp" });
      } catch (e) {
        throw new GossipBindError(opts.hostname, opts.port, bindReason(e), { cause: e });
      }
      const port = (tcp.addr as Deno.NetAddr).port;
      try {
        const udp = Deno.listenDatagram({ hostname: opts.hostname, port, transport: "udp" });
        const host = opts.advertiseHost ?? opts.hostname;
        const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
        return new NetTransport(address, envelope, udp, tcp);
      } catch (e) {
        tcp.close();
        if (opts.port !== 0 || attempt >= 5) {
          throw new GossipBindError(opts.hostname, port, bindReason(e), { cause: e });
        }
      }
    }
  }

  get packetOverhead(): number {
    return envelopeOverhead(this.envelope);
  }

  listen(handler: TransportHandler): void {
    this.#handler = handler;
    void this.#udpLoop();
    void this.#acceptLoop();
  }

  sendPacket(to: string, data: Uint8Array): void {
    void this.#sendPacket(to, data);
  }

  async #sendPacket(to: string, data: Uint8Array): Promise<void> {
    try {
      const { hostname, port } = splitHostPort(to);
      const packet = await seal(data, this.envelope);
      if (packet.length > MAX_DATAGRAM_BYTES) {
        this.stats.oversizePackets++;
        return;
      }
      await this.udp.send(packet, { transport: "udp", hostname, port });
      this.stats.packetsSent++;
      this.stats.bytesSent += packet.length;
    } catch {
      this.stats.sendErrors++;
    }
  }

  request(to: string, data: Uint8Array, timeoutMs: number, done: (result: RequestResult) => void): void {
    this.stats.requests++;
    let finished = false, conn: Deno.Conn | undefined;
    const finish = (r: RequestResult) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (conn) this.#drop(conn);
      if (!r.ok) this.stats.requestFailures++;
      done(r);
    };
    const timer = setTimeout(
      () => finish({ ok: false, error: new GossipRequestError(to, `timeout after ${timeoutMs} ms`) }),
      timeoutMs,
    );
    (async () => {
      const { hostname, port } = splitHostPort(to);
      conn = await Deno.connect({ hostname, port, transport: "tcp" });
      if (finished) return this.#drop(conn);
      this.#active.add(conn);
      await writeFrame(conn, await seal(data, this.envelope));
      let reply: Uint8Array;
      try {
        reply = await readFrame(conn);
      } catch (e) {
        // A peer that cannot authenticate our request just hangs up.
        throw new GossipRequestError(
          to,
          `no reply (${(e as Error).message}); does it use another cluster key or label?`,
        );
      }
      try {
        finish({ ok: true, data: await open(reply, this.envelope) });
      } catch (e) {
        throw new GossipRequestError(
          to,
          `reply failed authentication (${(e as Error).message}): another cluster key or label`,
        );
      }
    })().catch((e) =>
      finish({
        ok: false,
        error: e instanceof GossipRequestError
          ? e
          : new GossipRequestError(to, (e as Error).message, { cause: e }),
      })
    );
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    try {
      this.udp.close();
    } catch { /* already closed */ }
    try {
      this.tcp.close();
    } catch { /* already closed */ }
    for (const c of this.#active) this.#drop(c);
    return Promise.resolve();
  }

  async #udpLoop(): Promise<void> {
    const buf = new Uint8Array(RECV_BUFFER_BYTES);
    while (!this.#closed) {
      let data: Uint8Array, addr: Deno.Addr;
      try {
        [data, addr] = await this.udp.receive(buf);
      } catch {
        if (this.#closed) return;
        continue;
      }
      this.stats.packetsReceived++;
      this.stats.bytesReceived += data.length;
      if (data.length > MAX_DATAGRAM_BYTES) {
        this.stats.oversizePackets++;
        continue;
      }
      const na = addr as Deno.NetAddr;
      const from = na.hostname.includes(":") ? `[${na.hostname}]:${na.port}` : `${na.hostname}:${na.port}`;
      // Copy out of the shared receive buffer before the next receive overwrites it.
      void this.#deliver(from, data.slice());
    }
  }

  async #deliver(from: string, packet: Uint8Array): Promise<void> {
    let payload: Uint8Array;
    try {
      payload = await open(packet, this.envelope);
    } catch (e) {
      this.#countReject(e);
      return;
    }
    if (!this.#closed) this.#handler?.onPacket(from, payload);
  }

  #countReject(e: unknown): void {
    if (e instanceof SecurityError) {
      if (e.reason === "label") this.stats.labelMismatches++;
      else if (e.reason === "unencrypted") this.stats.unencryptedDropped++;
      else this.stats.decryptFailures++;
    } else this.stats.malformedEnvelopes++;
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.Conn;
      try {
        conn = await this.tcp.accept();
      } catch {
        if (this.#closed) return;
        continue;
      }
      if (this.#active.size >= MAX_CONCURRENT_STREAMS) {
        this.stats.streamsRejected++;
        this.#drop(conn);
        continue;
      }
      this.stats.streamsAccepted++;
      this.#active.add(conn);
      void this.#serve(conn);
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    let settle: (reply: Uint8Array | undefined) => void = () => {};
    const replied = new Promise<Uint8Array | undefined>((resolve) => (settle = resolve));
    const timer = setTimeout(() => {
      settle(undefined);
      this.#drop(conn);
    }, STREAM_READ_TIMEOUT_MS);
    try {
      const na = conn.remoteAddr as Deno.NetAddr;
      const request = await open(await readFrame(conn), this.envelope);
      if (this.#handler) this.#handler.onRequest(`${na.hostname}:${na.port}`, request, settle);
      else settle(undefined);
      const reply = await replied;
      if (reply) await writeFrame(conn, await seal(reply, this.envelope));
    } catch (e) {
      if (e instanceof SecurityError) this.#countReject(e);
      else this.stats.streamErrors++;
    } finally {
      clearTimeout(timer);
      this.#drop(conn);
    }
  }

  #drop(conn: Deno.Conn): void {
    this.#active.delete(conn);
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

function bindReason(e: unknown): string {
  if (e instanceof Deno.errors.AddrInUse) return "address already in use";
  if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
    return "permission denied";
  }
  return (e as Error).message;
}

async function writeFrame(conn: Deno.Conn, payload: Uint8Array): Promise<void> {
  const frame = new Uint8Array(4 + payload.length);
  new DataView(frame.buffer).setUint32(0, payload.length);
  frame.set(payload, 4);
  let off = 0;
  while (off < frame.length) off += await conn.write(frame.subarray(off));
}

async function readFrame(conn: Deno.Conn): Promise<Uint8Array> {
  const head = await readExact(conn, 4);
  const len = new DataView(head.buffer).getUint32(0);
  if (len > STREAM_MAX_BYTES) {
    throw new GossipRequestError("stream", `frame of ${len} bytes exceeds ${STREAM_MAX_BYTES}`);
  }
  return await readExact(conn, len);
}

async function readExact(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const got = await conn.read(out.subarray(off));
    if (got === null) throw new GossipRequestError("stream", `connection closed after ${off} of ${n} bytes`);
    off += got;
  }
  return out;
}
