/**
 * One step of a pipeline stage, apart from sockets: which queued rows run together, the forward pass
 * over them, and what the step produces — sampled tokens on the last stage, FORWARD frames elsewhere.
 * The StageRunner (stage_runner.ts) owns the queue and sends the results.
 *
 * @module
 */

import { type Rng, sample, type SamplingParams } from "../../src/engine/sampler.ts";
import { computeLogits, embedTokens, type ForwardContext, runLayers } from "../../src/model/forward.ts";
import {
  type ForwardFrame,
  type ForwardSegment,
  FrameType,
  type TokenFrame,
  type WireDtype,
} from "./frames.ts";

/** The last stage's sampler for one sequence: its parameters, seeded RNG and token history. */
export interface SamplerState {
  readonly params: SamplingParams;
  readonly rng: Rng;
  /** prompt + generated tokens, for the penalties */
  readonly history: number[];
}

/** A sequence as one stage holds it. */
export interface StageSequence {
  readonly seqId: number;
  readonly epoch: number;
  /** KV-cache slot */
  readonly slot: number;
  /** the entry's reply id: where TOKEN and ERROR go */
  readonly replyTo: string;
  /** address of the next stage; undefined on the last */
  readonly next?: string;
  readonly wireDtype: WireDtype;
  /** stages in the sequence's route: how many micro-batches keep that pipeline full */
  readonly routeStages: number;
  /** last stage: sampled tokens for positions below this are fed to the first stage (OPEN feedUntil) */
  readonly feedUntil: number;
  /** last stage of a longer route: the first stage's address, where fed tokens go */
  readonly first?: string;
  /** last stage only */
  readonly sampler?: SamplerState;
  /** next position expected from the network (rows queued up to here) */
  queuedTo: number;
  /** clock (ms) of the last rows */
  lastActive: number;
  /** freed: its queued rows are skipped */
  ended: boolean;
}

/** Rows of one sequence waiting for a step. */
export interface WorkItem {
  readonly seq: StageSequence;
  readonly chunk: number;
  /** position of the first row */
  readonly start: number;
  readonly rows: number;
  /** [rows] token ids (first stage) */
  readonly tokens?: Int32Array;
  /** [rows, dim] hidden states (later stages) */
  readonly hidden?: Float32Array;
  /** sample after the last row (last stage) / pass the flag on */
  readonly sample: boolean;
}

/**
 * Takes items from the front of `queue` (in arrival order) up to `maxBatch` rows; an item that does
 * not fit is split, its first part joining the batch (without the sample flag) and the rest staying
 * first in the queue. Items of ended sequences are dropped. At most `maxItems` items are taken (the
 * micro-batch cap, see {@link microBatchItems}).
 */
export function takeBatch(queue: WorkItem[], maxBatch: number, dim: number, maxItems = Infinity): WorkItem[] {
  const batch: WorkItem[] = [];
  let rows = 0;
  while (queue.length > 0 && rows < maxBatch && batch.length < maxItems) {
    const item = queue[0];
    if (item.seq.ended) {
      queue.shift();
      continue;
    }
    const room = maxBatch - rows;
    if (item.rows <= room) {
      batch.push(queue.shift()!);
      rows += item.rows;
      continue;
    }
    batch.push({
      ...item,
      rows: room,
      sample: false,
      tokens: item.tokens?.subarray(0, room),
      hidden: item.hidden?.subarray(0, room * dim),
    });
    queue[0] = {
      ...item,
      start: item.start + room,
      rows: item.rows - room,
      tokens: item.tokens?.subarray(room),
      hidden: item.hidden?.subarray(room * dim),
    };
    rows += room;
  }
  return batch;
}

/**
 * Most work items one step takes so that a pipeline of k stages stays full: the stage's `sequences`
 * split into k micro-batches, ⌈sequences / k⌉ each. Sequences that all arrive together (8 streams
 * started at once) would otherwise travel as one batch forever — every stage busy for 1/k of the time
 * while the others wait; capped, they split into k groups that occupy different stages at once, and a
 * group that merged again is split at its next step. Why k and not more: a step costs a fixed part
 * (streaming the stage's weights) plus a part per row; on the wasm backend the fixed part is worth ~4
 * rows (1.5 ms + 0.4 ms/row for a 288×6 f32 model on one core), so every extra group costs a whole
 * fixed part per round, while the hops it would hide (the last stage feeds the first directly, see
 * stage_runner.ts) are short next to a step. With int8 weights the fixed part is small (Q8_0 512×8:
 * ~0.8 ms + 1.8 ms/row), but k + 1 groups measured no better there either: what left the stages idle was
 * their sleeping between steps, which the runner's polling (STAGE_SPIN_WAIT_MS) removes. With one
 * stage there is no cap (one node's batch stays whole). `k` is the longest route among the stage's
 * sequences.
 */
export function microBatchItems(sequences: Iterable<StageSequence>): number {
  let count = 0;
  let stages = 1;
  for (const s of sequences) {
    count++;
    stages = Math.max(stages, s.routeStages);
  }
  return stages <= 1 ? Infinity : Math.max(1, Math.ceil(count / stages));
}

/**
 * Runs the batch through the stage's layers (embedding the tokens first on the first stage); the
 * result is in ws.x [n, dim]. Returns n, the rows run. Backend failures throw.
 */
export function runBatch(forward: ForwardContext, batch: readonly WorkItem[]): number {
  const { backend, cfg, weights } = forward;
  const n = batch.reduce((sum, w) => sum + w.rows, 0);
  const slot = new Int32Array(n); // [n] KV slot per row
  const pos = new Int32Array(n); // [n] position per row
  const tokens = weights.range.embedding ? new Int32Array(n) : undefined;
  let at = 0;
  for (const w of batch) {
    slot.fill(w.seq.slot, at, at + w.rows);
    for (let i = 0; i < w.rows; i++) pos[at + i] = w.start + i;
    if (tokens) tokens.set(w.tokens!, at);
    else backend.write(forward.ws.x, w.hidden!, at * cfg.dim);
    at += w.rows;
  }
  if (tokens) embedTokens(forward, tokens);
  runLayers(forward, n, { slot, pos });
  return n;
}

/** One sequence's outcome of a sampling step. */
export type SampleOutcome =
  | { readonly item: WorkItem; readonly token: number }
  | { readonly item: WorkItem; readonly error: string };

/**
 * Last stage, after runBatch: logits of each sampling item's last row, and one token drawn for each
 * live sequence with its own parameters and RNG (appended to its history).
 */
export async function sampleBatch(
  forward: ForwardContext,
  batch: readonly WorkItem[],
): Promise<SampleOutcome[]> {
  const rows: number[] = [];
  const items: WorkItem[] = [];
  let at = 0;
  for (const w of batch) {
    at += w.rows;
    if (w.sample) {
      rows.push(at - 1);
      items.push(w);
    }
  }
  if (items.length === 0) return [];
  const vocab = forward.cfg.vocab;
  // [items, vocab]
  const logits = await forward.backend.read(
    computeLogits(forward, Int32Array.from(rows)),
    items.length * vocab,
  );
  const out: SampleOutcome[] = [];
  items.forEach((item, i) => {
    const sampler = item.seq.sampler;
    if (item.seq.ended || !sampler) return;
    try {
      const token = sample(
        logits.subarray(i * vocab, (i + 1) * vocab),
        sampler.history,
        sampler.params,
        sampler.rng,
      );
      sampler.history.push(token);
      out.push({ item, token });
    } catch (error) {
      out.push({ item, error: `sampling failed: ${(error as Error).message}` });
    }
  });
  return out;
}

/** The TOKEN frame of a token sampled after `item`'s last row: for the entry, and the next position's input. */
export function sampledToken(item: WorkItem, token: number): TokenFrame {
  return {
    type: FrameType.Token,
    seqId: item.seq.seqId,
    planEpoch: item.seq.epoch,
    chunk: item.chunk,
    position: item.start + item.rows,
    tokens: Int32Array.of(token),
    sample: true,
    reset: false,
  };
}

/**
 * Middle stages, after runBatch: the hidden states of the batch's live sequences as FORWARD frames,
 * one per next hop, wire dtype and plan epoch (usually one in all).
 */
export async function forwardFrames(
  forward: ForwardContext,
  batch: readonly WorkItem[],
  n: number,
): Promise<Array<{ readonly address: string; readonly frame: ForwardFrame }>> {
  const dim = forward.cfg.dim;
  const hidden = await forward.backend.read(forward.ws.x, n * dim); // [n, dim]
  const groups = new Map<string, { address: string; items: WorkItem[]; offsets: number[] }>();
  let at = 0;
  for (const w of batch) {
    const s = w.seq;
    if (!s.ended && s.next) {
      const key = `${s.next}|${s.wireDtype}|${s.epoch}`;
      let g = groups.get(key);
      if (!g) groups.set(key, g = { address: s.next, items: [], offsets: [] });
      g.items.push(w);
      g.offsets.push(at);
    }
    at += w.rows;
  }
  return [...groups.values()].map((g) => {
    const rows = g.items.reduce((sum, w) => sum + w.rows, 0);
    const out = new Float32Array(rows * dim); // [rows, dim]
    const positions = new Int32Array(rows);
    const segments: ForwardSegment[] = [];
    let o = 0;
    g.items.forEach((w, i) => {
      out.set(hidden.subarray(g.offsets[i] * dim, (g.offsets[i] + w.rows) * dim), o * dim);
      for (let r = 0; r < w.rows; r++) positions[o + r] = w.start + r;
      segments.push({ seqId: w.seq.seqId, chunk: w.chunk, rows: w.rows, sample: w.sample, reset: false });
      o += w.rows;
    });
    const first = g.items[0].seq;
    return {
      address: g.address,
      frame: {
        type: FrameType.Forward,
        planEpoch: first.epoch,
        dtype: first.wireDtype,
        dim,
        segments,
        positions,
        hidden: out,
      },
    };
  });
}
