/**
 * What one node's decode step costs at a batch of n rows, apart from any network: the F/r split the
 * cluster figures of the pipeline benchmark are read against.
 *
 * A step of n decode rows (n sequences, one token each) costs about F + r·n on one core: F is the part
 * paid once per step whatever the batch (streaming the weights from memory, per-op setup), r the part
 * per row (the multiply-adds). Eight streams on one node cost F + 8r per round of 8 tokens; split over
 * two cores — two replicas of 4 streams, or a 2-stage pipeline whose stages run 2 groups of 4 on half
 * the layers each — a round costs F + 4r. So two cores can give at most (F + 8r) / (F + 4r): 2× when
 * F ≪ r (compute-bound batched decode, e.g. int8 dot products), only ~1.5× when F ≈ 4r (an F32 model
 * whose weights stream from memory). The benchmark measures t(n) directly and prints that ceiling.
 *
 * Measured in-process, on the model as a whole (embed → layers → head → logits read back): the same
 * work a whole-model stage does per step, without its frames.
 *
 * @example
 * ```ts
 * const model = await loadModel(path, await createBackend("wasm", { threads: 1 }), { slots: 8, ctx: 512 });
 * const ms = await stepCostMs(model, [1, 4, 8], 32); // { 1: 1.9, 4: 3.1, 8: 4.7 }
 * ```
 *
 * @module
 */

import { computeLogits, embedTokens, runLayers } from "../src/model/forward.ts";
import type { LoadedModel } from "../src/engine/loaded_model.ts";

/** Median ms of one decode step at each batch size in `sizes` (rows ≤ model.slots), `steps` steps each. */
export async function stepCostMs(
  model: LoadedModel,
  sizes: readonly number[],
  steps: number,
): Promise<Record<number, number>> {
  const { forward, cfg } = model;
  for (const n of sizes) {
    if (n > model.slots) throw new RangeError(`batch ${n} exceeds the model's ${model.slots} slots`);
  }
  const times = sizes.map(() => [] as number[]);
  // the sizes take turns at every position, so that load from other processes hits them alike;
  // positions 0..steps-1 attend over a growing cache, like the benchmark's decode
  for (let p = 0; p < steps + 2; p++) {
    for (const [i, n] of sizes.entries()) {
      const slot = Int32Array.from({ length: n }, (_, j) => j); // [n] one sequence per row
      const rows = Int32Array.from({ length: n }, (_, j) => j); // [n] every row samples
      const tokens = Int32Array.from({ length: n }, (_, j) => (7 * j + 3) % cfg.vocab);
      const pos = new Int32Array(n).fill(p);
      const t0 = performance.now();
      embedTokens(forward, tokens);
      runLayers(forward, n, { slot, pos });
      await forward.backend.read(computeLogits(forward, rows), n * cfg.vocab);
      if (p >= 2) times[i].push(performance.now() - t0); // the first steps warm the JIT
    }
  }
  const out: Record<number, number> = {};
  sizes.forEach((n, i) => (out[n] = median(times[i])));
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

/** F and r of t(n) ≈ F + r·n from the step times at 1 and `n` rows, ms. */
export function fixedAndPerRow(t1: number, tn: number, n: number): { fixedMs: number; perRowMs: number } {
  const perRowMs = (tn - t1) / (n - 1);
  return { fixedMs: t1 - perRowMs, perRowMs };
}
