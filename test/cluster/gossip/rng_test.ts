import assert from "node:assert/strict";
import { randomInt, seededRng, shuffle } from "../../../cluster/gossip/rng.ts";

Deno.test("a seeded generator replays exactly and different seeds differ", () => {
  const a = seededRng(42), b = seededRng(42), c = seededRng(43);
  const xs = Array.from({ length: 100 }, () => a.next());
  assert.deepEqual(xs, Array.from({ length: 100 }, () => b.next()));
  assert.notDeepEqual(xs, Array.from({ length: 100 }, () => c.next()));
});

Deno.test("generated floats are uniform in [0, 1)", () => {
  const r = seededRng(7);
  const buckets = new Array(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    buckets[Math.floor(x * 10)]++;
  }
  for (const n of buckets) assert.ok(Math.abs(n - 10_000) < 500, `bucket ${n}`);
});

Deno.test("randomInt stays in range and handles empty ranges", () => {
  const r = seededRng(1);
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) seen.add(randomInt(r, 5));
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4]);
  assert.equal(randomInt(r, 0), 0);
  assert.equal(randomInt(r, -3), 0);
});

Deno.test("shuffle permutes without losing or duplicating items", () => {
  const r = seededRng(3);
  const items = Array.from({ length: 50 }, (_, i) => i);
  shuffle(r, items);
  assert.notDeepEqual(items, Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual([...items].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
});
