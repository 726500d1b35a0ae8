/**
 * Cluster control of a running pipeline through `edgering serve` processes on loopback: two nodes,
 * each allowed to hold about 60% of stories260K (`--weights-memory`), run it as a 2-stage pipeline.
 *
 * - A `serve` node started with another `--cluster-key` is refused by the ring, and a pipeline
 *   connection proving that key is refused by the running stages (it can neither send nor read
 *   activations), while one with the cluster key gets in.
 * - A key rotation through `edgering keys` reaches the stage servers: once the old key is removed it
 *   opens no new pipeline connection, the new one does, and completions keep flowing.
 * - A node joining the running pipeline adopts its plan and epoch: it never proposes or runs a stage
 *   of another layout.
 */
import assert from "node:assert/strict";
import { Keyring } from "../../cluster/gossip/keyring.ts";
import { generateClusterKey, parseClusterKey } from "../../cluster/gossip/mod.ts";
import { HandshakeError, PipelineConnection } from "../../cluster/pipeline/mod.ts";
import { type ClusterStatus, fetchClusterStatus } from "../../src/cluster_node/mod.ts";
import { main } from "../../src/main.ts";
import { ServeProcess, until } from "./support/serve_process.ts";

/** Bytes each node may hold: the model's tensors total 1,171,200 (a layer 181,760, embedding and
 * head 131,072 each), so two nodes are needed, as two stages. */
const WEIGHTS_MEMORY = "700000";
/** The joiner's budget: less than one layer, so no plan can use it and no re-plan is due when it joins. */
const JOINER_WEIGHTS_MEMORY = "100000";

const status = (node: ServeProcess) => fetchClusterStatus({ addr: node.addr });

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "", stderr = "";
  const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

async function complete(node: ServeProcess): Promise<{ status: number; text: string }> {
  const res = await fetch(`${node.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "stories260K",
      prompt: "Once upon a time",
      max_tokens: 12,
      temperature: 0,
    }),
  });
  const body = await res.json();
  return { status: res.status, text: body.choices?.[0]?.text ?? JSON.stringify(body) };
}

/** Opens (and closes) a pipeline connection to `address` proving `key`. */
async function dial(address: string, key: string): Promise<void> {
  const conn = await PipelineConnection.connect(address, {
    nodeId: "probe",
    keyring: await Keyring.create([parseClusterKey(key)]),
  });
  conn.close();
}

const unauthorized = (e: unknown) => e instanceof HandshakeError && e.reason === "unauthorized";

/** Both nodes run a stage of the same 2-stage plan. */
function twoStages(all: ClusterStatus[]): boolean {
  return new Set(all.map((s) => s.pipeline?.epoch)).size === 1 &&
    all.every((s) => s.pipeline?.mode === "pipeline" && s.pipeline.stage !== undefined) &&
    all[0].pipeline?.replicas[0]?.stages.length === 2;
}

Deno.test("serve: a wrong cluster key is refused by ring and stages, a rotation reaches the stages, a joiner adopts the plan", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "edgering-pipeline-keys-" });
  const key1 = generateClusterKey(), key2 = generateClusterKey();
  const common = ["--weights-memory", WEIGHTS_MEMORY, "--slots", "2"];
  const nodes: ServeProcess[] = [];
  try {
    const a = new ServeProcess("node-a", `${dir}/a`, [...common, "--cluster-key", key1]);
    nodes.push(a);
    await a.ready();
    const [, seed] = await a.waitFor(/ring: .* as node-a on (127\.0\.0\.1:\d+)/);
    const b = new ServeProcess("node-b", `${dir}/b`, [...common, "--cluster-key", key1, "--join", seed]);
    nodes.push(b);
    await b.ready();
    const running = await until(() => Promise.all([a, b].map(status)), twoStages, 20_000);
    const epoch = running[0].pipeline!.epoch;
    const stages = running.map((s) => s.pipeline!.stage!.address);
    const reference = await complete(a);
    assert.equal(reference.status, 200, reference.text);

    await t.step(
      "a serve node with another --cluster-key is refused by the ring and by the stages",
      async () => {
        const wrongKey = generateClusterKey();
        const intruder = new ServeProcess("node-x", `${dir}/x`, [
          ...common,
          "--cluster-key",
          wrongKey,
          "--join",
          seed,
        ]);
        nodes.push(intruder);
        await intruder.waitFor(/ring: join refused by 127\.0\.0\.1:\d+: .*another cluster key/);
        for (const address of stages) {
          await assert.rejects(dial(address, wrongKey), unauthorized, `${address} let the wrong key in`);
          await dial(address, key1); // while the cluster key gets in
        }
        const seen = await status(a);
        assert.ok(seen.members.every((m) => m.name !== "node-x"), "the intruder is no member");
        assert.ok(seen.pipeline!.replicas.every((r) => r.stages.every((s) => s.node !== "node-x")));
        assert.equal(seen.pipeline!.epoch, epoch);
        await intruder.stop("SIGKILL");
      },
    );

    await t.step("a key rotation through edgering keys reaches the pipeline's stage servers", async () => {
      for (const op of [["install", key2], ["use", key2], ["remove", key1]]) {
        for (const n of [a, b]) {
          const r = await cli("keys", op[0], op[1], "--addr", n.addr);
          assert.equal(r.code, 0, r.stderr);
        }
      }
      for (const address of stages) {
        await assert.rejects(dial(address, key1), unauthorized, `${address} still takes the removed key`);
        await dial(address, key2);
      }
      const after = await complete(b);
      assert.equal(after.status, 200, after.text);
      assert.equal(after.text, reference.text);
    });

    await t.step(
      "a node joining the running pipeline adopts the ring's plan: it proposes no layout of its own",
      async () => {
        // it can hold no stage, so hysteresis has nothing to weigh: it must take over the running plan
        const c = new ServeProcess("node-c", `${dir}/c`, [
          ...common,
          "--weights-memory",
          JOINER_WEIGHTS_MEMORY,
          "--cluster-key",
          key2,
          "--join",
          seed,
        ]);
        nodes.push(c);
        await c.ready();
        const all = await until(
          () => Promise.all([a, b, c].map(status)),
          (s) =>
            s.every((x) => x.members.filter((m) => m.status === "alive" && m.pipelineAddr).length === 3) &&
            new Set(s.map((x) => x.pipeline?.epoch)).size === 1,
          20_000,
        );
        assert.deepEqual(all.map((x) => x.pipeline!.epoch), [epoch, epoch, epoch]);
        assert.equal(all[2].pipeline!.reason, "adopted", c.log);
        // every plan the joiner followed was the running one (or none, before it knew its peers)
        const proposed = c.lines.filter((l) =>
          /pipeline: plan epoch/.test(l) && !/no replica can hold/.test(l)
        );
        assert.ok(proposed.length > 0);
        for (const line of proposed) assert.ok(line.includes(`plan epoch ${epoch} (adopted)`), c.log);
        assert.ok(!c.lines.some((l) => /pipeline: running layers/.test(l)), "the joiner runs no stage");
        const through = await complete(c);
        assert.equal(through.status, 200, through.text);
        assert.equal(through.text, reference.text, "the joiner is an entry to the running pipeline");
      },
    );
  } finally {
    await Promise.all(nodes.map((n) => n.stop("SIGKILL")));
    await Deno.remove(dir, { recursive: true });
  }
});
