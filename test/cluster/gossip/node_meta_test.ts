import assert from "node:assert/strict";
import { Encoder } from "@msgpack/msgpack";
import { WireDecodeError, WireEncodeError } from "../../../cluster/gossip/errors.ts";
import { encodeMessage } from "../../../cluster/gossip/codec.ts";
import { MessageType, META_MAX_BYTES } from "../../../cluster/gossip/messages.ts";
import {
  decodeCapabilities,
  decodeLoad,
  encodeCapabilities,
  encodeLoad,
  META_LIST_MAX_ENTRIES,
  nameHash,
  type NodeCapabilities,
} from "../../../cluster/gossip/node_meta.ts";
import { SimCluster } from "../../../cluster/gossip/sim/sim_cluster.ts";

const caps: NodeCapabilities = {
  id: "8f14e45f-ceea-467f-a0e6-7c3f2b6b0c11",
  name: "edge-kitchen",
  version: "0.1.0",
  apiAddr: "192.168.1.20:8080",
  pipelineAddr: "192.168.1.20:8081",
  backend: "webgpu",
  device: "Apple M2 (metal-3)",
  memoryBudgetBytes: 12 * 2 ** 30,
  score: 812.5,
  models: ["llama-3.2-1b-instruct-q4_k_m", "stories260K"],
  layers: [{ model: "llama-3.2-1b-instruct-q4_k_m", first: 0, last: 15 }],
};

Deno.test("node capabilities round-trip within the 512-byte metadata budget", () => {
  const bytes = encodeCapabilities(caps);
  assert.ok(bytes.length <= META_MAX_BYTES, `${bytes.length} bytes`);
  assert.deepEqual(decodeCapabilities(bytes), caps);
});

Deno.test("capabilities over 512 bytes are refused at encode time", () => {
  const big = {
    ...caps,
    models: Array.from({ length: 20 }, (_, i) => `a-model-with-a-long-name-number-${i}`),
  };
  assert.throws(() => encodeCapabilities(big), WireEncodeError);
});

Deno.test("the followed plan and measured RTTs ride after the version-1 fields and round-trip", () => {
  const plan = {
    epoch: 0xdead_beef,
    stages: [{ node: nameHash("a"), end: 11 }, { node: nameHash("b"), end: 22 }],
  };
  const rtts = [{ node: nameHash("a"), tenthsMs: 3 }, { node: nameHash("b"), tenthsMs: 65_535 }];
  const withBoth = { ...caps, plan, rtts };
  assert.deepEqual(decodeCapabilities(encodeCapabilities(withBoth)), withBoth);
  const planOnly = { ...caps, plan };
  assert.deepEqual(decodeCapabilities(encodeCapabilities(planOnly)), planOnly);
  const rttsOnly = { ...caps, rtts };
  assert.deepEqual(decodeCapabilities(encodeCapabilities(rttsOnly)), rttsOnly);
  // a record written before these fields existed still decodes, without them
  const old = new Encoder().encode([1, "i", "n", "v", "a:1", "a:2", 1, "dev", 1, 1, ["m"], []]);
  const back = decodeCapabilities(old);
  assert.equal(back.plan, undefined);
  assert.equal(back.rtts, undefined);
  // RTTs are clamped to what a u16 of 0.1 ms steps holds
  const clamped = decodeCapabilities(encodeCapabilities({ ...caps, rtts: [{ node: 1, tenthsMs: 1e9 }] }));
  assert.equal(clamped.rtts![0].tenthsMs, 65_535);
  assert.notEqual(nameHash("node-a"), nameHash("node-b"));
});

Deno.test("RTTs, then the plan's layout, are cut to keep the metadata within 512 bytes; the epoch stays", () => {
  const many = Array.from({ length: 100 }, (_, i) => ({ node: nameHash(`peer-${i}`), tenthsMs: 12 }));
  const stages = Array.from({ length: 8 }, (_, i) => ({ node: nameHash(`s-${i}`), end: i + 1 }));
  const bytes = encodeCapabilities({ ...caps, plan: { epoch: 7, stages }, rtts: many });
  assert.ok(bytes.length <= META_MAX_BYTES, `${bytes.length} bytes`);
  const back = decodeCapabilities(bytes);
  assert.deepEqual(back.plan, { epoch: 7, stages });
  assert.ok(back.rtts!.length > 0 && back.rtts!.length <= META_LIST_MAX_ENTRIES, `${back.rtts!.length} RTTs`);
  assert.deepEqual(back.rtts, many.slice(0, back.rtts!.length), "the first RTTs are kept");
  // with a record already near the limit, the layout goes and the epoch stays
  const full = { ...caps, device: "d".repeat(200), models: ["m".repeat(60)] };
  assert.ok(encodeCapabilities(full).length > 400);
  const tight = decodeCapabilities(
    encodeCapabilities({ ...full, plan: { epoch: 7, stages: [...stages, ...stages] } }),
  );
  assert.deepEqual(tight.plan, { epoch: 7, stages: [] });
});

Deno.test("a malformed plan or RTT list is a decode error", () => {
  const base = [1, "i", "n", "v", "a:1", "a:2", 1, "dev", 1, 1, [], []];
  for (const tail of [[7, [1]], [7, "x"], [7, [], [1, -2]], [-1, []]]) {
    assert.throws(() => decodeCapabilities(new Encoder().encode([...base, ...tail])), WireDecodeError);
  }
});

Deno.test("an unknown backend code from a newer peer decodes as unknown", () => {
  const raw = new Encoder().encode([1, "i", "n", "v", "a:1", "a:2", 9, "dev", 1, 1, [], []]);
  assert.equal(decodeCapabilities(raw).backend, "unknown");
});

Deno.test("live load fits an ack payload and bad load is refused", () => {
  const load = { queueDepth: 3, activeSequences: 2, tokensPerSecond: 41.5, utilisation: 0.75 };
  const bytes = encodeLoad(load);
  assert.ok(bytes.length <= 32, `${bytes.length} bytes`);
  assert.deepEqual(decodeLoad(bytes), load);
  const enc = new Encoder();
  for (
    const bad of [
      new Uint8Array([0xc1]),
      enc.encode([2, 0, 0, 0, 0]),
      enc.encode([1, -1, 0, 0, 0]),
      enc.encode([1, 0, 0, 0, 1.5]),
      enc.encode([1, 0, 0]),
    ]
  ) {
    assert.throws(() => decodeLoad(bad), WireDecodeError);
  }
});

Deno.test("peers see each other's capabilities in metadata and live load in acks", () => {
  const c = new SimCluster({
    n: 4,
    seed: 3,
    nodeOptions: (name) => ({
      meta: encodeCapabilities({ ...caps, name }),
      ackPayload: () =>
        encodeLoad({
          queueDepth: Number(name.slice(1)),
          activeSequences: 1,
          tokensPerSecond: 10,
          utilisation: 0.5,
        }),
    }),
  });
  c.boot();
  c.runFor(10_000);
  const view = c.members[0].node.members().filter((m) => m.name !== "n000");
  for (const m of view) {
    assert.equal(decodeCapabilities(m.meta).name, m.name);
    assert.equal(decodeLoad(m.ackPayload!).queueDepth, Number(m.name.slice(1)));
  }
});

Deno.test("live load carries the sender's health score as an optional trailing field", () => {
  const load = { queueDepth: 1, activeSequences: 1, tokensPerSecond: 3, utilisation: 0.1, healthScore: 2 };
  assert.deepEqual(decodeLoad(encodeLoad(load)), load);
  // A sender that predates the field: the four-field record still decodes, without it.
  const old = new Encoder().encode([1, 1, 1, 3, 0.1]);
  assert.equal(decodeLoad(old).healthScore, undefined);
  assert.throws(() => decodeLoad(new Encoder().encode([1, 1, 1, 3, 0.1, -1])), WireDecodeError);
});

Deno.test("user state broadcasts reach every node within seconds; only the newest state per node is kept", () => {
  const c = new SimCluster({ n: 20, profile: "lan", seed: 5 });
  assert.notEqual(c.boot(), -1, "ring converges");
  const load = (q: number) =>
    encodeLoad({ queueDepth: q, activeSequences: 0, tokensPerSecond: 0, utilisation: 0 });
  const origin = c.members[7];
  origin.node.broadcastUserState(load(1));
  origin.node.broadcastUserState(load(2)); // replaces the first while still queued
  const seenEverywhere = (q: number) =>
    c.members.every((m) => {
      if (m === origin) return true;
      const state = m.node.members().find((x) => x.name === origin.name)?.userState;
      return state !== undefined && decodeLoad(state).queueDepth === q;
    });
  // lan gossips every 200 ms to 3 nodes; acks alone would need ~20 probe intervals (20 s).
  const took = c.runUntil(() => seenEverywhere(2), 5_000);
  assert.ok(took >= 0 && took <= 3_000, `reached all 19 others in ${took} ms`);
  const view = c.members[0].node.members().find((x) => x.name === origin.name)!;
  assert.ok(view.userStateAgeMs! >= 0 && view.userStateAgeMs! <= 3_000);
  // A later state replaces it everywhere; a replayed older one is ignored.
  origin.node.broadcastUserState(load(9));
  assert.ok(c.runUntil(() => seenEverywhere(9), 5_000) >= 0);
  const observer = c.members[0].node;
  const before = observer.stats().userStatesIgnored;
  const replay = encodeMessage({
    type: MessageType.User,
    node: origin.name,
    incarnation: origin.node.table.local().incarnation,
    seq: 1,
    payload: load(1),
  });
  c.members[1].transport.sendPacket(c.members[0].addr, replay);
  c.runFor(1_000);
  assert.ok(seenEverywhere(9), "still the newest state");
  assert.ok(observer.stats().userStatesIgnored > before, "the replay was counted and dropped");
});
