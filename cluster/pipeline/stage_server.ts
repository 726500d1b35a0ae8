/**
 * A pipeline stage on a TCP port: accepts authenticated connections (entries and the previous stage),
 * holds one layer range of one model (read by range from a local GGUF), runs incoming rows through a
 * {@link StageRunner} (stage_runner.ts), and keeps one persistent connection per next stage
 * (next_hops.ts). Its options and counters are in stage_server_options.ts.
 *
 * Connections that fail the handshake (no cluster key, wrong key, old version, garbage) are refused,
 * counted and logged; malformed frames on an authenticated connection are counted and dropped. When the
 * connection to a next stage cannot be made or resets, every sequence routed through it ends with
 * NextHopUnreachable naming that address, so its entry can replay it elsewhere at once.
 *
 * A new plan that gives this node another range ({@link StageServer.setRange}) loads the new range
 * beside the old one on the same port: frames are dispatched by plan epoch, so sequences still running
 * on the old plan finish there (their routes are whole) while new ones start on the new plan; the old
 * range is dropped once its last sequence has ended. A node left out of the plan altogether calls
 * {@link StageServer.closeWhenIdle}: the old plan's sequences finish, then the server closes.
 *
 * @example
 * ```ts
 * const keyring = await Keyring.create([parseClusterKey(key)]);
 * const stage = await StageServer.start({
 *   nodeId: "node-b",
 *   model: "../shared/models/stories260K.gguf",
 *   range: { start: 2, end: 4, embedding: false, head: false },
 *   backend: createReferenceBackend(),
 *   keyring,
 *   epochs: [plan.epoch],
 * });
 * console.log(stage.address); // "127.0.0.1:40123": advertise it as the node's pipelineAddr
 * await stage.close();
 * ```
 *
 * @module
 */

import { type GgufFile, openGguf } from "../../src/gguf/mod.ts";
import { modelConfigFromGguf } from "../../src/model/model_config.ts";
import { type LayerRange, loadModelWeights } from "../../src/model/model_weights.ts";
import { type Frame, FrameType } from "./frames.ts";
import {
  answerFetch,
  buildManifest,
  decodeManifest,
  encodeManifest,
  manifestDigest,
} from "./peer_weights.ts";
import { PipelineConnection } from "./pipeline_connection.ts";
import { HandshakeError, PipelineConfigError } from "./pipeline_errors.ts";
import { NextHops } from "./next_hops.ts";
import { checkRange } from "./stage_input.ts";
import { StageRanges } from "./stage_ranges.ts";
import type { StageModel } from "./stage_io.ts";
import { StageRunner } from "./stage_runner.ts";
import {
  IDLE_CLOSE_POLL_MS,
  IDLE_SWEEP_INTERVAL_MS,
  MAX_PENDING_HANDSHAKES,
  type StageServerOptions,
  type StageServerStats,
} from "./stage_server_options.ts";

/** A running stage. Create with {@link StageServer.start}. */
export class StageServer {
  readonly #listener: Deno.TcpListener;
  /** the newest plan's range and older ones finishing their sequences (setRange) */
  readonly #ranges: StageRanges;
  /** set while closeWhenIdle waits for the last sequence */
  #idleClose?: {
    readonly done: Promise<boolean>;
    readonly resolve: (closed: boolean) => void;
    readonly timer: ReturnType<typeof setInterval>;
  };
  readonly #options: StageServerOptions;
  readonly #file: GgufFile;
  readonly #ownedFile?: GgufFile;
  #manifest?: Promise<Uint8Array>;
  /** authenticated inbound connections by peer id (the entry's reply id, or a previous stage) */
  readonly #peers = new Map<string, PipelineConnection>();
  readonly #connections = new Set<PipelineConnection>();
  /** connections to next stages (and, from a last stage that feeds tokens, to the first) */
  readonly #next: NextHops;
  readonly #sweeper: ReturnType<typeof setInterval>;
  readonly #accepting: Promise<void>;
  /** TCP connections still in their handshake (closed at once when the server closes) */
  readonly #handshaking = new Set<Deno.TcpConn>();
  #refusedPeers = 0;
  #badFrames = 0;
  #handlerErrors = 0;
  #closed = false;

  private constructor(
    listener: Deno.TcpListener,
    model: StageModel,
    options: StageServerOptions,
    file: GgufFile,
    ownedFile: GgufFile | undefined,
  ) {
    this.#listener = listener;
    this.#options = options;
    this.#file = file;
    this.#ownedFile = ownedFile;
    this.#ranges = new StageRanges(this.#newRunner(model, options.epochs), (line) => this.#log(line));
    this.#sweeper = setInterval(() => {
      for (const r of this.#ranges.all()) r.sweepIdle();
    }, IDLE_SWEEP_INTERVAL_MS);
    this.#next = new NextHops(() => this.#connectionOptions(), {
      lost: (address, why) => {
        this.#log(`next stage ${address} ${why}`);
        for (const r of this.#ranges.all()) r.nextHopLost(address);
      },
      error: (frame) => this.#onFrame(frame),
    });
    this.#accepting = this.#acceptLoop();
  }

  /**
   * Loads the range's tensors (only those) onto the backend and starts listening. Throws
   * PipelineConfigError for an impossible range, or the GGUF/model errors of loading.
   */
  static async start(options: StageServerOptions): Promise<StageServer> {
    const file = typeof options.model === "string" ? await openGguf(options.model) : options.model;
    const owned = typeof options.model === "string" ? file : undefined;
    let listener: Deno.TcpListener | undefined;
    try {
      const cfg = modelConfigFromGguf(file.header);
      checkRange(options.range, cfg.layers);
      const weights = await loadModelWeights(file, options.backend, cfg, options.range);
      const hostname = options.hostname ?? "127.0.0.1";
      try {
        listener = Deno.listen({ hostname, port: options.port ?? 0 });
      } catch (error) {
        throw new PipelineConfigError(
          `cannot listen on ${hostname}:${options.port ?? 0} for the pipeline (${
            (error as Error).message
          }); try --pipeline-port 0`,
        );
      }
      return new StageServer(listener, { backend: options.backend, cfg, weights }, options, file, owned);
    } catch (error) {
      listener?.close();
      owned?.close();
      throw error;
    }
  }

  /** True once close() has begun. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** TCP port we listen on. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** "host:port" peers dial: what gossip advertises as this node's pipelineAddr. */
  get address(): string {
    const host = this.#options.advertiseHost ?? this.#listener.addr.hostname;
    return host.includes(":") ? `[${host}]:${this.port}` : `${host}:${this.port}`;
  }

  get range(): LayerRange {
    return this.#ranges.current.range;
  }

  /** The compute half, for status pages and tests. */
  get runner(): StageRunner {
    return this.#ranges.current;
  }

  /**
   * The digest of this node's model file (peer_weights.ts): what to advertise so that nodes without
   * the file can fetch its tensors from this one, verified. Hashes the whole file once.
   */
  async modelDigest(): Promise<string> {
    return manifestDigest(decodeManifest(await this.#manifestBytes()));
  }

  #manifestBytes(): Promise<Uint8Array> {
    this.#manifest ??= buildManifest(this.#file).then(encodeManifest);
    return this.#manifest;
  }

  /**
   * Follows a new plan: the same range only accepts `epoch` too; another range is loaded (only its
   * tensors) and serves `epoch` from now on, while the old range keeps serving the sequences of the
   * epochs it had until the last of them ends, then is dropped. Throws PipelineConfigError for a range
   * the model does not have, or the loading errors; the old range then stays current.
   */
  async setRange(range: LayerRange, epoch: number): Promise<void> {
    if (this.#closed) throw new PipelineConfigError("the stage server is closed");
    this.#takeBack();
    const old = this.#ranges.current;
    const r = old.range;
    if (
      r.start === range.start && r.end === range.end && r.embedding === range.embedding &&
      r.head === range.head
    ) {
      return old.acceptEpoch(epoch);
    }
    const { backend } = old.model;
    const cfg = modelConfigFromGguf(this.#file.header);
    checkRange(range, cfg.layers);
    const weights = await loadModelWeights(this.#file, backend, cfg, range);
    if (this.#closed) return;
    this.#ranges.replace(this.#newRunner({ backend, cfg, weights }, [epoch]));
    this.#log(`layers ${range.start}..${range.end} now serve epoch ${epoch}; ${r.start}..${r.end} drain`);
  }

  /** Serves frames of plan `epoch` too (a new plan that keeps this node's range). */
  acceptEpoch(epoch: number): void {
    this.#takeBack();
    this.#ranges.current.acceptEpoch(epoch);
  }

  /**
   * Closes the server once no sequence runs on it: a node left out of a new plan lets the sequences of
   * the old plan finish here (the port stays bound meanwhile). An acceptEpoch or setRange before then
   * takes the server back into use and the promise resolves false; it resolves true once closed.
   */
  closeWhenIdle(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(true);
    if (this.#idleClose) return this.#idleClose.done;
    let resolve!: (closed: boolean) => void;
    const done = new Promise<boolean>((r) => (resolve = r));
    const check = () => {
      if (this.#ranges.sequences() > 0) return;
      clearInterval(timer);
      this.#idleClose = undefined;
      this.close().then(() => resolve(true));
    };
    const timer = setInterval(check, IDLE_CLOSE_POLL_MS);
    this.#idleClose = { done, resolve, timer };
    check();
    return done;
  }

  /** Stops serving `epoch`; its running sequences end with EpochMismatch and are replayed by their entries. */
  retireEpoch(epoch: number): void {
    for (const r of this.#ranges.all()) r.retireEpoch(epoch);
  }

  stats(): StageServerStats {
    let badFrames = this.#badFrames;
    let handlerErrors = this.#handlerErrors;
    for (const c of this.#connections) {
      badFrames += c.stats.badFrames;
      handlerErrors += c.stats.handlerErrors;
    }
    return {
      ...this.#ranges.current.stats(),
      connections: this.#connections.size,
      refusedPeers: this.#refusedPeers,
      badFrames,
      handlerErrors,
      drainingSequences: this.#ranges.drainingSequences(),
    };
  }

  /** Stops listening, closes every connection and frees the weights' file if we opened it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    const idleClose = this.#idleClose;
    this.#idleClose = undefined;
    if (idleClose) clearInterval(idleClose.timer);
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    for (const tcp of this.#handshaking) {
      try {
        tcp.close();
      } catch { /* closed by the handshake already */ }
    }
    await this.#accepting;
    for (const c of [...this.#connections]) c.close();
    this.#next.close();
    await this.#ranges.close();
    await Promise.all([...this.#connections].map((c) => c.closed));
    this.#ownedFile?.close();
    idleClose?.resolve(true);
  }

  async #acceptLoop(): Promise<void> {
    const handshakes = new Set<Promise<void>>();
    try {
      for await (const conn of this.#listener) {
        if (this.#handshaking.size >= MAX_PENDING_HANDSHAKES) {
          this.#refusedPeers++;
          conn.close();
          continue;
        }
        const p = this.#handshake(conn);
        handshakes.add(p);
        p.finally(() => handshakes.delete(p));
      }
    } catch (error) {
      if (!this.#closed) this.#log(`pipeline listener failed: ${(error as Error).message}`);
    }
    await Promise.all(handshakes);
  }

  async #handshake(tcp: Deno.TcpConn): Promise<void> {
    this.#handshaking.add(tcp);
    let conn: PipelineConnection;
    try {
      conn = await PipelineConnection.accept(tcp, this.#connectionOptions());
    } catch (error) {
      if (this.#closed) return; // cut off by close()
      this.#refusedPeers++;
      const why = error instanceof HandshakeError ? error.message : String(error);
      this.#log(`refused pipeline peer: ${why}`);
      return;
    } finally {
      this.#handshaking.delete(tcp);
    }
    if (this.#closed) {
      conn.close();
      return;
    }
    this.#connections.add(conn);
    this.#peers.set(conn.peerId, conn);
    conn.start({
      frame: (frame) => this.#onFrame(frame, conn),
      closed: () => {
        this.#connections.delete(conn);
        this.#badFrames += conn.stats.badFrames;
        this.#handlerErrors += conn.stats.handlerErrors;
        if (this.#peers.get(conn.peerId) === conn) {
          this.#peers.delete(conn.peerId);
          for (const r of this.#ranges.all()) r.dropEntry(conn.peerId);
        }
      },
    });
  }

  #onFrame(frame: Frame, from?: PipelineConnection): void {
    switch (frame.type) {
      case FrameType.Fetch:
        if (from) answerFetch(this.#file, () => this.#manifestBytes(), frame).then((data) => from.send(data));
        return;
      case FrameType.Open:
        return this.#ranges.forEpoch(frame.planEpoch).open(frame);
      case FrameType.Token:
        return this.#ranges.forEpoch(frame.planEpoch).tokens(frame);
      case FrameType.Forward:
        return this.#ranges.forEpoch(frame.planEpoch).forward(frame);
      case FrameType.Cancel:
        for (const r of this.#ranges.all()) r.cancel(frame.seqId);
        return;
      case FrameType.Error:
        return this.#log(`peer reported error ${frame.code} for sequence ${frame.seqId}: ${frame.message}`);
      default:
        this.#badFrames++;
    }
  }

  #toEntry(replyTo: string, frame: Frame): boolean {
    const conn = this.#peers.get(replyTo);
    return conn ? conn.send(frame) : false;
  }

  /** Every connection's queued frames written (a step's FORWARDs and TOKENs). */
  async #flushed(): Promise<void> {
    const pending: Promise<void>[] = [this.#next.flushed()];
    for (const c of this.#peers.values()) pending.push(c.flushed());
    await Promise.all(pending);
  }

  #connectionOptions() {
    return {
      nodeId: this.#options.nodeId,
      keyring: this.#options.keyring,
      label: this.#options.label,
      planEpoch: Math.max(0, ...this.#ranges.current.epochs),
    };
  }

  #log(line: string): void {
    this.#options.log?.(line);
  }

  #newRunner(model: StageModel, epochs: Iterable<number>): StageRunner {
    const o = this.#options;
    return new StageRunner(model, {
      toEntry: (replyTo, frame) => this.#toEntry(replyTo, frame),
      toNext: (address, frame) => this.#next.send(address, frame),
      flushed: () => this.#flushed(),
      log: (line) => this.#log(line),
    }, {
      slots: o.slots,
      ctx: o.ctx,
      maxBatch: o.maxBatch,
      spinWaitMs: o.spinWaitMs,
      epochs,
    });
  }

  /** Cancels a pending closeWhenIdle: the server is in use again. */
  #takeBack(): void {
    const idleClose = this.#idleClose;
    if (!idleClose) return;
    this.#idleClose = undefined;
    clearInterval(idleClose.timer);
    idleClose.resolve(false);
  }
}
