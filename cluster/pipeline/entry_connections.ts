/**
 * The entry engine's connections to stages: one per stage address, shared by every sequence whose route
 * passes there, dialled on first use and forgotten when it closes (the next sequence dials again).
 *
 * Separate from the engine (pipeline_engine.ts) because keeping one connection per address — a dial in
 * progress is shared too, a failed dial is forgotten, a dial that completes after the engine closed is
 * closed at once, and shutdown flushes what was sent — is bookkeeping of its own; the engine decides only
 * what a frame or a closed connection means for its sequences.
 *
 * @module
 */

import type { Frame } from "./frames.ts";
import { type ConnectionOptions, PipelineConnection } from "./pipeline_connection.ts";
import { PipelineSequenceError } from "./pipeline_errors.ts";

/** What the engine hears from its stage connections. */
export interface EntryConnectionEvents {
  /** a frame from the stage at `address` */
  frame(frame: Frame, address: string): void;
  /** the connection to `address` closed (it is already forgotten) */
  closed(address: string, reason: Error): void;
}

/** What {@link EntryConnections} needs: who we are on the connections (the engine's reply id), the keys, and where events go. */
export interface EntryConnectionsOptions extends Pick<ConnectionOptions, "nodeId" | "keyring" | "label"> {
  /** true once the engine is closed: a dial completing after that is closed, not kept */
  readonly isClosed: () => boolean;
  readonly events: EntryConnectionEvents;
}

/**
 * One connection per stage address, shared by all sequences.
 *
 * @example
 * ```ts
 * const conns = new EntryConnections({ nodeId: replyId, keyring, isClosed: () => closed,
 *   events: { frame: (f, from) => onFrame(f, from), closed: (address, why) => onClosed(address, why) } });
 * (await conns.connect(route.stages[0].address)).send(openFrame);
 * await conns.close();
 * ```
 */
export class EntryConnections {
  readonly #connecting = new Map<string, Promise<PipelineConnection>>();
  readonly #live = new Map<string, PipelineConnection>();

  constructor(private readonly options: EntryConnectionsOptions) {}

  /** Connections open now. */
  get size(): number {
    return this.#live.size;
  }

  /** The open connection to `address`, if there is one. */
  live(address: string): PipelineConnection | undefined {
    return this.#live.get(address);
  }

  /**
   * The connection to `address`: the open one, the dial in progress, or a new dial. Rejects with the
   * dial's error, or PipelineSequenceError("closed") when the engine closed meanwhile.
   */
  connect(address: string): Promise<PipelineConnection> {
    const known = this.#connecting.get(address);
    if (known) return known;
    const { nodeId, keyring, label, events } = this.options;
    const p = PipelineConnection.connect(address, { nodeId, keyring, label }).then((conn) => {
      if (this.options.isClosed()) {
        conn.close();
        throw new PipelineSequenceError("closed", "the pipeline engine is closed");
      }
      this.#live.set(address, conn);
      conn.start({
        frame: (frame) => events.frame(frame, address),
        closed: (reason) => {
          if (this.#live.get(address) === conn) {
            this.#live.delete(address);
            this.#connecting.delete(address);
          }
          events.closed(address, reason);
        },
      });
      return conn;
    });
    this.#connecting.set(address, p);
    p.catch(() => {
      if (this.#connecting.get(address) === p) this.#connecting.delete(address);
    });
    return p;
  }

  /** Flushes and closes every open connection, then closes the dials still in progress when they end. */
  async close(): Promise<void> {
    await Promise.all([...this.#live.values()].map((c) => c.flushed()));
    for (const c of this.#live.values()) c.close();
    await Promise.allSettled(this.#connecting.values());
    for (const p of this.#connecting.values()) p.then((c) => c.close(), () => {});
  }
}
