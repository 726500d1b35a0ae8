import assert from "node:assert/strict";
import { Encoder } from "@msgpack/msgpack";
import { WireDecodeError, WireEncodeError } from "../../../cluster/gossip/errors.ts";
import { META_MAX_BYTES } from "../../../cluster/gossip/messages.ts";
import {
  decodeCapabilities,
  decodeLoad,
  encodeCapabilities,
  encodeLoad,
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
