/**
 * Selection helpers for the sampler that avoid sorting the whole vocabulary.
 *
 * Candidates are ordered by logit, highest first, and by id, lowest first, among equal logits — a total
 * order, so every selection is deterministic.
 */

/** True when candidate (la, a) ranks before (lb, b). */
export function ranksBefore(la: number, a: number, lb: number, b: number): boolean {
  return la > lb || (la === lb && a < b);
}

/**
 * Ids of the `k` best candidates among `ids` (all ids `0..logits.length-1` when omitted), best first.
 * O(n log k) with a size-k min-heap whose root is the worst kept candidate.
 *
 * @example
 * ```ts
 * topKIds(Float32Array.of(0.1, 3, 2, 3), 2); // Int32Array [1, 3]
 * ```
 */
export function topKIds(logits: Float32Array, k: number, ids?: Int32Array): Int32Array {
  const n = ids ? ids.length : logits.length;
  const size = Math.min(k, n);
  const heap = new Int32Array(size);
  let count = 0;
  // heap order: the root is the candidate that ranks last
  const worse = (a: number, b: number) => ranksBefore(logits[b], b, logits[a], a);
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < count && worse(heap[l], heap[w])) w = l;
      if (r < count && worse(heap[r], heap[w])) w = r;
      if (w === i) return;
      const t = heap[i];
      heap[i] = heap[w];
      heap[w] = t;
      i = w;
    }
  };
  for (let j = 0; j < n; j++) {
    const id = ids ? ids[j] : j;
    if (count < size) {
      heap[count] = id;
      let i = count++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(heap[i], heap[p])) break;
        const t = heap[i];
        heap[i] = heap[p];
        heap[p] = t;
        i = p;
      }
    } else if (size > 0 && ranksBefore(logits[id], id, logits[heap[0]], heap[0])) {
      heap[0] = id;
      siftDown(0);
    }
  }
  return sortByRank(logits, heap);
}

/** Sorts ids in place, best first. */
export function sortByRank(logits: Float32Array, ids: Int32Array): Int32Array {
  return ids.sort((a, b) => (logits[a] > logits[b] ? -1 : logits[a] < logits[b] ? 1 : a - b));
}
