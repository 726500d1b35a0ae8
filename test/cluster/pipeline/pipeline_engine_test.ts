/**
 * The entry engine driving real stage servers over loopback TCP, all in this process: greedy output
 * identical to one node, continuous batching across sequences, seeded sampling, failover by replay,
 * and typed errors instead of hangs when no route can serve.
 */
import assert from "node:assert/strict";
import {
  NoPipelineError,
  PipelineConnection,
  type PipelineRoute,
  PipelineSequenceError,
  WireDtype,
} from "../../../cluster/pipeline/mod.ts";
import { createReferenceBackend } from "../../../src/backend/reference/reference_backend.ts";
import { loadModel } from "../../../src/engine/loaded_model.ts";
import { generate } from "../../../src/engine/generate.ts";
import { defaultSamplingParams } from "../../../src/engine/sampler.ts";
import { QueueFullError } from "../../../src/engine/scheduler_errors.ts";
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
const reference = JSON.parse(await Deno.readTextFile("../shared/reference/stories260K.json")) as {
  prompt_ids: number[];
  generated_ids: number[];
};

const engineFor = entryEngine;

Deno.test("greedy output of a 3-stage synthetic pipeline with f32 on the wire equals one node's", async () => {
  const model = await syntheticModel();
  const keyring = await testKeyring();
  const servers = await startStages(model, split([0, 2, 4, 6]), { keyring });
  const engine = await engineFor(model, () => routeOf(servers), { wireDtype: WireDtype.F32 });
  try {
    const prompt = [1, 403, 407, 261, 378, 11, 12];
    const expected = await singleNodeGreedy(model, prompt, 24);
    const got = await tokensOf(engine.submit({ prompt, maxTokens: 24, sampling: GREEDY }));
    assert.deepEqual(got, expected);
    assert.ok(got.length >= 8, `only ${got.length} tokens: the comparison would be weak`);
  } finally {
    await engine.close();
    for (const s of servers) await s.close();
  }
});

Deno.test("stories260K through 3 stages with the default f16 wire writes llama.cpp's greedy continuation", async () => {
  const keyring = await testKeyring();
  const servers = await startStages(STORIES, split([0, 2, 4, 5]), { keyring });
  const engine = await engineFor(STORIES, () => routeOf(servers));
  try {
    const stream = engine.submit({ prompt: reference.prompt_ids, maxTokens: 32, sampling: GREEDY });
    assert.deepEqual(await tokensOf(stream), reference.generated_ids);
    assert.equal((await stream.done).finishReason, "length");
  } finally {
    await engine.close();
    for (const s of servers) await s.close();
  }
});

Deno.test("concurrent sequences share stage steps and each gets its solo output", async () => {
  const keyring = await testKeyring();
  const servers = await startStages(STORIES, split([0, 2, 4, 5]), { keyring });
  const engine = await engineFor(STORIES, () => routeOf(servers), { wireDtype: WireDtype.F32 });
  try {
    const prompts = [[1, 403, 407], [1, 403, 407, 261, 378], [1, 261], [1, 378, 403, 407, 261, 9, 10, 11]];
    const solo = [];
    for (const p of prompts) solo.push(await singleNodeGreedy(STORIES, p, 16));
    const streams = prompts.map((prompt) => engine.submit({ prompt, maxTokens: 16, sampling: GREEDY }));
    const got = await Promise.all(streams.map(tokensOf));
    assert.deepEqual(got, solo);
    // batching happened: some steps ran rows of several sequences
    for (const s of servers) {
      const st = s.stats();
      assert.ok(st.rows > st.steps, `stage ${s.range.start}: ${st.rows} rows in ${st.steps} steps`);
    }
  } finally {
    await engine.close();
    for (const s of servers) await s.close();
  }
});

Deno.test("seeded sampling through the pipeline (f32 wire) draws the same tokens as one node", async () => {
  const keyring = await testKeyring();
  const servers = await startStages(STORIES, split([0, 3, 5]), { keyring });
  const engine = await engineFor(STORIES, () => routeOf(servers), { wireDtype: WireDtype.F32 });
  const model = await loadModel(STORIES, createReferenceBackend(), { ctx: 256 });
  try {
    const sampling = { ...defaultSamplingParams(), temperature: 0.9, seed: 4242, repetitionPenalty: 1.1 };
    const expected: number[] = [];
    for await (const piece of generate(model, reference.prompt_ids, { maxTokens: 24, sampling })) {
      expected.push(piece.token);
    }
    const got = await tokensOf(engine.submit({ prompt: reference.prompt_ids, maxTokens: 24, sampling }));
    assert.deepEqual(got, expected);
  } finally {
    model.close();
    await engine.close();
    for (const s of servers) await s.close();
  }
});

Deno.test("when the middle stage dies mid-stream the sequence is replayed on a 2-stage route with no repeated or missing tokens", async () => {
  const keyring = await testKeyring();
  const three = await startStages(STORIES, split([0, 2, 4, 5]), { keyring });
  const two = await startStages(STORIES, split([0, 3, 5]), { keyring });
  const threeRoute = routeOf(three, 1, ["a", "b", "c"]);
  const twoRoute = routeOf(two, 1, ["a", "c"]);
  const engine = await engineFor(STORIES, ({ avoid }) => (avoid.has("b") ? twoRoute : threeRoute), {
    wireDtype: WireDtype.F32,
  });
  try {
    // seeded, not greedy: the replay must also continue the sampler's random stream exactly
    const sampling = { ...defaultSamplingParams(), temperature: 0.8, seed: 99 };
    const baseline = await tokensOf(engine.submit({ prompt: reference.prompt_ids, maxTokens: 40, sampling }));
    const stream = engine.submit({ prompt: reference.prompt_ids, maxTokens: 40, sampling });
    const got: number[] = [];
    for await (const piece of stream) {
      got.push(piece.token);
      if (got.length === 10) await three[1].close(); // the middle stage goes away
    }
    assert.deepEqual(got, baseline);
    assert.equal(engine.stats().failovers, 1);
    assert.ok(engine.stats().lastResumeMs !== undefined);
  } finally {
    await engine.close();
    for (const s of [...three, ...two]) await s.close();
  }
});

Deno.test("a request no route can serve fails at submit with NoPipelineError", async () => {
  const engine = await engineFor(STORIES, () => undefined);
  try {
    assert.throws(() => engine.submit({ prompt: [1, 2], maxTokens: 4, sampling: GREEDY }), NoPipelineError);
  } finally {
    await engine.close();
  }
});

Deno.test("a route that breaks with no replacement ends the stream with NoPipelineError within the wait", async () => {
  const keyring = await testKeyring();
  const servers = await startStages(STORIES, split([0, 5]), { keyring });
  const route = routeOf(servers);
  const engine = await engineFor(STORIES, ({ avoid }) => (avoid.size > 0 ? undefined : route), {
    failoverWaitMs: 200,
  });
  try {
    const stream = engine.submit({ prompt: reference.prompt_ids, maxTokens: 200, sampling: GREEDY });
    const started = Date.now();
    // the stage goes away at once: with the last stage feeding tokens to the first, a 1-stage stream of
    // a tiny model can finish before a consumer that waited for some tokens has closed it
    await servers[0].close();
    await assert.rejects(async () => {
      for await (const _ of stream) { /* nothing arrives */ }
    }, NoPipelineError);
    assert.ok(Date.now() - started < 5_000);
    assert.equal((await stream.done).finishReason, "error");
  } finally {
    await engine.close();
    for (const s of servers) await s.close();
  }
});

Deno.test("a stage that stops answering is caught by the stall timeout and the sequence fails with a typed error", async () => {
  // a peer that completes the authenticated handshake and then ignores every frame
  const keyring = await testKeyring();
  const mute = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: PipelineConnection[] = [];
  const accepting = (async () => {
    for await (const tcp of mute) {
      const conn = await PipelineConnection.accept(tcp, { nodeId: "mute", keyring });
      conn.start({ frame: () => {} });
      held.push(conn);
    }
  })();
  const route: PipelineRoute = {
    epoch: 1,
    stages: [{
      nodeId: "mute",
      address: `127.0.0.1:${mute.addr.port}`,
      start: 0,
      end: 5,
      embedding: true,
      head: true,
    }],
  };
  const engine = await engineFor(STORIES, () => route, { stallTimeoutMs: 300, maxFailovers: 1 });
  try {
    const started = Date.now();
    const stream = engine.submit({ prompt: [1, 2, 3], maxTokens: 4, sampling: GREEDY });
    await assert.rejects(
      tokensOf(stream),
      (e) => e instanceof PipelineSequenceError && e.kind === "failover-limit",
    );
    assert.ok(Date.now() - started < 3_000, "fails after two stall timeouts, not later");
  } finally {
    await engine.close();
    mute.close();
    await accepting;
    for (const c of held) c.close();
  }
});

Deno.test("a plan epoch retired mid-stream moves the sequence to the next plan's route", async () => {
  const keyring = await testKeyring();
  const servers = await startStages(STORIES, split([0, 2, 5]), { keyring });
  let epoch = 1;
  const engine = await engineFor(STORIES, () => routeOf(servers, epoch), { wireDtype: WireDtype.F32 });
  try {
    const expected = reference.generated_ids.slice(0, 24);
    const got: number[] = [];
    for await (
      const piece of engine.submit({ prompt: reference.prompt_ids, maxTokens: 24, sampling: GREEDY })
    ) {
      got.push(piece.token);
      if (got.length === 6) {
        epoch = 2;
        for (const s of servers) s.acceptEpoch(2);
        for (const s of servers) s.retireEpoch(1);
      }
    }
    assert.deepEqual(got, expected);
    assert.equal(engine.stats().failovers, 1);
    assert.ok(await until(() => servers.every((s) => s.stats().sequences === 0), 2_000));
  } finally {
    await engine.close();
    for (const s of servers) await s.close();
  }
});

Deno.test("a node reported dead by gossip is left at once and the stream continues on a route without it", async () => {
  const keyring = await testKeyring();
  const three = await startStages(STORIES, split([0, 2, 4, 5]), { keyring });
  const two = await startStages(STORIES, split([0, 3, 5]), { keyring });
  const engine = await engineFor(
    STORIES,
    ({ avoid }) => (avoid.has("b") ? routeOf(two, 1, ["a", "c"]) : routeOf(three, 1, ["a", "b", "c"])),
    { wireDtype: WireDtype.F32 },
  );
  try {
    const got: number[] = [];
    for await (
      const piece of engine.submit({ prompt: reference.prompt_ids, maxTokens: 32, sampling: GREEDY })
    ) {
      got.push(piece.token);
      if (got.length === 7) engine.reportDead("b"); // b itself is still up: only the report moves the stream
    }
    assert.deepEqual(got, reference.generated_ids);
    assert.equal(engine.stats().failovers, 1);
    assert.equal(three[1].stats().sequences, 0, "the abandoned stage was told to free the sequence");
  } finally {
    await engine.close();
    for (const s of [...three, ...two]) await s.close();
  }
});

Deno.test("requests beyond maxActive wait in a bounded queue and a full queue is refused with QueueFullError", async () => {
  const keyring = await testKeyring();
  const servers = await startStages(STORIES, split([0, 5]), { keyring });
  const engine = await engineFor(STORIES, () => routeOf(servers), { maxActive: 1, queueSize: 1 });
  try {
    const a = engine.submit({ prompt: reference.prompt_ids, maxTokens: 8, sampling: GREEDY });
    const b = engine.submit({ prompt: reference.prompt_ids, maxTokens: 8, sampling: GREEDY });
    assert.equal(engine.stats().queued, 1);
    assert.throws(() => engine.submit({ prompt: [1], maxTokens: 8, sampling: GREEDY }), QueueFullError);
    const [ta, tb] = await Promise.all([tokensOf(a), tokensOf(b)]);
    assert.deepEqual(ta, reference.generated_ids.slice(0, 8));
    assert.deepEqual(tb, ta);
    assert.ok((await b.done).queuedMs >= 0);
  } finally {
    await engine.close();
    for (const s of servers) await s.close();
  }
});
