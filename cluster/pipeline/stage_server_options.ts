/**
 * What a stage server is given and what it reports: its options (each field's meaning and default)
 * and its counters, apart from the server so that callers and status pages need not import it.
 *
 * @module
 */

import type { Backend } from "../../src/backend/backend.ts";
import type { GgufFile } from "../../src/gguf/mod.ts";
import type { LayerRange } from "../../src/model/model_weights.ts";
import type { Keyring } from "../gossip/keyring.ts";
import { DRAIN_POLL_MS } from "./stage_ranges.ts";
import type { StageStats } from "./stage_io.ts";

/** How often idle sequences are looked for, ms. */
export const IDLE_SWEEP_INTERVAL_MS = 10_000;
/** How often closeWhenIdle checks for the last sequence ending, ms. */
export const IDLE_CLOSE_POLL_MS = DRAIN_POLL_MS;
/** Most connections being handshaken at once; more are closed at accept, so a flood cannot pile up. */
export const MAX_PENDING_HANDSHAKES = 64;

/** Everything a stage needs; see each field. */
export interface StageServerOptions {
  /** our node id (gossip name), sent in HELLO */
  readonly nodeId: string;
  /** a local GGUF path, or an open file (not closed by the server) */
  readonly model: string | GgufFile;
  /** the layers this node runs */
  readonly range: LayerRange;
  readonly backend: Backend;
  /** cluster keys; absent = an unkeyed cluster (peers with a key are refused, and vice versa) */
  readonly keyring?: Keyring;
  /** cluster label bound into the handshake ("" by default) */
  readonly label?: string;
  /** interface to bind; default "127.0.0.1" (use "0.0.0.0" across hosts) */
  readonly hostname?: string;
  /** TCP port (`--pipeline-port`); default 0: any free port */
  readonly port?: number;
  /** host peers should dial when `hostname` is a wildcard; default `hostname` */
  readonly advertiseHost?: string;
  /** plan epochs served from the start; more with acceptEpoch() */
  readonly epochs: readonly number[];
  /** concurrent sequences (KV slots); default DEFAULT_STAGE_SLOTS */
  readonly slots?: number;
  /** positions per sequence; default: the model's context */
  readonly ctx?: number;
  /** most rows per step; default DEFAULT_STAGE_MAX_BATCH */
  readonly maxBatch?: number;
  /** polling before a stage sleeps, ms (StageRunnerOptions.spinWaitMs); default STAGE_SPIN_WAIT_MS */
  readonly spinWaitMs?: number;
  /** one line per notable event (refused peer, lost next hop); default: none */
  readonly log?: (line: string) => void;
}

/** Stage counters plus the connection-level ones. */
export interface StageServerStats extends StageStats {
  readonly connections: number;
  /** connections refused at the handshake (no key, wrong key, version, garbage) */
  readonly refusedPeers: number;
  /** malformed frames dropped on authenticated connections */
  readonly badFrames: number;
  /** exceptions raised while handling a frame (a bug, never a crash: counted and dropped) */
  readonly handlerErrors: number;
  /** sequences still finishing on ranges of older plans (see setRange) */
  readonly drainingSequences: number;
}
