/**
 * A stage's outbound side: one persistent, authenticated connection per next stage (and, on a last
 * stage that feeds tokens, to the first), dialled on first use. Frames sent while the connection is
 * being made queue in order and go out once it is up. When it cannot be made or later closes, the
 * owner hears `lost(address)` once, so every sequence routed through that address can end with
 * NextHopUnreachable and be replayed elsewhere by its entry; the next frame for that address dials
 * again.
 *
 * @example
 * ```ts
 * const hops = new NextHops(() => ({ nodeId: "node-b", keyring }), {
 *   lost: (address, why) => runner.nextHopLost(address),
 *   error: (frame) => log(frame),
 * });
 * hops.send("127.0.0.1:7702", forwardFrame);
 * await hops.flushed();
 * hops.close();
 * ```
 *
 * @module
 */

import type { ConnectionOptions } from "./connection_handshake.ts";
import { type ErrorFrame, type Frame, FrameType } from "./frames.ts";
import { PipelineConnection } from "./pipeline_connection.ts";

/** What the owner hears from its next hops. */
export interface NextHopEvents {
  /** the connection to `address` could not be made, or closed; `why` for the log */
  lost(address: string, why: string): void;
  /** an ERROR the next stage sent back (the only frame a next hop sends us) */
  error(frame: ErrorFrame): void;
}

interface NextHop {
  conn?: PipelineConnection;
  /** frames sent while connecting, in order */
  queue: Frame[];
}

/** Connections to next stages, by address. See the module doc. */
export class NextHops {
  readonly #hops = new Map<string, NextHop>();
  #closed = false;

  /** `options()` is read at each dial (the handshake carries the newest plan epoch). */
  constructor(
    private readonly options: () => ConnectionOptions,
    private readonly events: NextHopEvents,
  ) {}

  /** Sends to the stage at `address`, connecting on first use. Dropped once closed. */
  send(address: string, frame: Frame): void {
    if (this.#closed) return;
    let hop = this.#hops.get(address);
    if (hop?.conn?.send(frame)) return;
    if (!hop || (hop.conn && hop.conn.isClosed)) {
      hop = { queue: [] };
      this.#hops.set(address, hop);
      this.#connect(address, hop);
    }
    hop.queue.push(frame);
  }

  /** Resolves when every connected hop has written what was sent so far. */
  async flushed(): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const hop of this.#hops.values()) if (hop.conn) pending.push(hop.conn.flushed());
    await Promise.all(pending);
  }

  /** Closes every connection; later sends are dropped. */
  close(): void {
    this.#closed = true;
    for (const hop of this.#hops.values()) hop.conn?.close();
    this.#hops.clear();
  }

  async #connect(address: string, hop: NextHop): Promise<void> {
    let conn: PipelineConnection;
    try {
      conn = await PipelineConnection.connect(address, this.options());
    } catch (error) {
      if (this.#hops.get(address) === hop) this.#hops.delete(address);
      this.events.lost(address, `unreachable: ${(error as Error).message}`);
      return;
    }
    if (this.#closed || this.#hops.get(address) !== hop) {
      conn.close();
      return;
    }
    hop.conn = conn;
    conn.start({
      frame: (frame) => {
        if (frame.type === FrameType.Error) this.events.error(frame);
      },
      closed: (reason) => {
        if (this.#hops.get(address) === hop) this.#hops.delete(address);
        if (!this.#closed) this.events.lost(address, `lost: ${reason.message}`);
      },
    });
    for (const frame of hop.queue.splice(0)) conn.send(frame);
  }
}
