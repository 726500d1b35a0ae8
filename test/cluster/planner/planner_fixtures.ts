/**
 * Shared helpers of the planner tests: scenario builders, fast-check arbitraries, a structural checker
 * and a brute-force optimiser written independently of the planner (it re-derives the documented cost
 * model and enumerates every subset, order and split).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { ModelCost, Plan, PlannerInput, PlannerMember } from "../../../cluster/planner/mod.ts";

export const GB = 1e9, MB = 1e6;

/** A model of `layers` equal blocks of `layerMb` MB, with an embedding (and untied head) of `tableMb` MB. */
export function uniformModel(layers: number, layerMb: number, tableMb: number, tied = false): ModelCost {
  return {
    layers,
    layerBytes: new Array(layers).fill(layerMb * MB),
    layerFlops: new Array(layers).fill(2 * layerMb * MB),
    embeddingBytes: tableMb * MB,
    headBytes: tied ? 0 : tableMb * MB,
    outputNormBytes: 8192,
    headFlops: 2 * tableMb * MB,
    tiedEmbeddings: tied,
    dim: 2048,
  };
}

/** A member with throughput in GB/s and memory in GB. */
export function node(id: string, gbPerSec: number, memoryGb: number, load = 0): PlannerMember {
  return {
    id,
    backend: gbPerSec >= 50 ? "webgpu" : "wasm",
    memoryBytes: memoryGb * GB,
    bytesPerSec: gbPerSec * GB,
    load,
  };
}

/** Layers each member runs in the plan (0 when left out). */
export function layersOf(plan: Plan, id: string): number {
  let n = 0;
  for (const r of plan.replicas) for (const s of r.stages) if (s.nodeId === id) n += s.end - s.start;
  return n;
}

/** Options under which the brute force and the planner optimise the same thing. */
export const NO_GUARD = { maxLatencyStretch: Infinity } as const;

const modelArb = fc.record({
  layers: fc.integer({ min: 1, max: 12 }),
  tied: fc.boolean(),
  tableMb: fc.integer({ min: 0, max: 200 }),
  dim: fc.integer({ min: 64, max: 4096 }),
}).chain(({ layers, tied, tableMb, dim }) =>
  fc.array(fc.integer({ min: 1, max: 100 }), { minLength: layers, maxLength: layers }).map((
    mbs,
  ): ModelCost => ({
    layers,
    layerBytes: mbs.map((m) => m * MB),
    layerFlops: mbs.map((m) => 2 * m * MB),
    embeddingBytes: tableMb * MB,
    headBytes: tied ? 0 : tableMb * MB,
    outputNormBytes: dim * 4,
    headFlops: 2 * tableMb * MB,
    tiedEmbeddings: tied,
    dim,
  }))
);

/** A random small cluster view: 1–`maxNodes` members, 1–12 layers, random RTTs (some unmeasured). */
export function clusterArb(maxNodes = 4, maxLoad = 0.9): fc.Arbitrary<PlannerInput> {
  return modelArb.chain((model) => {
    const total = model.layerBytes.reduce((a, b) => a + b, 0) + model.embeddingBytes + model.headBytes;
    const member = fc.record({
      gbPerSec: fc.double({ min: 1, max: 100, noNaN: true }),
      memoryShare: fc.double({ min: 0.1, max: 2, noNaN: true }),
      load: fc.double({ min: 0, max: maxLoad, noNaN: true }),
      withFlops: fc.boolean(),
      link: fc.constantFrom(undefined, 12.5e6, 1.25e9),
    });
    return fc.tuple(
      fc.uniqueArray(fc.constantFrom("a", "b", "c", "d", "e", "f", "g", "h"), {
        minLength: 1,
        maxLength: maxNodes,
      }),
      fc.array(member, { minLength: 8, maxLength: 8 }),
      fc.array(fc.option(fc.double({ min: 0, max: 5, noNaN: true }), { nil: undefined }), {
        minLength: 64,
        maxLength: 64,
      }),
    ).map(([ids, specs, rtts]): PlannerInput => {
      const members = ids.map((id, i): PlannerMember => ({
        id,
        backend: "wasm",
        memoryBytes: Math.round(specs[i].memoryShare * total),
        bytesPerSec: specs[i].gbPerSec * GB,
        flopsPerSec: specs[i].withFlops ? specs[i].gbPerSec * 1.5 * GB : undefined,
        load: specs[i].load,
        linkBytesPerSec: specs[i].link,
      }));
      const rttMs: Record<string, Record<string, number>> = {};
      ids.forEach((a, i) =>
        ids.forEach((b, j) => {
          const v = rtts[i * 8 + j];
          if (i !== j && v !== undefined) (rttMs[a] ??= {})[b] = v;
        })
      );
      return { epoch: 1, members, model, rttMs };
    });
  });
}

/** Asserts the invariants every plan keeps: coverage, order, memory, one role per node, decisions. */
export function assertWellFormed(plan: Plan, input: PlannerInput): void {
  const L = input.model.layers, m = input.model;
  const byId = new Map(input.members.map((x) => [x.id, x]));
  const seen = new Set<string>();
  for (const r of plan.replicas) {
    assert.ok(r.stages.length >= 1);
    assert.equal(r.stages[0].start, 0, "the first stage starts at layer 0");
    assert.equal(r.stages[r.stages.length - 1].end, L, "the last stage ends at the last layer");
    r.stages.forEach((s, i) => {
      assert.ok(s.end > s.start, "every stage holds at least one layer");
      if (i > 0) assert.equal(s.start, r.stages[i - 1].end, "ranges are contiguous and in order");
      assert.equal(s.embedding, i === 0);
      assert.equal(s.head, i === r.stages.length - 1);
      assert.ok(!seen.has(s.nodeId), `node ${s.nodeId} has one stage in the whole plan`);
      seen.add(s.nodeId);
      let bytes = m.layerBytes.slice(s.start, s.end).reduce((a, b) => a + b, 0);
      if (s.embedding) bytes += m.embeddingBytes;
      if (s.head) {
        bytes += m.outputNormBytes + (m.tiedEmbeddings ? (s.embedding ? 0 : m.embeddingBytes) : m.headBytes);
      }
      assert.equal(s.weightBytes, bytes);
      assert.ok(bytes <= byId.get(s.nodeId)!.memoryBytes, `stage on ${s.nodeId} fits its memory`);
    });
  }
  assert.deepEqual(plan.decisions.map((d) => d.nodeId), [...byId.keys()].sort());
  for (const d of plan.decisions) assert.equal(d.included, seen.has(d.nodeId), d.detail);
}

// ---- brute force: the documented cost model, re-derived, and every subset × order × split ----

function memory(m: ModelCost, i: number, j: number, first: boolean, last: boolean): number {
  let b = 0;
  for (let l = i; l < j; l++) b += m.layerBytes[l];
  if (first) b += m.embeddingBytes;
  if (last) b += m.outputNormBytes + (m.tiedEmbeddings ? (first ? 0 : m.embeddingBytes) : m.headBytes);
  return b;
}

function stageMs(
  x: PlannerMember,
  m: ModelCost,
  i: number,
  j: number,
  first: boolean,
  last: boolean,
): number {
  if (memory(m, i, j, first, last) > x.memoryBytes) return Infinity;
  let bytes = 0, flops = 0;
  for (let l = i; l < j; l++) bytes += m.layerBytes[l], flops += m.layerFlops[l];
  if (last) {
    bytes += m.outputNormBytes + (m.tiedEmbeddings ? m.embeddingBytes : m.headBytes), flops += m.headFlops;
  }
  const free = 1 - x.load;
  return Math.max(
    (bytes * 1000) / (x.bytesPerSec * free),
    (flops * 1000) / ((x.flopsPerSec ?? Infinity) * free),
  );
}

/** The planner defaults the brute force assumes: f16 on the wire, 1 ms unmeasured RTT, 1 Gbit/s links. */
export interface BruteOptions {
  readonly hopOverheadMs: number;
}
const BRUTE_DEFAULTS: BruteOptions = { hopOverheadMs: 0.05 };

function wireMs(
  input: PlannerInput,
  a: PlannerMember,
  b: PlannerMember,
  bytes: number,
  o: BruteOptions,
): number {
  const ab = input.rttMs?.[a.id]?.[b.id], ba = input.rttMs?.[b.id]?.[a.id];
  const rtt = ab !== undefined && ba !== undefined ? Math.max(ab, ba) : ab ?? ba ?? 1; // default 1 ms
  const link = Math.min(a.linkBytesPerSec ?? 125e6, b.linkBytesPerSec ?? 125e6);
  return rtt / 2 + (bytes / link) * 1000 + o.hopOverheadMs;
}

function* permutations<T>(xs: T[]): Generator<T[]> {
  if (xs.length <= 1) return yield xs;
  for (let i = 0; i < xs.length; i++) {
    for (const rest of permutations([...xs.slice(0, i), ...xs.slice(i + 1)])) yield [xs[i], ...rest];
  }
}

/** Cut points 0 < c1 < … < c(k−1) < L, as full cut arrays [0, …, L]. */
function* compositions(L: number, k: number, from = 0): Generator<number[]> {
  if (k === 1) return yield [from, L];
  for (let c = from + 1; c <= L - (k - 1); c++) {
    for (const rest of compositions(L, k - 1, c)) yield [from, ...rest];
  }
}

/** Lowest cost (bottleneck + hops) of one replica on exactly the members in `ms`, any order and split. */
export function bruteReplicaCost(
  input: PlannerInput,
  ms: PlannerMember[],
  o: BruteOptions = BRUTE_DEFAULTS,
): number {
  const m = input.model;
  let best = Infinity;
  if (ms.length > m.layers) return best;
  for (const order of permutations(ms)) {
    let hops = 0;
    for (let s = 0; s + 1 < order.length; s++) {
      hops += wireMs(input, order[s], order[s + 1], m.dim * 2 + 19, o);
    }
    if (order.length > 1) hops += wireMs(input, order[order.length - 1], order[0], 32, o);
    for (const cuts of compositions(m.layers, order.length)) {
      let b = 0;
      for (let s = 0; s < order.length; s++) {
        b = Math.max(b, stageMs(order[s], m, cuts[s], cuts[s + 1], s === 0, s === order.length - 1));
      }
      best = Math.min(best, b + hops);
    }
  }
  return best;
}

/** Best Σ 1000 / cost over disjoint replicas (no latency guard), and the best single replica's cost. */
export function bruteForce(
  input: PlannerInput,
  o: BruteOptions = BRUTE_DEFAULTS,
): { tokensPerSec: number; bestReplicaCost: number } {
  const ms = input.members.filter((x) => x.load < 0.95);
  const n = ms.length;
  const cost = new Array<number>(1 << n).fill(Infinity);
  for (let mask = 1; mask < 1 << n; mask++) {
    cost[mask] = bruteReplicaCost(
      input,
      ms.filter((_, i) => mask & (1 << i)),
      o,
    );
  }
  const rate = new Map<number, number>();
  const best = (mask: number): number => {
    if (mask === 0) return 0;
    if (rate.has(mask)) return rate.get(mask)!;
    const low = mask & -mask;
    let v = best(mask ^ low);
    for (let sub = mask; sub; sub = (sub - 1) & mask) {
      if (sub & low && cost[sub] < Infinity) v = Math.max(v, 1000 / cost[sub] + best(mask ^ sub));
    }
    rate.set(mask, v);
    return v;
  };
  return { tokensPerSec: best((1 << n) - 1), bestReplicaCost: Math.min(...cost) };
}
