/**
 * The entry side of the pipeline: streams a request's tokens through a route of stages, with the
 * same `submit()` → SequenceStream API as the local Scheduler (src/engine/scheduler.ts), so the HTTP
 * layer serves either.
 *
 * A sequence starts by connecting (once, shared by all sequences) to every stage of its route, sending
 * OPEN and the prompt in chunks to the first stage. The last stage samples and sends each token back
 * here; the engine streams it, and the last stage also sends it to the first stage as the next decode
 * step (OPEN feedUntil, protocol version 3; with an older last stage the engine feeds it itself). When
 * the stream ends before the budget (EOS, a stop string, a client gone) the CANCEL to every stage stops
 * the loop, a step or two later. Tokens of different sequences that arrive together go out together
 * (one record, one stage step), and up to `maxActive` sequences are in flight at once, so every stage
 * stays busy with some of them. Requests beyond that wait in the scheduler's fair queue
 * (src/engine/fair_queue.ts): round-robin across clients (`SequenceRequest.client`), FIFO within one.
 * A request's route is resolved again when it leaves the queue, so it starts on the plan and the least
 * busy replica of that moment; {@link PipelineEngine.load} gives the live depths that routing needs.
 * The stage connections (one per address, shared) are kept by `entry_connections.ts`.
 *
 * Failover: when a connection to a stage of the route closes, a stage reports an error for the
 * sequence, the caller reports a node dead, or no token arrives within the stall timeout, the engine
 * cancels the sequence on the old route and asks `resolveRoute` for a route avoiding the failed nodes
 * (waiting up to `failoverWaitMs` for one to appear, e.g. for gossip to produce the next plan). It
 * replays there the prompt plus every token already streamed, with the sampler's history and RNG
 * position, and continues the stream from the next token: nothing repeated, nothing missing, and
 * with f32 hidden states on the wire a greedy stream identical to an uninterrupted run. When no route
 * comes, or the sequence failed over `maxFailovers` times, the stream ends with a typed error.
 *
 * @example
 * ```ts
 * const engine = new PipelineEngine({
 *   nodeId: "node-a",
 *   cfg,                      // modelConfigFromGguf(header)
 *   tokenizer,                // Tokenizer.fromMetadata(header.metadata)
 *   keyring,
 *   resolveRoute: ({ avoid }) => currentRoute(avoid), // from the plan and gossip addresses
 * });
 * const stream = engine.submit({ prompt: tokenizer.encode("Hi"), maxTokens: 16, sampling: { ...defaultSamplingParams(), temperature: 0 } });
 * for await (const piece of stream) console.log(piece.text);
 * await engine.close();
 * ```
 *
 * @module
 */

import { ANONYMOUS_CLIENT, type SequenceStream } from "../../src/engine/scheduler.ts";
import { DrainingError } from "../../src/engine/scheduler_errors.ts";
import { FairQueue } from "../../src/engine/fair_queue.ts";
import type { SequenceRequest } from "../../src/engine/sequence.ts";
import { sequenceStream } from "../../src/engine/sequence_stream.ts";
import { validateRequest } from "../../src/engine/validate_request.ts";
import { EntryConnections } from "./entry_connections.ts";
import { EntrySequence } from "./entry_sequence.ts";
import { errorCulprit } from "./error_culprit.ts";
import { CancelReason, FEED_PROTOCOL_VERSION, type Frame, FrameType } from "./frames.ts";
import type { PipelineConnection } from "./pipeline_connection.ts";
import {
  FAILOVER_POLL_MS,
  type PipelineEngineOptions,
  type PipelineEngineStats,
  type ResolvedEngineOptions,
  resolveEngineOptions,
  WATCHDOG_INTERVAL_MS,
} from "./pipeline_engine_options.ts";
import { NoPipelineError, PipelineSequenceError } from "./pipeline_errors.ts";
import { type PipelineRoute, routeProblem } from "./route.ts";

function randomU32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/** A random sequence id in [1, 2^53): ids are unique across every entry of the cluster by chance. */
function randomSeqId(): number {
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2));
  return (hi & 0x1f_ffff) * 0x1_0000_0000 + lo || 1;
}

/** Streams sequences through pipeline routes. See the module doc. */
export class PipelineEngine {
  /** our node id on stage connections: where stages send tokens and errors back */
  readonly replyId: string;
  readonly ctx: number;
  readonly #o: ResolvedEngineOptions;
  /** one connection per stage address, shared by all sequences (see entry_connections.ts) */
  readonly #connections: EntryConnections;
  readonly #bySeqId = new Map<number, EntrySequence>();
  readonly #active = new Set<EntrySequence>();
  /** waiting requests, round-robin across clients (the scheduler's fair queue) */
  readonly #queue = new FairQueue<EntrySequence>();
  readonly #tasks = new Set<Promise<void>>();
  #watchdog?: ReturnType<typeof setInterval>;
  #nextId = 1;
  #closed = false;
  #counters = { submitted: 0, tokens: 0, failovers: 0, failed: 0 };
  #lastResumeMs?: number;

  constructor(options: PipelineEngineOptions) {
    this.#o = resolveEngineOptions(options);
    this.ctx = this.#o.ctx;
    this.replyId = `${options.nodeId.slice(0, 100)}~entry~${randomU32().toString(16)}`;
    this.#connections = new EntryConnections({
      nodeId: this.replyId,
      keyring: this.#o.keyring,
      label: this.#o.label,
      isClosed: () => this.#closed,
      events: {
        frame: (frame, address) => this.#onFrame(frame, address),
        closed: (address, reason) => this.#onClosed(address, reason),
      },
    });
  }

  /**
   * Queues a request. Throws NoPipelineError (no route serves the model now), ContextOverflowError,
   * QueueFullError, DrainingError, SamplerError or RangeError (empty prompt, token outside the vocabulary,
   * bad maxTokens or seed), like Scheduler.submit.
   */
  submit(request: SequenceRequest): SequenceStream {
    if (this.#closed) throw new DrainingError();
    const { prompt } = request;
    const sampling = validateRequest(request, this.ctx, this.#o.cfg.vocab);
    const seed = Math.trunc(sampling.seed ?? this.#o.randomSeed());
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed ${sampling.seed} is not a safe integer`);
    if (request.signal?.aborted) throw request.signal.reason ?? new DOMException("aborted", "AbortError");
    const route = this.#resolve(new Set(), 0);
    if (!route) {
      throw new NoPipelineError("no pipeline route can serve the model now (no plan covers its layers)");
    }

    const sequence = new EntrySequence(
      this.#nextId++,
      prompt,
      Math.min(request.maxTokens, this.ctx - prompt.length),
      { ...sampling, seed },
      request.stop ?? [],
      this.#o.tokenizer,
      this.#o.now(),
    );
    sequence.route = route;
    // free active places count as room: whatever waits now is admitted by the pump below
    const free = Math.max(0, this.#o.maxActive - this.#active.size);
    this.#queue.push(request.client ?? ANONYMOUS_CLIENT, sequence, {
      total: free + this.#o.queueSize,
      perClient: free + (this.#o.clientQueueSize ?? this.#o.queueSize),
    });
    this.#counters.submitted++;
    const stream = sequenceStream(sequence, request.signal, () => this.#cancel(sequence));
    this.#pump();
    return stream;
  }

  /**
   * The caller (gossip) learned that `nodeId` is dead: sequences through it are cancelled there and
   * replayed now, without waiting for its connection to reset.
   */
  reportDead(nodeId: string): void {
    for (const s of [...this.#active]) {
      if (s.route?.stages.some((st) => st.nodeId === nodeId)) {
        this.#failover(s, nodeId, `node ${nodeId} reported dead`);
      }
    }
  }

  /**
   * Sequences this entry has running per node (node id → count): the live queue depths for
   * `routeRequest` (cluster/planner/route_request.ts) when choosing a replica for the next request.
   */
  load(): Map<string, number> {
    const depths = new Map<string, number>();
    for (const s of this.#active) {
      for (const { nodeId } of s.route?.stages ?? []) depths.set(nodeId, (depths.get(nodeId) ?? 0) + 1);
    }
    return depths;
  }

  stats(): PipelineEngineStats {
    return {
      queued: this.#queue.size,
      active: this.#active.size,
      connections: this.#connections.size,
      ...this.#counters,
      lastResumeMs: this.#lastResumeMs,
    };
  }

  /** Cancels every sequence (freeing their KV on every stage) and closes the connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of [...this.#queue.values(), ...this.#active]) this.#cancel(s);
    await Promise.all(this.#tasks);
    await this.#connections.close();
    this.#stopWatchdog();
  }

  #resolve(avoid: ReadonlySet<string>, attempt: number): PipelineRoute | undefined {
    let route: PipelineRoute | undefined;
    try {
      route = this.#o.resolveRoute({ avoid, attempt });
    } catch (error) {
      this.#log(`resolveRoute failed: ${(error as Error).message}`);
      return undefined;
    }
    if (!route) return undefined;
    const problem = routeProblem(route, this.#o.cfg.layers) ??
      (route.stages.some((s) => avoid.has(s.nodeId)) ? "the route uses a node that failed" : undefined);
    if (problem) {
      this.#log(`route for epoch ${route.epoch} refused: ${problem}`);
      return undefined;
    }
    return route;
  }

  #pump(): void {
    while (this.#active.size < this.#o.maxActive && this.#queue.size > 0) {
      const s = this.#queue.shift()!;
      if (s.finished) continue;
      // the replica is chosen when the request starts, from the load and plan at that moment (a
      // request that waited may find a newer plan or a less busy replica); else the one found at submit
      s.route = this.#resolve(new Set(), 0) ?? s.route;
      s.admittedAt = this.#o.now();
      this.#active.add(s);
      this.#track(this.#run(s, s.route!));
    }
    if (this.#active.size > 0) this.#startWatchdog();
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  /** Starts (or replays) `s` on `route`: connects to every stage, sends OPEN and the history. */
  async #run(s: EntrySequence, route: PipelineRoute): Promise<void> {
    const seqId = randomSeqId();
    s.route = route;
    s.seqId = seqId;
    s.lastProgress = this.#o.now();
    this.#bySeqId.set(seqId, s);
    const conns: PipelineConnection[] = [];
    for (const stage of route.stages) {
      try {
        conns.push(await this.#connections.connect(stage.address));
      } catch (error) {
        if (s.seqId === seqId) this.#failover(s, stage.nodeId, (error as Error).message);
        return;
      }
    }
    if (s.finished || s.seqId !== seqId) return; // cancelled or failed over while connecting
    const first = conns[0];
    // a last stage that speaks version 3 feeds each token to the first stage itself: one hop less
    s.feeding = conns[conns.length - 1].version >= FEED_PROTOCOL_VERSION;
    first.send(s.openFrame(seqId, route, this.replyId, this.#o.wireDtype, s.feeding));
    for (const frame of s.promptFrames(seqId, route.epoch, this.#o.prefillChunk)) first.send(frame);
  }

  /** A stage connection closed (see entry_connections.ts): its sequences fail over. */
  #onClosed(address: string, reason: Error): void {
    if (this.#closed) return;
    for (const s of [...this.#active]) {
      const stage = s.route?.stages.find((st) => st.address === address);
      if (stage && s.seqId !== 0) {
        this.#failover(s, stage.nodeId, `connection to ${address} closed: ${reason.message}`);
      }
    }
  }

  #onFrame(frame: Frame, from: string): void {
    if (frame.type === FrameType.Token) return this.#onToken(frame.seqId, frame.position, frame.tokens[0]);
    if (frame.type !== FrameType.Error) return;
    if (frame.seqId === 0) return this.#log(`stage ${from} reported: ${frame.message}`);
    const s = this.#bySeqId.get(frame.seqId);
    if (!s || s.finished || s.seqId !== frame.seqId) return;
    // who to avoid: the unreachable next stage, nobody for a retired epoch, else the stage that refused
    const why = `stage ${from} error ${frame.code}: ${frame.message}`;
    this.#failover(s, errorCulprit(frame, from, s.route), why);
  }

  #onToken(seqId: number, position: number, token: number): void {
    const s = this.#bySeqId.get(seqId);
    if (!s || s.finished || s.seqId !== seqId || position !== s.nextPosition) return;
    const now = this.#o.now();
    if (s.failedAt !== undefined) {
      this.#lastResumeMs = now - s.failedAt;
      s.failedAt = undefined;
    }
    this.#counters.tokens++;
    if (s.accept(token, now) === "finished") return this.#end(s, CancelReason.Finished);
    if (s.feeding) return; // the last stage sent it to the first stage already
    const first = this.#connections.live(s.route!.stages[0].address);
    if (!first) return this.#failover(s, s.route!.stages[0].nodeId, "lost the first stage");
    first.send({
      type: FrameType.Token,
      seqId,
      planEpoch: s.route!.epoch,
      chunk: 0,
      position: s.nextPosition - 1,
      tokens: Int32Array.of(token),
      sample: true,
      reset: false,
    });
  }

  /** Frees the sequence on every stage of its route (CANCEL) and forgets its id there. */
  #release(s: EntrySequence, reason: CancelReason): void {
    if (s.seqId === 0) return;
    for (const st of s.route?.stages ?? []) {
      this.#connections.live(st.address)?.send({ type: FrameType.Cancel, seqId: s.seqId, reason });
    }
    this.#bySeqId.delete(s.seqId);
    s.seqId = 0;
  }

  #end(s: EntrySequence, reason: CancelReason): void {
    this.#release(s, reason);
    this.#active.delete(s);
    this.#pump();
    if (this.#active.size === 0) this.#stopWatchdog();
  }

  #fail(s: EntrySequence, error: Error): void {
    this.#counters.failed++;
    this.#log(`sequence ${s.id} failed: ${error.message}`);
    s.finish("error", this.#o.now(), error);
    this.#end(s, CancelReason.Error);
  }

  #cancel(s: EntrySequence): void {
    if (s.finished) return;
    this.#queue.remove(s);
    s.finish("cancelled", this.#o.now());
    this.#end(s, CancelReason.Client);
  }

  /** Replays `s` on a route avoiding `nodeId` (see the module doc). */
  #failover(s: EntrySequence, nodeId: string | undefined, why: string): void {
    if (s.finished) return;
    if (nodeId) s.avoid.add(nodeId);
    if (s.failingOver) return;
    this.#release(s, CancelReason.Failover);
    s.failovers++;
    this.#counters.failovers++;
    s.failedAt ??= this.#o.now();
    this.#log(`sequence ${s.id}: failover ${s.failovers} after ${why}`);
    if (s.failovers > this.#o.maxFailovers) {
      return this.#fail(
        s,
        new PipelineSequenceError(
          "failover-limit",
          `sequence failed over ${this.#o.maxFailovers} times; last: ${why}`,
        ),
      );
    }
    s.failingOver = true;
    this.#track(this.#replay(s));
  }

  async #replay(s: EntrySequence): Promise<void> {
    const deadline = this.#o.now() + this.#o.failoverWaitMs;
    let route = this.#resolve(s.avoid, s.failovers);
    while (!route && !this.#closed && !s.finished && this.#o.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, FAILOVER_POLL_MS));
      route = this.#resolve(s.avoid, s.failovers);
    }
    s.failingOver = false;
    if (s.finished || this.#closed) return;
    if (!route) {
      return this.#fail(
        s,
        new NoPipelineError(
          `no pipeline route avoiding ${
            [...s.avoid].join(", ") || "no node"
          } appeared within ${this.#o.failoverWaitMs} ms`,
        ),
      );
    }
    await this.#run(s, route);
  }

  #startWatchdog(): void {
    if (this.#watchdog !== undefined) return;
    this.#watchdog = setInterval(() => {
      const now = this.#o.now();
      for (const s of [...this.#active]) {
        if (!s.failingOver && s.seqId !== 0 && now - s.lastProgress > this.#o.stallTimeoutMs) {
          this.#failover(s, undefined, `no token for ${this.#o.stallTimeoutMs} ms`);
        }
      }
    }, WATCHDOG_INTERVAL_MS);
  }

  #stopWatchdog(): void {
    if (this.#watchdog === undefined) return;
    clearInterval(this.#watchdog);
    this.#watchdog = undefined;
  }

  #log(line: string): void {
    this.#o.log?.(line);
  }
}
