/**
 * The /cluster routes of the API on a real in-process ClusterNode: status document, key ring changes,
 * who may change keys, and the answers of a node without a cluster.
 */
import assert from "node:assert/strict";
import { createApiHandler } from "../../src/api/app.ts";
import { NodeState } from "../../src/api/node_state.ts";
import { createServeMetrics } from "../../src/api/serve_metrics.ts";
import { generateClusterKeyText } from "../../src/cluster_node/mod.ts";
import { startClusterServer } from "./support/cluster_server.ts";

const LOOPBACK = { remoteAddr: { hostname: "127.0.0.1" } };
const REMOTE = { remoteAddr: { hostname: "192.168.1.50" } };

function post(body: unknown, headers: Record<string, string> = {}): Request {
  return new Request("http://node/cluster/keys", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

Deno.test("a node without a cluster answers 404 cluster_disabled; one still starting 503", async () => {
  const base = {
    state: new NodeState(),
    metrics: createServeMetrics(() => undefined),
    options: { apiKeys: [], maxBodyBytes: 1 << 20, defaultMaxTokens: 16, retryAfterSeconds: 2 },
  };
  const lone = createApiHandler(base);
  const off = await lone(new Request("http://node/cluster/status"));
  assert.equal(off.status, 404);
  assert.equal((await off.json()).error.code, "cluster_disabled");
  const starting = await createApiHandler({ ...base, cluster: () => undefined })(
    new Request("http://node/cluster/status"),
  );
  assert.equal(starting.status, 503);
  assert.equal(starting.headers.get("retry-after"), "2");
});

Deno.test("key routes are open to this host's loopback only, unless the node has API keys", async () => {
  const open = await startClusterServer({ name: "open" });
  const guarded = await startClusterServer({ name: "guarded", apiKeys: ["s3cret"] });
  try {
    assert.equal((await open.handler(new Request("http://node/cluster/keys"), LOOPBACK)).status, 200);
    const remote = await open.handler(new Request("http://node/cluster/keys"), REMOTE);
    assert.equal(remote.status, 403);
    assert.match((await remote.json()).error.message, /API key .* or from the node's own host/);
    assert.equal(
      (await open.handler(post({ op: "install", key: generateClusterKeyText() }), REMOTE)).status,
      403,
    );
    // the status page is no secret: open like /metrics
    assert.equal((await open.handler(new Request("http://node/cluster/status"), REMOTE)).status, 200);

    const noKey = await guarded.handler(new Request("http://node/cluster/keys"), LOOPBACK);
    assert.equal(noKey.status, 401);
    const keyed = await guarded.handler(
      new Request("http://node/cluster/keys", { headers: { authorization: "Bearer s3cret" } }),
      REMOTE,
    );
    assert.equal(keyed.status, 200);
    assert.equal((await keyed.json()).keys.length, 1);
  } finally {
    await Promise.all([open.close(), guarded.close()]);
  }
});

Deno.test("key changes go through the routes; refusals are 400s that never echo the key", async () => {
  const server = await startClusterServer({ name: "keys" });
  const insecure = await startClusterServer({ name: "plain", insecure: true });
  try {
    const call = async (body: unknown, handler = server.handler) => {
      const r = await handler(post(body), LOOPBACK);
      return { status: r.status, body: await r.json() };
    };
    const fresh = generateClusterKeyText();
    const installed = await call({ op: "install", key: fresh });
    assert.equal(installed.status, 200);
    assert.equal(installed.body.keys.length, 2);
    assert.equal(installed.body.keys[0].primary, true);
    const newPrint = installed.body.keys[1].fingerprint;
    const oldPrint = installed.body.keys[0].fingerprint;
    assert.ok(!JSON.stringify(installed.body).includes(fresh));

    const table: [unknown, number, RegExp][] = [
      [{ op: "install", key: "bm90IGEga2V5" }, 400, /16, 24 or 32 bytes/],
      [{ op: "use", key: "sha256:0000000000000000" }, 400, /no installed key has fingerprint/],
      [{ op: "remove", key: oldPrint }, 400, /cannot remove the primary key/],
      [{ op: "rotate", key: fresh }, 400, /"op": "install" \| "use" \| "remove"/],
      [{ op: "use" }, 400, /"op"/],
    ];
    for (const [body, status, message] of table) {
      const r = await call(body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.match(r.body.error.message, message, JSON.stringify(body));
      assert.ok(!r.body.error.message.includes(fresh));
    }

    const used = await call({ op: "use", key: newPrint.slice(7, 17) });
    assert.deepEqual(used.body.keys.map((k: { primary: boolean }) => k.primary), [true, false]);
    assert.equal(used.body.keys[0].fingerprint, newPrint);
    const removed = await call({ op: "remove", key: oldPrint });
    assert.deepEqual(removed.body.keys, [{ fingerprint: newPrint, bytes: 32, primary: true }]);
    // saved: a restart keeps the rotation
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${server.stateDir}/keyring.json`)).keys, [fresh]);
    assert.ok(server.logs.some((l) => /keys remove: now 1 key\(s\)/.test(l)));

    const plain = await call({ op: "install", key: fresh }, insecure.handler);
    assert.equal(plain.status, 400);
    assert.match(plain.body.error.message, /insecure ring/);
  } finally {
    await Promise.all([server.close(), insecure.close()]);
  }
});
