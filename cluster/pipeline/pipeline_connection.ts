/**
 * One authenticated pipeline connection over TCP: the handshake of connection_crypto.ts, then frames
 * batched into sealed RECORDs both ways.
 *
 * Sending never blocks the caller: `send` queues the encoded frame and a flush, scheduled as a
 * microtask, packs everything queued since the last flush into one record (one encryption, one
 * write). Frames sent in the same synchronous stretch, such as the decode tokens of every sequence
 * that a step made ready, therefore travel together, and while one write is in progress the next
 * record accumulates: batching follows load by itself.
 *
 * Receiving: records are opened strictly in order (the record number is the AES-GCM nonce) and the
 * frames inside are handed to the handler one by one, synchronously, so a handler sees a whole record
 * before any other task runs. A malformed frame is counted and dropped; a record that fails
 * authentication, or a broken stream framing, closes the connection. Nothing from the network throws.
 *
 * @example
 * ```ts
 * const conn = await PipelineConnection.connect("127.0.0.1:7700", { nodeId: "entry-1", keyring });
 * conn.start({ frame: (f) => console.log(f.type) });
 * conn.send({ type: FrameType.Cancel, seqId: 9, reason: CancelReason.Client });
 * ```
 *
 * @module
 */

import {
  clientHandshake,
  closeQuietly,
  CONNECT_TIMEOUT_MS,
  type ConnectionOptions,
  serverHandshake,
  withTimeout,
  writeAll,
} from "./connection_handshake.ts";
import { RecordAuthError, type RecordCipher } from "./connection_crypto.ts";
import { decodeFramePayload, peekFrameHeader } from "./frames_decode.ts";
import { encodeFrame } from "./frames_encode.ts";
import { FrameReader } from "./frames_reader.ts";
import { type Frame, FRAME_HEADER_BYTES, FRAME_MAX_BYTES, FrameError, FrameType } from "./frames.ts";
import { ConnectionClosedError, HandshakeError } from "./pipeline_errors.ts";
import { parseAddress } from "./route.ts";

export { CONNECT_TIMEOUT_MS, type ConnectionOptions, HANDSHAKE_TIMEOUT_MS } from "./connection_handshake.ts";

/**
 * Most bytes queued for a peer that does not read, before the connection is closed: about eight
 * largest prefill frames. A stalled peer must not grow our memory without bound.
 */
export const SEND_QUEUE_MAX_BYTES = 256 * 1024 * 1024;
/** Largest record plaintext: one largest frame with its length word, or several smaller ones. */
export const RECORD_PLAINTEXT_MAX_BYTES = FRAME_MAX_BYTES + 4;
/** Largest RECORD frame accepted: the plaintext limit plus tag and type byte, with slack. */
export const RECORD_FRAME_MAX_BYTES = RECORD_PLAINTEXT_MAX_BYTES + 64;

/** Callbacks of a started connection. Exceptions they throw are caught and counted. */
export interface ConnectionHandler {
  frame(frame: Frame, connection: PipelineConnection): void;
  /** a frame that failed to decode (already counted in stats.badFrames) */
  bad?(error: FrameError, connection: PipelineConnection): void;
  /** called once, when the connection closes for any reason */
  closed?(reason: Error, connection: PipelineConnection): void;
}

/** Counters of one connection. */
export interface ConnectionStats {
  recordsIn: number;
  recordsOut: number;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** frames dropped: malformed, unknown, unsealed, or nested records */
  badFrames: number;
  /** exceptions thrown by the handler */
  handlerErrors: number;
}

/** An authenticated, record-sealed pipeline connection. */
export class PipelineConnection {
  readonly stats: ConnectionStats = {
    recordsIn: 0,
    recordsOut: 0,
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    badFrames: 0,
    handlerErrors: 0,
  };
  /** resolves with the reason once the connection is closed */
  readonly closed: Promise<Error>;
  #resolveClosed!: (reason: Error) => void;
  #isClosed = false;
  #handler?: ConnectionHandler;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #flushing = false;
  #idle: Promise<void> = Promise.resolve();
  #resolveIdle?: () => void;

  private constructor(
    private readonly conn: Deno.Conn,
    private readonly reader: FrameReader,
    private readonly cipher: RecordCipher,
    /** the peer's node id from its HELLO */
    readonly peerId: string,
    /** the peer's "host:port" as we see it */
    readonly remoteAddress: string,
    /** negotiated protocol version */
    readonly version: number,
  ) {
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** true when records are encrypted (the cluster has a key) */
  get sealed(): boolean {
    return this.cipher.sealed;
  }

  /**
   * Connects to a stage at "host:port" and runs the client handshake. Throws HandshakeError
   * (refused, wrong key, version, timeout) or ConnectionClosedError (nothing listening).
   */
  static async connect(address: string, options: ConnectionOptions): Promise<PipelineConnection> {
    const { hostname, port } = parseAddress(address);
    let conn: Deno.TcpConn;
    let timedOut = false;
    const connecting = Deno.connect({ hostname, port });
    try {
      conn = await withTimeout(
        connecting,
        CONNECT_TIMEOUT_MS,
        () => {
          timedOut = true;
          connecting.then((c) => c.close(), () => {});
        },
        () => new HandshakeError("timeout", address, `no TCP connection within ${CONNECT_TIMEOUT_MS} ms`),
      );
    } catch (error) {
      if (timedOut || error instanceof HandshakeError) throw error;
      throw new ConnectionClosedError(address, (error as Error).message);
    }
    conn.setNoDelay(true);
    const reader = new FrameReader(conn.readable, { maxFrameBytes: RECORD_FRAME_MAX_BYTES });
    try {
      const { cipher, peerId, version } = await clientHandshake(conn, reader, address, options);
      return new PipelineConnection(conn, reader, cipher, peerId, address, version);
    } catch (error) {
      closeQuietly(conn);
      throw error;
    }
  }

  /**
   * Runs the server handshake on an accepted TCP connection. A peer without the key (or speaking an
   * old version) gets an ERROR frame and the connection is closed; throws HandshakeError then.
   */
  static async accept(conn: Deno.TcpConn, options: ConnectionOptions): Promise<PipelineConnection> {
    const remote = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
    conn.setNoDelay(true);
    const reader = new FrameReader(conn.readable, { maxFrameBytes: RECORD_FRAME_MAX_BYTES });
    try {
      const { cipher, peerId, version } = await serverHandshake(conn, reader, remote, options);
      return new PipelineConnection(conn, reader, cipher, peerId, remote, version);
    } catch (error) {
      closeQuietly(conn);
      throw error;
    }
  }

  /** Starts delivering incoming frames to `handler`. Call once. */
  start(handler: ConnectionHandler): void {
    if (this.#handler) throw new Error("PipelineConnection.start called twice");
    this.#handler = handler;
    this.#readLoop();
  }

  /** Queues a frame; returns false when the connection is closed. Throws FrameError for an invalid frame. */
  send(frame: Frame): boolean {
    return this.sendRaw(encodeFrame(frame));
  }

  /** Queues already-encoded frame bytes (they are sealed like any frame; tests use it to send garbage). */
  sendRaw(bytes: Uint8Array): boolean {
    if (this.#isClosed) return false;
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
    this.stats.framesOut++;
    if (this.#pendingBytes > SEND_QUEUE_MAX_BYTES) {
      this.close(
        new ConnectionClosedError(
          this.remoteAddress,
          `peer is not reading (${this.#pendingBytes} bytes queued)`,
        ),
      );
      return false;
    }
    if (!this.#flushing) {
      this.#flushing = true;
      this.#idle = new Promise((resolve) => (this.#resolveIdle = resolve));
      queueMicrotask(() => this.#flush());
    }
    return true;
  }

  /** Resolves when everything queued so far has been written (or the connection closed). */
  flushed(): Promise<void> {
    return this.#idle;
  }

  /** Closes the connection; the handler's `closed` runs once. */
  close(reason: Error = new ConnectionClosedError(this.remoteAddress, "closed locally")): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    closeQuietly(this.conn);
    this.#resolveIdle?.();
    try {
      this.#handler?.closed?.(reason, this);
    } catch {
      this.stats.handlerErrors++;
    }
    this.#resolveClosed(reason);
  }

  async #flush(): Promise<void> {
    try {
      while (this.#pending.length > 0 && !this.#isClosed) {
        const parts: Uint8Array[] = [];
        let size = 0;
        while (
          this.#pending.length > 0 &&
          (parts.length === 0 || size + this.#pending[0].length <= RECORD_PLAINTEXT_MAX_BYTES)
        ) {
          const next = this.#pending.shift()!;
          parts.push(next);
          size += next.length;
        }
        this.#pendingBytes -= size;
        const plain = parts.length === 1 ? parts[0] : concatBytes(parts, size);
        const record = encodeFrame({ type: FrameType.Record, data: await this.cipher.seal(plain) });
        await writeAll(this.conn, record);
        this.stats.recordsOut++;
        this.stats.bytesOut += record.length;
      }
    } catch (error) {
      this.close(new ConnectionClosedError(this.remoteAddress, `write failed: ${(error as Error).message}`));
    } finally {
      this.#flushing = false;
      this.#resolveIdle?.();
    }
  }

  async #readLoop(): Promise<void> {
    let lastError: unknown;
    for (;;) {
      let frame: Frame | null;
      try {
        frame = await this.reader.read();
      } catch (error) {
        if (this.#isClosed) return;
        // the reader repeats its error once the framing itself is broken: then the stream is lost
        if (!(error instanceof FrameError) || error === lastError) {
          this.close(new ConnectionClosedError(this.remoteAddress, (error as Error).message));
          return;
        }
        lastError = error;
        this.#bad(error);
        continue;
      }
      if (frame === null) {
        this.close(new ConnectionClosedError(this.remoteAddress, "the peer closed the connection"));
        return;
      }
      if (frame.type !== FrameType.Record) {
        this.#bad(new FrameError("bad-field", `unsealed frame of type ${frame.type} after the handshake`));
        continue;
      }
      let plain: Uint8Array;
      try {
        plain = await this.cipher.open(frame.data);
      } catch (error) {
        const message = error instanceof RecordAuthError ? error.message : String(error);
        this.close(new ConnectionClosedError(this.remoteAddress, message));
        return;
      }
      if (this.#isClosed) return;
      this.stats.recordsIn++;
      this.stats.bytesIn += frame.data.length + FRAME_HEADER_BYTES;
      this.#deliver(plain);
    }
  }

  /** Hands each frame of a record to the handler; a bad frame is dropped, a bad length ends the record. */
  #deliver(plain: Uint8Array): void {
    for (let at = 0; at < plain.length && !this.#isClosed;) {
      let header: { size: number; type: number } | undefined;
      try {
        header = peekFrameHeader(plain.subarray(at), FRAME_MAX_BYTES);
      } catch (error) {
        this.#bad(error as FrameError);
        return;
      }
      if (!header || at + header.size > plain.length) {
        this.#bad(new FrameError("truncated", `record ends inside a frame at offset ${at}`));
        return;
      }
      const payload = plain.subarray(at + FRAME_HEADER_BYTES, at + header.size);
      at += header.size;
      let frame: Frame;
      try {
        frame = decodeFramePayload(header.type, payload);
      } catch (error) {
        if (error instanceof FrameError) this.#bad(error);
        else this.#bad(new FrameError("bad-field", String(error)));
        continue;
      }
      if (frame.type === FrameType.Record || frame.type === FrameType.Hello) {
        this.#bad(new FrameError("bad-field", `frame type ${frame.type} inside a record`));
        continue;
      }
      this.stats.framesIn++;
      try {
        this.#handler!.frame(frame, this);
      } catch {
        this.stats.handlerErrors++;
      }
    }
  }

  #bad(error: FrameError): void {
    this.stats.badFrames++;
    try {
      this.#handler?.bad?.(error, this);
    } catch {
      this.stats.handlerErrors++;
    }
  }
}

function concatBytes(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
