/**
 * Options of the entry engine (pipeline_engine.ts): the defaults in one place, each with its unit and
 * reason, and their validation.
 *
 * @module
 */

import type { ModelConfig } from "../../src/model/model_config.ts";
import type { Tokenizer } from "../../src/tokenizer/mod.ts";
import type { Keyring } from "../gossip/keyring.ts";
import { TOKEN_MAX_COUNT, WireDtype } from "./frames.ts";
import { PipelineConfigError } from "./pipeline_errors.ts";
import type { PipelineRoute } from "./route.ts";

/** Prompt tokens per TOKEN frame by default (stages split larger chunks to their own batch size). */
export const DEFAULT_PREFILL_CHUNK = 64;
/** Sequences in flight at once by default: enough to keep a few stages full, within the stages' KV slots. */
export const DEFAULT_MAX_ACTIVE = 16;
/** Requests allowed to wait beyond the active ones by default. */
export const DEFAULT_QUEUE_SIZE = 64;
/** No token for this long and the route counts as failed, ms: far above a token's time on any backend. */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;
/** Replays allowed per sequence before it fails: more means the cluster is collapsing. */
export const DEFAULT_MAX_FAILOVERS = 3;
/** How long a failover waits for a route to appear (gossip converging on a new plan), ms. */
export const DEFAULT_FAILOVER_WAIT_MS = 10_000;
/** How often a waiting failover asks for a route again, ms. */
export const FAILOVER_POLL_MS = 50;
/** How often stalled sequences are looked for, ms. */
export const WATCHDOG_INTERVAL_MS = 250;

/** What `resolveRoute` is asked. */
export interface RouteRequest {
  /** nodes that failed this sequence: the route must not use them */
  readonly avoid: ReadonlySet<string>;
  /** 0 for a new request, n for its n-th failover */
  readonly attempt: number;
}

/** Options of a {@link PipelineEngine}. */
export interface PipelineEngineOptions {
  /** this node's id; the engine's reply id on stage connections is derived from it */
  readonly nodeId: string;
  /** the model's hyper-parameters (layers, vocabulary, context) */
  readonly cfg: ModelConfig;
  readonly tokenizer: Tokenizer;
  /**
   * The route for a request: the replica to use now, avoiding `avoid`; undefined when none can serve.
   * Called synchronously at submit (undefined → NoPipelineError) and again at each failover.
   */
  readonly resolveRoute: (request: RouteRequest) => PipelineRoute | undefined;
  readonly keyring?: Keyring;
  readonly label?: string;
  /** hidden states on the wire (`--wire-dtype`); default F16 */
  readonly wireDtype?: WireDtype;
  /** context per sequence, tokens; default the model's (must not exceed the stages') */
  readonly ctx?: number;
  /** prompt tokens per TOKEN frame; default DEFAULT_PREFILL_CHUNK, at most TOKEN_MAX_COUNT */
  readonly prefillChunk?: number;
  /** sequences in flight at once (keep ≤ the stages' KV slots); default DEFAULT_MAX_ACTIVE */
  readonly maxActive?: number;
  /** requests allowed to wait beyond maxActive before QueueFullError; default DEFAULT_QUEUE_SIZE */
  readonly queueSize?: number;
  /**
   * requests one client (SequenceRequest.client) may have waiting beyond the free active places; more
   * → ClientQueueFullError. Default `queueSize`, as in the scheduler: keyless requests share one client.
   */
  readonly clientQueueSize?: number;
  /** no token for this long and the route counts as failed, ms; default DEFAULT_STALL_TIMEOUT_MS */
  readonly stallTimeoutMs?: number;
  /** replays per sequence before it fails; default DEFAULT_MAX_FAILOVERS */
  readonly maxFailovers?: number;
  /** how long a failover waits for a route to appear, ms; default DEFAULT_FAILOVER_WAIT_MS */
  readonly failoverWaitMs?: number;
  /** clock, ms (default performance.now) */
  readonly now?: () => number;
  /** seed for requests without one (default: crypto random) */
  readonly randomSeed?: () => number;
  readonly log?: (line: string) => void;
}

/** Gauges and counters of the entry engine. */
export interface PipelineEngineStats {
  readonly queued: number;
  readonly active: number;
  readonly connections: number;
  readonly submitted: number;
  readonly tokens: number;
  readonly failovers: number;
  readonly failed: number;
  /** ms from the last failure being noticed to the replayed stream's next token */
  readonly lastResumeMs?: number;
}

/** Options with every default filled in. */
export type ResolvedEngineOptions =
  & Required<Omit<PipelineEngineOptions, "keyring" | "label" | "log" | "clientQueueSize">>
  & PipelineEngineOptions;

function randomU32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/** Fills in the defaults and checks the values; throws PipelineConfigError naming a bad one. */
export function resolveEngineOptions(options: PipelineEngineOptions): ResolvedEngineOptions {
  const o: ResolvedEngineOptions = {
    wireDtype: WireDtype.F16,
    prefillChunk: DEFAULT_PREFILL_CHUNK,
    maxActive: DEFAULT_MAX_ACTIVE,
    queueSize: DEFAULT_QUEUE_SIZE,
    stallTimeoutMs: DEFAULT_STALL_TIMEOUT_MS,
    maxFailovers: DEFAULT_MAX_FAILOVERS,
    failoverWaitMs: DEFAULT_FAILOVER_WAIT_MS,
    now: () => performance.now(),
    randomSeed: randomU32,
    ...options,
    ctx: Math.min(options.ctx ?? options.cfg.ctx, options.cfg.ctx),
  };
  const counts: Array<[string, number, number]> = [
    ["prefillChunk", o.prefillChunk, 1],
    ["maxActive", o.maxActive, 1],
    ["ctx", o.ctx, 2],
    ["queueSize", o.queueSize, 0],
    ["clientQueueSize", o.clientQueueSize ?? o.queueSize, 0],
    ["maxFailovers", o.maxFailovers, 0],
  ];
  for (const [name, v, min] of counts) {
    if (!Number.isInteger(v) || v < min) {
      throw new PipelineConfigError(`pipeline ${name} must be an integer ≥ ${min}, got ${v}`);
    }
  }
  for (
    const [name, v] of [["stallTimeoutMs", o.stallTimeoutMs], ["failoverWaitMs", o.failoverWaitMs]] as const
  ) {
    if (!(v >= 0)) throw new PipelineConfigError(`pipeline ${name} must be ≥ 0 ms, got ${v}`);
  }
  if (o.prefillChunk > TOKEN_MAX_COUNT) {
    throw new PipelineConfigError(
      `prefillChunk ${o.prefillChunk} exceeds TOKEN_MAX_COUNT ${TOKEN_MAX_COUNT}`,
    );
  }
  if (o.wireDtype !== WireDtype.F16 && o.wireDtype !== WireDtype.F32) {
    throw new PipelineConfigError(`unknown wire dtype ${o.wireDtype}`);
  }
  return o;
}
