import assert from "node:assert/strict";
import { GossipNode, Keyring, localConfig, NetTransport } from "../../cluster/gossip/mod.ts";
import { classifyJoinFailure, explainJoinFailure, joinRetryDelayMs } from "../../src/cluster_node/mod.ts";

Deno.test("join retries back off exponentially with jitter up to the cap", () => {
  const table: [number, number][] = [[1, 100], [2, 200], [3, 400], [5, 1_600], [6, 2_000], [60, 2_000]];
  for (const [attempt, base] of table) {
    assert.equal(joinRetryDelayMs(attempt, 100, 2_000, 0.5), base, `attempt ${attempt}`);
    assert.equal(joinRetryDelayMs(attempt, 100, 2_000, 0), Math.round(base * 0.8));
    assert.ok(joinRetryDelayMs(attempt, 100, 2_000, 0.999) <= Math.round(base * 1.2));
  }
});

/** The message a real join through `seed` fails with, from a node using `keys` (none = insecure). */
async function joinFailure(seed: string, keys?: Uint8Array[]): Promise<string> {
  const transport = NetTransport.listen({
    hostname: "127.0.0.1",
    port: 0,
    keyring: keys ? await Keyring.create(keys) : undefined,
  });
  const node = new GossipNode({ config: { ...localConfig("joiner"), tcpTimeoutMs: 500 }, transport });
  node.start();
  try {
    await node.join([seed]);
    return "joined";
  } catch (e) {
    return (e as Error).message;
  } finally {
    await node.shutdown();
  }
}

Deno.test("a real join refused for its key reads as a key problem; an absent seed as unreachable", async () => {
  const seedTransport = NetTransport.listen({
    hostname: "127.0.0.1",
    port: 0,
    keyring: await Keyring.create([new Uint8Array(16).fill(1)]),
  });
  const seed = new GossipNode({ config: localConfig("seed"), transport: seedTransport });
  seed.start();
  try {
    const wrongKey = await joinFailure(seedTransport.address, [new Uint8Array(16).fill(2)]);
    assert.equal(classifyJoinFailure(wrongKey), "key", wrongKey);
    const noKey = await joinFailure(seedTransport.address);
    assert.equal(classifyJoinFailure(noKey), "key", noKey);
    assert.match(explainJoinFailure("key", [seedTransport.address], wrongKey), /another cluster key/);
  } finally {
    await seed.shutdown();
  }
  const gone = await joinFailure(seedTransport.address, [new Uint8Array(16).fill(1)]);
  assert.equal(classifyJoinFailure(gone), "unreachable", gone);
  assert.equal(classifyJoinFailure("request to a:1 failed: remote error: protocol 9 unsupported"), "refused");
});
