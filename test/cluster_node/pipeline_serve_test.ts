/**
 * Three `edgering serve` processes on loopback, each allowed to hold about half of stories260K
 * (`--weights-memory`), so no node can serve it alone: a lone node answers 503 at once, and once the
 * three have joined one encrypted ring they plan the same 3-stage pipeline from gossip, and a greedy
 * completion sent to any one node's API writes llama.cpp's reference continuation.
 */
import assert from "node:assert/strict";
import { generateClusterKey } from "../../cluster/gossip/mod.ts";
import { type ClusterStatus, fetchClusterStatus } from "../../src/cluster_node/mod.ts";
import { main } from "../../src/main.ts";
import { ServeProcess, until } from "./support/serve_process.ts";

/** Bytes each node may hold: the model's tensors total 1,171,200, one layer 181,760. */
const WEIGHTS_MEMORY = "600000";

const reference = JSON.parse(await Deno.readTextFile("../shared/reference/stories260K.json")) as {
  prompt: string;
  generated_text: string;
};

async function complete(node: ServeProcess): Promise<Response> {
  return await fetch(`${node.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "stories260K", prompt: reference.prompt, max_tokens: 32, temperature: 0 }),
  });
}

/** Every node runs its stage of the same epoch, and the plan has at least 2 stages. */
function pipelineReady(all: ClusterStatus[]): boolean {
  const epochs = new Set(all.map((s) => s.pipeline?.epoch));
  return epochs.size === 1 &&
    all.every((s) => s.pipeline?.mode === "pipeline" && s.pipeline.stage !== undefined) &&
    (all[0].pipeline?.replicas[0]?.stages.length ?? 0) >= 2;
}

Deno.test("three nodes too small for the model each serve it through a pipeline planned from gossip", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "edgering-pipeline-serve-" });
  const key = generateClusterKey();
  const common = ["--weights-memory", WEIGHTS_MEMORY, "--cluster-key", key, "--slots", "4"];
  const nodes: ServeProcess[] = [];
  try {
    const a = new ServeProcess("node-a", `${dir}/a`, common);
    nodes.push(a);
    await a.ready();
    const [, seed] = await a.waitFor(/ring: .* as node-a on (127\.0\.0\.1:\d+)/);

    await t.step("a node that cannot hold the model loads no more weights than its budget", async () => {
      const [, figure, unit] = await a.waitFor(/memory: weights ([\d.]+) (B|KiB|MiB|GiB)/);
      const bytes = Number(figure) * 1024 ** ["B", "KiB", "MiB", "GiB"].indexOf(unit);
      assert.ok(bytes <= Number(WEIGHTS_MEMORY), `weights ${figure} ${unit} over the budget`);
      // the throughput probe ran on the layers that fit the budget, not on the whole model
      const [, probed, probedUnit] = await a.waitFor(/throughput score .* \(([\d.]+) (B|KiB|MiB) of weights/);
      const probedBytes = Number(probed) * 1024 ** ["B", "KiB", "MiB"].indexOf(probedUnit);
      assert.ok(probedBytes > 0 && probedBytes <= Number(WEIGHTS_MEMORY), `${probed} ${probedUnit} probed`);
    });

    await t.step("a node that cannot hold the model alone answers 503 no_pipeline at once", async () => {
      const started = Date.now();
      const res = await complete(a);
      const body = await res.json();
      assert.equal(res.status, 503);
      assert.equal(body.error.code, "no_pipeline");
      assert.ok(Date.now() - started < 5_000, "the refusal does not wait for a plan");
    });

    const b = new ServeProcess("node-b", `${dir}/b`, [...common, "--join", seed]);
    const c = new ServeProcess("node-c", `${dir}/c`, [...common, "--join", seed]);
    nodes.push(b, c);
    await Promise.all([b.ready(), c.ready()]);
    const statuses = await until(
      () => Promise.all(nodes.map((n) => fetchClusterStatus({ addr: n.addr }))),
      pipelineReady,
      20_000,
    );

    await t.step("GET /cluster/status shows the same plan of ≥ 2 stages on every node", () => {
      const plan = statuses[0].pipeline!;
      const stages = plan.replicas[0].stages;
      assert.equal(stages[0].start, 0);
      assert.equal(stages.at(-1)!.end, 5);
      for (let i = 1; i < stages.length; i++) assert.equal(stages[i].start, stages[i - 1].end);
      assert.ok(stages.every((s) => s.computeMs > 0 && s.hopMs > 0));
      assert.deepEqual(plan.decisions.map((d) => [d.node, d.reason]), [
        ["node-a", "stage"],
        ["node-b", "stage"],
        ["node-c", "stage"],
      ]);
      for (const s of statuses) {
        const mine = stages.find((st) => st.node === s.self)!;
        assert.deepEqual([s.pipeline!.stage!.start, s.pipeline!.stage!.end], [mine.start, mine.end]);
      }
    });

    await t.step(
      "edgering status prints the stages, their layers, ms per token and each placement",
      async () => {
        let stdout = "";
        const code = await main(["status", "--addr", b.addr], {
          stdout: (x) => (stdout += x),
          stderr: () => {},
        });
        assert.equal(code, 0);
        const plan = statuses[1].pipeline!;
        assert.match(stdout, new RegExp(`plan: +pipeline · epoch ${plan.epoch} `));
        for (const s of plan.replicas[0].stages) {
          assert.match(
            stdout,
            new RegExp(`${s.node} +layers ${s.start}-${s.end}.* compute [\\d.]+ ms/token +hop [\\d.]+ ms`),
          );
        }
        assert.match(stdout, /\+ node-c: stage/);
        assert.match(stdout, /this node: stage \d-\d on 127\.0\.0\.1:\d+/);
      },
    );

    await t.step("a greedy completion through any node equals llama.cpp's continuation", async () => {
      for (const node of [a, c]) {
        const res = await complete(node);
        const body = await res.json();
        assert.equal(res.status, 200, JSON.stringify(body));
        assert.equal(body.choices[0].text, reference.generated_text, node.name);
      }
    });
  } finally {
    await Promise.all(nodes.map((n) => n.stop("SIGKILL")));
    await Deno.remove(dir, { recursive: true });
  }
});
