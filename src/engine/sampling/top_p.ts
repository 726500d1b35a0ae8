/**
 * Top-p (nucleus) cut-off over a whole vocabulary without sorting it.
 *
 * The kept set is the shortest best-first prefix whose probability mass reaches p. Sorting 150k logits
 * per token would cost tens of milliseconds, so instead: bucket the logits by value (buckets follow the
 * rank order, ties share a bucket), add up each bucket's mass, walk buckets from the top to the one where
 * the running mass crosses p, and sort only that bucket. Peaked distributions cross within the first
 * few, nearly empty buckets; even a flat one sorts only ~n/BUCKETS ids.
 */
import { ranksBefore, sortByRank } from "./top_k.ts";

/** Buckets across the logit range; more makes the crossing bucket smaller, at a cost in counting. */
const BUCKETS = 1024;

/**
 * The id of the last token the top-p filter keeps (the kept set is every id that ranks at or before
 * it). `max` is the highest logit; -Infinity logits carry no mass and are never the cut-off.
 *
 * @example
 * ```ts
 * topPCutoff(Float32Array.of(0, 2, 1), 2, 0.5); // 1: the best token alone holds ≥ half the mass
 * ```
 */
export function topPCutoff(logits: Float32Array, max: number, topP: number): number {
  const n = logits.length;
  const weights = new Float64Array(n); // [n] exp(logit - max), 0 for -Infinity
  let min = max;
  let z = 0;
  for (let i = 0; i < n; i++) {
    const l = logits[i];
    if (l === -Infinity) continue;
    if (l < min) min = l;
    weights[i] = Math.exp(l - max);
    z += weights[i];
  }
  const target = topP * z;
  const width = (max - min) / BUCKETS;
  const bucketOf = (l: number) => (width > 0 ? Math.min(BUCKETS - 1, Math.floor((max - l) / width)) : 0);
  const bucketIds = new Int32Array(n); // [n] bucket of each id, -1 for -Infinity
  const mass = new Float64Array(BUCKETS);
  const count = new Int32Array(BUCKETS);
  for (let i = 0; i < n; i++) {
    if (logits[i] === -Infinity) {
      bucketIds[i] = -1;
      continue;
    }
    const b = bucketOf(logits[i]);
    bucketIds[i] = b;
    mass[b] += weights[i];
    count[b]++;
  }
  let acc = 0;
  let crossing = -1;
  let last = -1;
  for (let b = 0; b < BUCKETS; b++) {
    if (count[b] === 0) continue;
    last = b;
    if (acc + mass[b] >= target) {
      crossing = b;
      break;
    }
    acc += mass[b];
  }
  // Rounding can leave the sum a hair short of p·Z: then everything is kept, down to the last bucket.
  const bucket = crossing >= 0 ? crossing : last;
  const ids = new Int32Array(count[bucket]);
  let k = 0;
  for (let i = 0; i < n; i++) if (bucketIds[i] === bucket) ids[k++] = i;
  sortByRank(logits, ids);
  for (const id of ids) {
    acc += weights[id];
    if (acc >= target) return id;
  }
  return ids[ids.length - 1];
}

/** True when id `i` ranks at or before the cut-off id `c`. */
export function keptBy(logits: Float32Array, i: number, c: number): boolean {
  return i === c || ranksBefore(logits[i], i, logits[c], c);
}
