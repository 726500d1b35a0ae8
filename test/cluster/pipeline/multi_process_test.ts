/**
 * Three stage nodes in three `deno` processes on loopback, driven by an entry engine in this process:
 * the pipeline's output equals one node's for the synthetic model (f32 wire) and for stories260K
 * (default f16 wire, against llama.cpp's reference), a peer without the cluster key is refused, and
 * after `kill -9` of the middle process mid-stream the stream completes with identical text by replay
 * on a 2-stage route over the surviving processes.
 */
import assert from "node:assert/strict";
import {
  HandshakeError,
  PipelineConnection,
  PipelineEngine,
  type PipelineRoute,
  WireDtype,
} from "../../../cluster/pipeline/mod.ts";
import { defaultSamplingParams } from "../../../src/engine/sampler.ts";
import {
  modelInfo,
  singleNodeGreedy,
  STORIES,
  syntheticModel,
  TEST_KEY,
  testKeyring,
  tokensOf,
} from "./support/pipeline_fixtures.ts";

const GREEDY = { ...defaultSamplingParams(), temperature: 0 };
const reference = JSON.parse(await Deno.readTextFile("../shared/reference/stories260K.json")) as {
  prompt_ids: number[];
  generated_ids: number[];
  generated_text: string;
};

/** One stage node process; `addresses` are its stage servers' addresses in --range order. */
class StageProcess {
  readonly #child: Deno.ChildProcess;
  readonly ready: Promise<string[]>;

  constructor(readonly id: string, ranges: string[]) {
    const script = new URL("./support/stage_process.ts", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        script,
        "--model",
        STORIES,
        "--id",
        id,
        "--key",
        TEST_KEY,
        ...ranges.flatMap((r) => ["--range", r]),
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#child = child;
    this.ready = (async () => {
      let text = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        text += chunk;
        const line = text.split("\n").find((l) => l.startsWith("{"));
        if (line) return (JSON.parse(line) as { ready: string[] }).ready;
      }
      throw new Error(`stage process ${id} exited before it was ready`);
    })();
  }

  kill(): void {
    this.#child.kill("SIGKILL");
  }

  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.#child.status;
    await this.ready.catch(() => {});
  }
}

function route(epoch: number, stages: Array<[string, string, number, number]>): PipelineRoute {
  return {
    epoch,
    stages: stages.map(([nodeId, address, start, end], i) => ({
      nodeId,
      address,
      start,
      end,
      embedding: i === 0,
      head: i === stages.length - 1,
    })),
  };
}

Deno.test("three stage processes on loopback serve the pipeline and survive kill -9 of the middle one", async (t) => {
  const synthetic = await syntheticModel();
  const nodes = [
    new StageProcess("a", ["0:2:e", "0:3:e", `0:2:e@${synthetic}`]),
    new StageProcess("b", ["2:4", `2:4@${synthetic}`]),
    new StageProcess("c", ["4:5:h", "3:5:h", `4:6:h@${synthetic}`]),
  ];
  const keyring = await testKeyring();
  try {
    const [a, b, c] = await Promise.all(nodes.map((n) => n.ready));
    const three = route(1, [["a", a[0], 0, 2], ["b", b[0], 2, 4], ["c", c[0], 4, 5]]);
    const two = route(1, [["a", a[1], 0, 3], ["c", c[1], 3, 5]]);
    const stories = await modelInfo(STORIES);

    await t.step("the synthetic model's greedy output with f32 on the wire equals one node's", async () => {
      const info = await modelInfo(synthetic);
      const engine = new PipelineEngine({
        nodeId: "entry",
        ...info,
        keyring,
        ctx: 256,
        wireDtype: WireDtype.F32,
        resolveRoute: () => route(1, [["a", a[2], 0, 2], ["b", b[1], 2, 4], ["c", c[2], 4, 6]]),
      });
      const prompt = [1, 403, 407, 261, 378, 11, 12];
      const got = await tokensOf(engine.submit({ prompt, maxTokens: 24, sampling: GREEDY }));
      await engine.close();
      assert.deepEqual(got, await singleNodeGreedy(synthetic, prompt, 24));
    });

    await t.step("stories260K with the default f16 wire writes llama.cpp's greedy continuation", async () => {
      const engine = new PipelineEngine({
        nodeId: "entry",
        ...stories,
        keyring,
        ctx: 256,
        resolveRoute: () => three,
      });
      const got = await tokensOf(
        engine.submit({ prompt: reference.prompt_ids, maxTokens: 32, sampling: GREEDY }),
      );
      await engine.close();
      assert.deepEqual(got, reference.generated_ids);
    });

    await t.step("a node without the cluster key cannot join the pipeline", async () => {
      for (const address of [a[0], b[0], c[0]]) {
        await assert.rejects(
          PipelineConnection.connect(address, { nodeId: "outsider" }),
          (e) => e instanceof HandshakeError && e.reason === "unauthorized",
        );
      }
    });

    await t.step(
      "after kill -9 of the middle process the stream completes with identical text on 2 stages",
      async () => {
        const engine = new PipelineEngine({
          nodeId: "entry",
          ...stories,
          keyring,
          ctx: 256,
          wireDtype: WireDtype.F32,
          resolveRoute: ({ avoid }) => (avoid.has("b") ? two : three),
        });
        const stream = engine.submit({ prompt: reference.prompt_ids, maxTokens: 32, sampling: GREEDY });
        const ids: number[] = [];
        let text = "";
        for await (const piece of stream) {
          ids.push(piece.token);
          text += piece.text;
          if (ids.length === 5) nodes[1].kill();
        }
        text += (await stream.done).tail;
        const stats = engine.stats();
        await engine.close();
        assert.deepEqual(ids, reference.generated_ids);
        assert.equal(text, reference.generated_text);
        assert.equal(stats.failovers, 1, "the stream was replayed once");
      },
    );
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
});
