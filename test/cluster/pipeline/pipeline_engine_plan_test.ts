/**
 * The entry engine across plan changes and under load, with real stage servers over loopback TCP in
 * this process: sequences running when a new plan moves the layers finish on the old plan (no replay),
 * new requests take the new plan, waiting requests are admitted fairly across clients, and the engine
 * reports its live load per node for routing.
 */
import assert from "node:assert/strict";
import {
  CancelReason,
  DRAIN_POLL_MS,
  FrameType,
  type OpenFrame,
  PipelineConnection,
  type PipelineEngine,
  type PipelineRoute,
  routeFromReplica,
  WireDtype,
} from "../../../cluster/pipeline/mod.ts";
import {
  modelCostFromTensors,
  planCluster,
  routeRequest,
  totalModelBytes,
} from "../../../cluster/planner/mod.ts";
import { openGguf } from "../../../src/gguf/mod.ts";
import { modelConfigFromGguf } from "../../../src/model/model_config.ts";
import { ClientQueueFullError } from "../../../src/engine/fair_queue.ts";
import { defaultSamplingParams } from "../../../src/engine/sampler.ts";
import {
  entryEngine,
  routeOf,
  singleNodeGreedy,
  split,
  startStages,
  STORIES,
  syntheticModel,
  testKeyring,
  tokensOf,
  until,
} from "./support/pipeline_fixtures.ts";

const GREEDY = { ...defaultSamplingParams(), temperature: 0 };

/** Entries here keep full precision on the wire, so greedy texts compare exactly. */
const engineFor = (model: string, resolveRoute: () => PipelineRoute | undefined, extra = {}) =>
  entryEngine(model, resolveRoute, { wireDtype: WireDtype.F32, ...extra });

Deno.test("a sequence running when a new plan moves the layers finishes on the old plan without a replay", async () => {
  const model = await syntheticModel();
  const servers = await startStages(model, split([0, 3, 6]), { keyring: await testKeyring() });
  let route = routeOf(servers, 1);
  const engine = await engineFor(model, () => route);
  try {
    const prompt = [1, 403, 407, 261];
    const expected = await singleNodeGreedy(model, prompt, 200);
    const stream = engine.submit({ prompt, maxTokens: 200, sampling: GREEDY });
    const got: number[] = [];
    let switched = false;
    for await (const piece of stream) {
      got.push(piece.token);
      if (got.length !== 2) continue;
      // epoch 2 moves the split to 4|2 on the same two nodes (and ports)
      const [first, last] = split([0, 4, 6]);
      await Promise.all([servers[0].setRange(first, 2), servers[1].setRange(last, 2)]);
      route = routeOf(servers, 2);
      assert.deepEqual(route.stages.map((s) => [s.start, s.end]), [[0, 4], [4, 6]]);
      // the old ranges still hold the running sequence: the test would prove nothing otherwise
      assert.equal(servers[0].stats().drainingSequences + servers[1].stats().drainingSequences, 2);
      switched = true;
      // a request that starts now runs on the new plan, beside the old one
      const fresh = await tokensOf(engine.submit({ prompt, maxTokens: 12, sampling: GREEDY }));
      assert.deepEqual(fresh, expected.slice(0, 12));
      assert.ok(servers[0].stats().steps > 0 && servers[0].range.end === 4);
    }
    assert.ok(switched);
    assert.deepEqual(got, expected);
    assert.equal(engine.stats().failovers, 0, "the old plan was whole: nothing is replayed");
    // once its sequence ended, the old range is dropped
    assert.ok(
      await until(
        () => servers.every((s) => s.stats().drainingSequences === 0 && s.stats().sequences === 0),
        3_000,
      ),
      JSON.stringify(servers.map((s) => s.stats())),
    );
  } finally {
    await engine.close();
    for (const s of servers) await s.close();
  }
});

Deno.test("a running sequence whose old-plan stage dies is replayed on the new plan", async () => {
  const model = await syntheticModel();
  const keyring = await testKeyring();
  const old = await startStages(model, split([0, 3, 6]), { keyring });
  const next = await startStages(model, split([0, 6]), { keyring, epochs: [2] });
  let route = routeOf(old, 1, ["a", "b"]);
  const engine = await engineFor(model, () => route);
  try {
    const prompt = [1, 261, 378];
    const expected = await singleNodeGreedy(model, prompt, 120);
    const got: number[] = [];
    for await (const piece of engine.submit({ prompt, maxTokens: 120, sampling: GREEDY })) {
      got.push(piece.token);
      if (got.length === 3) {
        route = routeOf(next, 2, ["c"]); // the new plan
        await old[1].close(); // and a stage of the old one dies
      }
    }
    assert.deepEqual(got, expected);
    assert.equal(engine.stats().failovers, 1);
  } finally {
    await engine.close();
    for (const s of [...old, ...next]) await s.close();
  }
});

Deno.test("waiting requests are admitted round-robin across clients, not in arrival order", async () => {
  const servers = await startStages(STORIES, split([0, 5]), { keyring: await testKeyring() });
  const engine = await engineFor(STORIES, () => routeOf(servers), { maxActive: 1 });
  try {
    const order: string[] = [];
    const submit = (name: string, client: string) => {
      const s = engine.submit({ prompt: [1, 403], maxTokens: 6, sampling: GREEDY, client });
      s.done.then(() => order.push(name));
      return tokensOf(s);
    };
    // one active place: a1 runs, then b1 (never served) goes before a's burst
    const all = [submit("a1", "a"), submit("a2", "a"), submit("a3", "a"), submit("b1", "b")];
    assert.equal(engine.stats().queued, 3);
    await Promise.all(all);
    assert.deepEqual(order, ["a1", "b1", "a2", "a3"]);
  } finally {
    await engine.close();
    for (const s of servers) await s.close();
  }
});

Deno.test("one client cannot fill the queue: past clientQueueSize it gets ClientQueueFullError, others still get in", async () => {
  const servers = await startStages(STORIES, split([0, 5]), { keyring: await testKeyring() });
  const engine = await engineFor(STORIES, () => routeOf(servers), {
    maxActive: 1,
    queueSize: 8,
    clientQueueSize: 1,
  });
  try {
    const req = (client: string) => ({ prompt: [1, 403], maxTokens: 4, sampling: GREEDY, client });
    const a1 = engine.submit(req("a"));
    const a2 = engine.submit(req("a"));
    assert.throws(() => engine.submit(req("a")), ClientQueueFullError);
    const b1 = engine.submit(req("b"));
    assert.deepEqual((await Promise.all([a1, a2, b1].map(tokensOf))).map((t) => t.length), [4, 4, 4]);
  } finally {
    await engine.close();
    for (const s of servers) await s.close();
  }
});

Deno.test("load() counts the running sequences per node, for routing the next request", async () => {
  const servers = await startStages(STORIES, split([0, 2, 5]), { keyring: await testKeyring() });
  const engine = await engineFor(STORIES, () => routeOf(servers, 1, ["x", "y"]));
  try {
    assert.equal(engine.load().size, 0);
    const streams = [0, 1].map(() => engine.submit({ prompt: [1, 403], maxTokens: 8, sampling: GREEDY }));
    assert.deepEqual([...engine.load()].sort(), [["x", 2], ["y", 2]]);
    await Promise.all(streams.map(tokensOf));
    assert.equal(engine.load().size, 0);
  } finally {
    await engine.close();
    for (const s of servers) await s.close();
  }
});

Deno.test("an entry routing by expected time to finish spreads concurrent requests over the plan's replicas", async () => {
  const keyring = await testKeyring();
  const [x] = await startStages(STORIES, split([0, 5]), { keyring });
  const [y] = await startStages(STORIES, split([0, 5]), { keyring });
  const file = await openGguf(STORIES);
  const cost = modelCostFromTensors(modelConfigFromGguf(file.header), file.header.tensors);
  file.close();
  const member = (id: string) => ({
    id,
    backend: "reference" as const,
    memoryBytes: 10 * totalModelBytes(cost),
    bytesPerSec: 1e8,
    load: 0,
  });
  const plan = planCluster({ epoch: 1, members: [member("x"), member("y")], model: cost });
  assert.equal(plan.replicas.length, 2, "two nodes that each hold the model are two replicas");
  const addresses = new Map([["x", x.address], ["y", y.address]]);
  // the route callback reads the engine's live load, so it must name the engine being created
  // deno-lint-ignore prefer-const
  let engine: PipelineEngine | undefined;
  engine = await engineFor(STORIES, () => {
    const pick = routeRequest(plan, engine!.load());
    return pick && routeFromReplica(plan.epoch, plan.replicas[pick.replica], (id) => addresses.get(id));
  });
  try {
    const streams = [0, 1, 2, 3].map(() =>
      engine!.submit({ prompt: [1, 403], maxTokens: 8, sampling: GREEDY })
    );
    assert.deepEqual([...engine.load()].sort(), [["x", 2], ["y", 2]]);
    await Promise.all(streams.map(tokensOf));
    assert.ok(x.stats().tokensSampled >= 16 && y.stats().tokensSampled >= 16);
  } finally {
    await engine.close();
    await x.close();
    await y.close();
  }
});

Deno.test("a stage left out of the new plan closes only after the old plan's sequence has finished on it", async () => {
  const model = await syntheticModel();
  const servers = await startStages(model, split([0, 6]), { keyring: await testKeyring() });
  const engine = await engineFor(model, () => routeOf(servers));
  try {
    const prompt = [1, 403, 407, 261];
    const expected = await singleNodeGreedy(model, prompt, 200);
    const got: number[] = [];
    let closing: Promise<boolean> | undefined;
    for await (const piece of engine.submit({ prompt, maxTokens: 200, sampling: GREEDY })) {
      got.push(piece.token);
      if (got.length === 2) {
        closing = servers[0].closeWhenIdle();
        assert.equal(servers[0].isClosed, false, "closed under a running sequence");
      }
    }
    assert.deepEqual(got, expected);
    assert.equal(engine.stats().failovers, 0);
    assert.equal(await closing, true);
    assert.equal(servers[0].isClosed, true);
  } finally {
    await engine.close();
    for (const s of servers) await s.close();
  }
});

Deno.test("a stage waiting to close when idle is taken back by a new epoch and keeps serving", async () => {
  const keyring = await testKeyring();
  const servers = await startStages(STORIES, split([0, 5]), { keyring });
  const [stage] = servers;
  // a raw entry holds a sequence open (OPEN, no rows), so closeWhenIdle must wait
  const holder = await PipelineConnection.connect(stage.address, { nodeId: "holder", keyring });
  holder.start({ frame: () => {} });
  const engine = await engineFor(STORIES, () => routeOf(servers, 2));
  try {
    holder.send({
      type: FrameType.Open,
      seqId: 99,
      planEpoch: 1,
      hop: 0,
      wireDtype: WireDtype.F32,
      route: [{ ...stage.range, address: stage.address }],
      replyTo: "holder",
      sampling: { ...GREEDY, seed: 1, penaltyLastN: 64 } as OpenFrame["sampling"],
      drawsDone: 0,
      history: Int32Array.of(1),
    });
    assert.ok(await until(() => stage.stats().sequences === 1, 2_000));
    const closing = stage.closeWhenIdle();
    await new Promise((r) => setTimeout(r, 2 * DRAIN_POLL_MS));
    assert.equal(stage.isClosed, false, "closed under a running sequence");
    stage.acceptEpoch(2); // the next plan uses the node again
    assert.equal(await closing, false);
    holder.send({ type: FrameType.Cancel, seqId: 99, reason: CancelReason.Client });
    assert.ok(await until(() => stage.stats().sequences === 0, 2_000));
    await new Promise((r) => setTimeout(r, 2 * DRAIN_POLL_MS));
    assert.equal(stage.isClosed, false, "taken back: it stays open when idle");
    assert.equal(
      (await tokensOf(engine.submit({ prompt: [1, 403], maxTokens: 4, sampling: GREEDY }))).length,
      4,
    );
  } finally {
    holder.close();
    await engine.close();
    for (const s of servers) await s.close();
  }
});
