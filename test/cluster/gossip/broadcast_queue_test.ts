import assert from "node:assert/strict";
import { BroadcastQueue } from "../../../cluster/gossip/broadcast_queue.ts";

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

Deno.test("broadcasts are handed out fewest-transmits first, then largest, then newest", () => {
  const q = new BroadcastQueue({ retransmitMult: 3, numNodes: () => 10 });
  // [key, size, initial transmits]
  const items: [string, number, number][] = [["a", 10, 0], ["b", 30, 0], ["c", 10, 1], ["d", 10, 0], [
    "e",
    50,
    2,
  ]];
  for (const [k, size, tx] of items) q.queueWithTransmits(k, bytes(size), tx);
  assert.deepEqual(q.orderedView().map((e) => e.key), ["b", "d", "a", "c", "e"]);
});

Deno.test("a newer broadcast about the same member replaces the older one", () => {
  const finished: string[] = [];
  const q = new BroadcastQueue({ retransmitMult: 3, numNodes: () => 10 });
  q.queue("node-a", bytes(5, 1), () => finished.push("old"));
  q.queue("node-b", bytes(5, 2));
  q.queue("node-a", bytes(7, 3), () => finished.push("new"));
  assert.equal(q.length, 2);
  assert.deepEqual(finished, ["old"]);
  const got = q.getBroadcasts(2, 1000);
  assert.deepEqual(got.map((b) => b[0]), [3, 2]);
});

Deno.test("getBroadcasts packs only what fits the byte budget, overhead included", () => {
  const q = new BroadcastQueue({ retransmitMult: 3, numNodes: () => 10 });
  q.queue("a", bytes(60));
  q.queue("b", bytes(30));
  q.queue("c", bytes(25));
  // budget 100, overhead 2: 60+2 fits, then 30+2 fits (94), 25+2 does not (121).
  const got = q.getBroadcasts(2, 100);
  assert.deepEqual(got.map((b) => b.length), [60, 30]);
  // The untransmitted one now comes first.
  assert.deepEqual(q.getBroadcasts(2, 30).map((b) => b.length), [25]);
  assert.deepEqual(q.getBroadcasts(2, 1).length, 0, "no room at all");
});

Deno.test("a broadcast is retired after retransmitMult*ceil(log10(N+1)) transmissions", () => {
  const table: [number, number, number][] = [[3, 10, 6], [4, 50, 8], [2, 5, 2], [1, 1000, 4]];
  for (const [mult, n, limit] of table) {
    let done = 0;
    const q = new BroadcastQueue({ retransmitMult: mult, numNodes: () => n });
    q.queue("x", bytes(10), () => done++);
    let sent = 0;
    while (q.getBroadcasts(2, 1000).length > 0) sent++;
    assert.equal(sent, limit, `mult=${mult} n=${n}`);
    assert.equal(done, 1);
    assert.equal(q.length, 0);
  }
});

Deno.test("prune keeps the freshest broadcasts and finishes the rest", () => {
  let finished = 0;
  const q = new BroadcastQueue({ retransmitMult: 3, numNodes: () => 10, maxQueued: 3 });
  for (let i = 0; i < 5; i++) q.queueWithTransmits(`k${i}`, bytes(10), 5 - i, () => finished++);
  assert.equal(q.length, 3);
  assert.equal(finished, 2);
  assert.deepEqual(q.orderedView().map((e) => e.key), ["k4", "k3", "k2"]);
  q.reset();
  assert.equal(q.length, 0);
  assert.equal(finished, 5);
});
