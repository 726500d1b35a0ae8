/**
 * Failover of a pipeline planned by `edgering serve` nodes. Three processes on loopback, each able to
 * hold about half of stories260K (`--weights-memory`), plan a 3-stage pipeline; a fourth node joins
 * after that plan is running (it adds no speed, so hysteresis keeps the plan on the nodes that had it). A streaming greedy
 * completion is sent to one node's API and the process holding the middle stage is killed with SIGKILL
 * mid-stream: the stream completes with no error event and the same text as an uninterrupted run (f32
 * on the wire, so the replay computes the same activations), and the next plan puts the late joiner in
 * a stage.
 *
 * Why four nodes: with equal budgets where two nodes suffice, the planner leaves the third out (on this
 * tiny model a hop costs more than the layers it would take), so a 3-stage split with a survivable
 * middle stage needs a spare node.
 */
import assert from "node:assert/strict";
import { generateClusterKey } from "../../cluster/gossip/mod.ts";
import { type ClusterStatus, fetchClusterStatus } from "../../src/cluster_node/mod.ts";
import { ServeProcess, until } from "./support/serve_process.ts";

/** Bytes each node may hold: the model's tensors total 1,171,200 (a layer 181,760, embedding and head
 * 131,072 each), so any three nodes are needed, as three stages. */
const WEIGHTS_MEMORY = "600000";
/** Long enough that the stream is still running when the middle stage dies. */
const MAX_TOKENS = 128;
/** Stream events read before the kill. */
const EVENTS_BEFORE_KILL = 4;

const PROMPT = "Once upon a time";

/** One SSE event of a completion stream: its text, or its error. */
interface StreamEvent {
  text?: string;
  error?: unknown;
}

/** Sends a streaming greedy completion; calls `onEvent` with the count of events read so far. */
async function streamCompletion(
  node: ServeProcess,
  onEvent: (count: number) => void = () => {},
): Promise<{ text: string; events: StreamEvent[]; status: number }> {
  const res = await fetch(`${node.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "stories260K",
      prompt: PROMPT,
      max_tokens: MAX_TOKENS,
      temperature: 0,
      stream: true,
    }),
  });
  const events: StreamEvent[] = [];
  let buffer = "";
  for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let at: number;
    while ((at = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      for (const line of block.split("\n")) {
        if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
        const body = JSON.parse(line.slice(6));
        events.push(body.error ? { error: body.error } : { text: body.choices?.[0]?.text ?? "" });
        onEvent(events.length);
      }
    }
  }
  return { text: events.map((e) => e.text ?? "").join(""), events, status: res.status };
}

/** Every node runs a stage of the same epoch, and the plan has `stages` stages. */
function splitInto(stages: number): (all: ClusterStatus[]) => boolean {
  return (all) => {
    const epochs = new Set(all.map((s) => s.pipeline?.epoch));
    return epochs.size === 1 &&
      all.every((s) => s.pipeline?.mode === "pipeline" && s.pipeline.stage !== undefined) &&
      all[0].pipeline?.replicas.length === 1 &&
      all[0].pipeline.replicas[0].stages.length === stages;
  };
}

Deno.test("kill -9 of the middle stage's serve process mid-stream leaves the stream whole and identical", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "edgering-pipeline-failover-" });
  const key = generateClusterKey();
  const common = [
    "--weights-memory",
    WEIGHTS_MEMORY,
    "--cluster-key",
    key,
    "--slots",
    "4",
    "--wire-dtype",
    "f32",
  ];
  const nodes: ServeProcess[] = [];
  try {
    const a = new ServeProcess("node-a", `${dir}/a`, common);
    nodes.push(a);
    await a.ready();
    const [, seed] = await a.waitFor(/ring: .* as node-a on (127\.0\.0\.1:\d+)/);
    const b = new ServeProcess("node-b", `${dir}/b`, [...common, "--join", seed]);
    const c = new ServeProcess("node-c", `${dir}/c`, [...common, "--join", seed]);
    nodes.push(b, c);
    await Promise.all([b.ready(), c.ready()]);
    const statuses = await until(
      () => Promise.all(nodes.map((n) => fetchClusterStatus({ addr: n.addr }))),
      splitInto(3),
      20_000,
    );
    const epoch = statuses[0].pipeline!.epoch;
    const middleName = statuses[0].pipeline!.replicas[0].stages[1].node;
    const middle = nodes.find((n) => n.name === middleName)!;
    // the entry is node-a unless node-a holds the middle stage
    const entry = middle === a ? b : a;

    const d = new ServeProcess("node-d", `${dir}/d`, [...common, "--join", seed]);
    nodes.push(d);
    await d.ready();
    await t.step("a node joining a running plan leaves the entry's plan epoch as it was", async () => {
      const seen = await until(
        () => fetchClusterStatus({ addr: entry.addr }),
        (s) => s.members.some((m) => m.name === "node-d" && m.status === "alive" && m.pipelineAddr),
        20_000,
      );
      assert.equal(seen.pipeline!.epoch, epoch, "hysteresis: a joiner that adds no speed keeps the plan");
      // and the joiner itself takes over that plan and its epoch instead of proposing its own
      const joiner = await until(
        () => fetchClusterStatus({ addr: d.addr }),
        (s) => s.pipeline?.epoch === epoch,
        10_000,
      );
      assert.equal(joiner.pipeline!.reason, "adopted");
    });
    const survivors = nodes.filter((n) => n !== middle);

    const uninterrupted = await streamCompletion(entry);
    await t.step("an uninterrupted stream through the 3 stages is long and error-free", () => {
      assert.equal(uninterrupted.status, 200);
      assert.ok(
        uninterrupted.events.every((e) => e.error === undefined),
        JSON.stringify(uninterrupted.events),
      );
      assert.ok(uninterrupted.events.length > EVENTS_BEFORE_KILL * 4, "the kill lands mid-stream");
    });

    await t.step("the stream completes with the same text after kill -9 of the middle stage", async () => {
      let killed: Promise<number> | undefined;
      const interrupted = await streamCompletion(entry, (count) => {
        if (count === EVENTS_BEFORE_KILL) killed = middle.stop("SIGKILL");
      });
      assert.ok(killed, "the middle stage was killed while the stream ran");
      await killed;
      assert.equal(interrupted.status, 200);
      assert.deepEqual(interrupted.events.filter((e) => e.error !== undefined), []);
      assert.equal(interrupted.text, uninterrupted.text);
      assert.match(entry.log, /pipeline entry: sequence \d+: failover 1 /);
    });

    await t.step("the next plan puts the late joiner in a stage and serves the same text", async () => {
      const after3 = await until(
        () => Promise.all(survivors.map((n) => fetchClusterStatus({ addr: n.addr }))),
        splitInto(3),
        20_000,
      );
      assert.ok(after3[0].pipeline!.replicas[0].stages.some((s) => s.node === "node-d"));
      assert.ok(after3[0].pipeline!.replicas[0].stages.every((s) => s.node !== middleName));
      const after = await streamCompletion(entry);
      assert.equal(after.status, 200);
      assert.equal(after.text, uninterrupted.text);
    });
  } finally {
    await Promise.all(nodes.map((n) => n.stop("SIGKILL")));
    await Deno.remove(dir, { recursive: true });
  }
});
