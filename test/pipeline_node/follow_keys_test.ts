/**
 * A key rotation reaches pipeline connections (src/pipeline_node/follow_keys.ts): a real stage server
 * on loopback whose key ring follows the cluster's accepts any installed key, new connections prove
 * the primary, and a removed key stops working for the next connection.
 */
import assert from "node:assert/strict";
import { Keyring } from "../../cluster/gossip/keyring.ts";
import { generateClusterKey, parseClusterKey } from "../../cluster/gossip/mod.ts";
import { HandshakeError, PipelineConnection, StageServer } from "../../cluster/pipeline/mod.ts";
import { createReferenceBackend } from "../../src/backend/reference/reference_backend.ts";
import { followKeys, sameKeys } from "../../src/pipeline_node/mod.ts";

const STORIES = "../shared/models/stories260K.gguf";

const unauthorized = (e: unknown) => e instanceof HandshakeError && e.reason === "unauthorized";

Deno.test("the ring is brought to the cluster's keys: new ones installed, the primary used, old ones removed", async () => {
  const [k1, k2, k3] = [0, 1, 2].map(() => parseClusterKey(generateClusterKey()));
  const ring = await Keyring.create([k1, k2]);
  await followKeys(ring, [k3, k1]);
  assert.ok(sameKeys(ring, [k3, k1]));
  assert.deepEqual(ring.keys()[0], k3, "the first key is the primary");
  assert.equal(ring.keys().length, 2, "k2 is gone");
  await followKeys(ring, []);
  assert.ok(sameKeys(ring, [k3, k1]), "an empty list changes nothing");
  assert.equal(sameKeys(ring, [k1, k3]), false, "another primary is another ring");
  await assert.rejects(followKeys(ring, [new Uint8Array(5)]));
});

Deno.test("a key rotated in a stage's ring reaches new connections; open ones keep their session", async () => {
  const [old, fresh] = [0, 1].map(() => parseClusterKey(generateClusterKey()));
  const ring = await Keyring.create([old]);
  const server = await StageServer.start({
    nodeId: "stage",
    model: STORIES,
    range: { start: 0, end: 5, embedding: true, head: true },
    backend: createReferenceBackend(),
    keyring: ring,
    epochs: [1],
    log: () => {},
  });
  const dial = async (key: Uint8Array) =>
    await PipelineConnection.connect(server.address, {
      nodeId: "entry",
      keyring: await Keyring.create([key]),
    });
  try {
    await assert.rejects(dial(fresh), unauthorized, "before the rotation the new key is unknown");
    const before = await dial(old);

    await followKeys(ring, [old, fresh]); // edgering keys install
    (await dial(fresh)).close();
    (await dial(old)).close();

    await followKeys(ring, [fresh, old]); // edgering keys use
    assert.deepEqual(ring.keys()[0], fresh, "new connections from this node prove the new primary");
    (await dial(fresh)).close();

    await followKeys(ring, [fresh]); // edgering keys remove
    await assert.rejects(dial(old), unauthorized, "a removed key no longer opens a connection");
    (await dial(fresh)).close();
    assert.equal(before.isClosed, false, "a connection made with the old key keeps its session key");
    before.close();
  } finally {
    await server.close();
  }
});
