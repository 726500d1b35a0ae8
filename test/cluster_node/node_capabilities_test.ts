import assert from "node:assert/strict";
import { decodeCapabilities, encodeCapabilities, META_MAX_BYTES } from "../../cluster/gossip/mod.ts";
import { nodeCapabilities, truncateUtf8 } from "../../src/cluster_node/mod.ts";

Deno.test("a loading node advertises its identity with an unknown backend and no layers", () => {
  const caps = nodeCapabilities({ id: "i", name: "a", version: "0.1.0", apiAddr: "127.0.0.1:8080" });
  assert.deepEqual(decodeCapabilities(encodeCapabilities(caps)), {
    id: "i",
    name: "a",
    version: "0.1.0",
    apiAddr: "127.0.0.1:8080",
    pipelineAddr: "",
    backend: "unknown",
    device: "",
    memoryBudgetBytes: 0,
    score: 0,
    models: [],
    layers: [],
  });
});

Deno.test("the longest names and descriptions still fit the 512-byte metadata", () => {
  const caps = nodeCapabilities({
    id: "7f3c2a10-5b1e-4c9d-8e2f-0a1b2c3d4e5f",
    name: "n".repeat(128),
    version: "v".repeat(100),
    apiAddr: `[${"f".repeat(39)}]:65535`,
    pipelineAddr: `[${"f".repeat(39)}]:65535`,
    backend: "webgpu",
    device: "Ünïcödé adapter description ".repeat(10),
    memoryBudgetBytes: 2 ** 50,
    bytesPerSec: 1.234e12,
    model: { id: "m".repeat(300), layers: 80 },
  });
  const bytes = encodeCapabilities(caps);
  assert.ok(bytes.length <= META_MAX_BYTES, `${bytes.length} bytes`);
  const back = decodeCapabilities(bytes);
  assert.equal(back.models[0].length, 48);
  assert.deepEqual(back.layers, [{ model: "m".repeat(48), first: 0, last: 79 }]);
  assert.ok(new TextEncoder().encode(back.device).length <= 48);
  assert.equal(back.score, 1.234e12);
});

Deno.test("text is cut to a byte budget without splitting a character", () => {
  const table: [string, number, string][] = [
    ["abc", 5, "abc"],
    ["abcdef", 3, "abc"],
    ["aé", 2, "a"],
    ["aé", 3, "aé"],
    ["😀x", 3, ""],
    ["😀x", 4, "😀"],
  ];
  for (const [text, max, cut] of table) assert.equal(truncateUtf8(text, max), cut, `${text} ${max}`);
});
