import assert from "node:assert/strict";
import {
  ClientQueueFullError,
  FairQueue,
  type FairQueueLimits,
  MAX_CLIENT_HISTORY,
} from "../../src/engine/fair_queue.ts";
import { QueueFullError } from "../../src/engine/scheduler_errors.ts";

const ROOMY: FairQueueLimits = { total: 1000, perClient: 1000 };

/** "a:1" pushes item "a1" for client a; "-" shifts one item; "x:a2" removes item a2. */
function run(script: string): string[] {
  const q = new FairQueue<string>();
  const out: string[] = [];
  for (const op of script.split(/\s+/).filter((s) => s !== "")) {
    if (op === "-") out.push(q.shift() ?? "∅");
    else if (op.startsWith("x:")) assert.ok(q.remove(op.slice(2)), `${op} was queued`);
    else {
      const [client, n] = op.split(":");
      q.push(client, client + n, ROOMY);
    }
  }
  return out;
}

const orderCases: { name: string; script: string; shifted: string[] }[] = [
  { name: "empty queue shifts nothing", script: "-", shifted: ["∅"] },
  {
    name: "a single client is served in FIFO order",
    script: "a:1 a:2 a:3 a:4 - - - -",
    shifted: ["a1", "a2", "a3", "a4"],
  },
  {
    name: "two waiting clients alternate, each in its own FIFO order",
    script: "a:1 a:2 a:3 b:1 b:2 b:3 - - - - - -",
    shifted: ["a1", "b1", "a2", "b2", "a3", "b3"],
  },
  {
    name: "a client arriving after a burst is served second, not behind the burst",
    script: "a:1 a:2 a:3 a:4 a:5 a:6 b:1 - - - - - - -",
    shifted: ["a1", "b1", "a2", "a3", "a4", "a5", "a6"],
  },
  {
    name: "a client arriving mid-burst goes next, ahead of the burst's remaining items",
    script: "a:1 a:2 a:3 a:4 - - b:1 - - -",
    shifted: ["a1", "a2", "b1", "a3", "a4"],
  },
  {
    name: "three clients take turns round-robin",
    script: "a:1 a:2 b:1 b:2 c:1 c:2 - - - - - -",
    shifted: ["a1", "b1", "c1", "a2", "b2", "c2"],
  },
  {
    name: "a client that resubmits one at a time keeps its round-robin place, not more",
    // c is served, then resubmits while a and b have bursts: it waits for a and b to have a turn each
    script: "c:1 a:1 a:2 a:3 b:1 b:2 b:3 - c:2 - - - - - - -",
    shifted: ["c1", "a1", "b1", "c2", "a2", "b2", "a3", "b3"],
  },
  {
    name: "clients never served go in order of their oldest waiting item",
    script: "b:1 a:1 c:1 - - -",
    shifted: ["b1", "a1", "c1"],
  },
  {
    name: "a removed item leaves its client's order intact",
    script: "a:1 a:2 a:3 b:1 x:a2 - - - -",
    shifted: ["a1", "b1", "a3", "∅"],
  },
  {
    name: "a client whose only item was removed no longer takes a turn",
    script: "a:1 a:2 b:1 x:b1 - - -",
    shifted: ["a1", "a2", "∅"],
  },
];

for (const c of orderCases) {
  Deno.test(`fair queue: ${c.name}`, () => {
    assert.deepEqual(run(c.script), c.shifted);
  });
}

const boundCases: {
  name: string;
  pushes: string[];
  limits: FairQueueLimits;
  refused: typeof QueueFullError | typeof ClientQueueFullError;
  client: string;
}[] = [
  {
    name: "the total bound refuses any client once that many wait",
    pushes: ["a", "b", "c"],
    limits: { total: 3, perClient: 3 },
    refused: QueueFullError,
    client: "d",
  },
  {
    name: "the per-client bound refuses only the client at its bound",
    pushes: ["a", "a", "b"],
    limits: { total: 10, perClient: 2 },
    refused: ClientQueueFullError,
    client: "a",
  },
];

for (const c of boundCases) {
  Deno.test(`fair queue: ${c.name}`, () => {
    const q = new FairQueue<number>();
    c.pushes.forEach((client, i) => q.push(client, i, c.limits));
    assert.equal(q.size, c.pushes.length);
    assert.throws(() => q.push(c.client, 99, c.limits), c.refused);
    assert.equal(q.size, c.pushes.length, "a refused push leaves the queue unchanged");
    if (c.refused === ClientQueueFullError) q.push("other", 100, c.limits); // others still get in
    q.shift();
    q.push(c.client, 101, c.limits); // room again once one left
  });
}

Deno.test("fair queue: a per-client refusal is a QueueFullError, so the API answers 429", () => {
  const q = new FairQueue<number>();
  q.push("a", 1, { total: 5, perClient: 1 });
  assert.throws(() => q.push("a", 2, { total: 5, perClient: 1 }), QueueFullError);
  assert.equal(q.queuedFor("a"), 1);
  assert.equal(q.queuedFor("b"), 0);
});

Deno.test("fair queue: values lists every waiting item and size follows push, shift and remove", () => {
  const q = new FairQueue<string>();
  for (const [client, item] of [["a", "a1"], ["b", "b1"], ["a", "a2"]]) q.push(client, item, ROOMY);
  assert.deepEqual(q.values().sort(), ["a1", "a2", "b1"]);
  assert.equal(q.remove("nope"), false);
  q.remove("b1");
  q.shift();
  assert.equal(q.size, 1);
  assert.deepEqual(q.values(), ["a2"]);
});

Deno.test("fair queue: served-client history stays bounded while fairness holds for waiting clients", () => {
  const q = new FairQueue<string>();
  // a burst client stays waiting throughout; thousands of one-shot clients come and go
  for (let i = 0; i < 5; i++) q.push("burst", `burst${i}`, ROOMY);
  assert.equal(q.shift(), "burst0");
  for (let i = 0; i < MAX_CLIENT_HISTORY * 3; i++) {
    q.push(`one-shot-${i}`, `x${i}`, ROOMY);
    assert.equal(q.shift(), `x${i}`, "a never-served client goes before the served burst");
  }
  const history = (q as unknown as { lastServed: Map<string, number> }).lastServed;
  assert.ok(history.size <= MAX_CLIENT_HISTORY + 1, `history holds ${history.size} clients`);
  assert.equal(q.shift(), "burst1");
});
