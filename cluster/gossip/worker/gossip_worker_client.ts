/**
 * Main-thread handle of a gossip node running in its own Worker (`gossip_worker.ts`). Every call is
 * a message round trip; member events arrive through `onEvent`.
 *
 * @example
 * ```ts
 * const w = await GossipWorker.start({ name: "a", profile: "local", hostname: "127.0.0.1", port: 0 });
 * await w.join(["127.0.0.1:7946"]);
 * w.setLoad(encodeLoad({ queueDepth: 0, activeSequences: 0, tokensPerSecond: 0, utilisation: 0 }));
 * console.log(await w.members());
 * await w.shutdown();
 * ```
 *
 * @module
 */

import { GossipError } from "../errors.ts";
import type { MemberInfo } from "../gossip_node.ts";
import type { MemberEvent } from "../member_table.ts";
import type { GossipWorkerOptions, WorkerInfo, WorkerMessage, WorkerRequest } from "./protocol.ts";

// Distributive Omit, so each request variant keeps its own fields.
type RequestBody = WorkerRequest extends infer R ? R extends WorkerRequest ? Omit<R, "id"> : never : never;

export class GossipWorker {
  #worker: Worker;
  #nextId = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Member events seen by the node (join, suspect, dead, left, …). */
  onEvent: (event: MemberEvent) => void = () => {};
  /** Log lines from the node. */
  onLog: (level: string, message: string) => void = () => {};
  /** "host:port" the node listens on (after start). */
  address = "";

  private constructor() {
    this.#worker = new Worker(new URL("./gossip_worker.ts", import.meta.url).href, { type: "module" });
    this.#worker.onmessage = (e: MessageEvent<WorkerMessage>) => this.#receive(e.data);
    this.#worker.onerror = (e) => {
      e.preventDefault();
      for (const p of this.#pending.values()) {
        p.reject(new GossipError(`gossip worker crashed: ${e.message}`));
      }
      this.#pending.clear();
    };
  }

  /** Spawns the worker and starts the node; rejects with the worker's error (e.g. port in use). */
  static async start(options: GossipWorkerOptions): Promise<GossipWorker> {
    const w = new GossipWorker();
    try {
      w.address = await w.#call({ op: "start", options }) as string;
    } catch (e) {
      w.#worker.terminate();
      throw e;
    }
    return w;
  }

  /** Joins through seeds; resolves with the number reached. */
  join(seeds: string[]): Promise<number> {
    return this.#call({ op: "join", seeds }) as Promise<number>;
  }

  members(): Promise<MemberInfo[]> {
    return this.#call({ op: "members" }) as Promise<MemberInfo[]>;
  }

  info(): Promise<WorkerInfo> {
    return this.#call({ op: "info" }) as Promise<WorkerInfo>;
  }

  /** Live load for the node's next acks (see `encodeLoad`). */
  setLoad(load: Uint8Array): Promise<void> {
    return this.#call({ op: "setLoad", load }) as Promise<void>;
  }

  /** Spreads a small state (≤ 256 bytes) to every member; see `GossipNode.broadcastUserState`. */
  broadcastUserState(payload: Uint8Array): Promise<void> {
    return this.#call({ op: "broadcastUserState", payload }) as Promise<void>;
  }

  updateMeta(meta: Uint8Array): Promise<void> {
    return this.#call({ op: "updateMeta", meta }) as Promise<void>;
  }

  installKey(key: Uint8Array): Promise<void> {
    return this.#call({ op: "installKey", key }) as Promise<void>;
  }

  useKey(key: Uint8Array): Promise<void> {
    return this.#call({ op: "useKey", key }) as Promise<void>;
  }

  removeKey(key: Uint8Array): Promise<void> {
    return this.#call({ op: "removeKey", key }) as Promise<void>;
  }

  leave(timeoutMs: number): Promise<void> {
    return this.#call({ op: "leave", timeoutMs }) as Promise<void>;
  }

  /** Stops the node and terminates the worker. */
  async shutdown(): Promise<void> {
    try {
      await this.#call({ op: "shutdown" });
    } finally {
      this.#worker.terminate();
    }
  }

  #call(body: RequestBody): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...body, id } as WorkerRequest);
    });
  }

  #receive(msg: WorkerMessage): void {
    if ("event" in msg) return this.onEvent(msg.event);
    if ("log" in msg) return this.onLog(msg.log.level, msg.log.message);
    const p = this.#pending.get(msg.id);
    if (!p) return;
    this.#pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.value);
    else {
      const err = new GossipError(msg.error);
      err.name = msg.errorName;
      p.reject(err);
    }
  }
}
