/**
 * One pipeline node in its own process, for the multi-process tests and the benchmark: starts one
 * StageServer per `--range` on free loopback ports, prints `{"ready":["host:port",...]}` on stdout, and
 * serves until killed. Log lines go to stderr.
 *
 *   deno run -A stage_process.ts --model PATH --id NAME [--key BASE64] [--epoch N]
 *     --range START:END[:e][:h][@MODEL] [--range ...]   (e = embedding, h = head; @MODEL overrides --model)
 */
import { Keyring, parseClusterKey } from "../../../../cluster/gossip/keyring.ts";
import { StageServer } from "../../../../cluster/pipeline/mod.ts";
import { createReferenceBackend } from "../../../../src/backend/reference/reference_backend.ts";
import type { LayerRange } from "../../../../src/model/model_weights.ts";

function parseRange(text: string): { range: LayerRange; model?: string } {
  const [spec, model] = text.split("@");
  const [start, end, ...flags] = spec.split(":");
  return {
    range: {
      start: Number(start),
      end: Number(end),
      embedding: flags.includes("e"),
      head: flags.includes("h"),
    },
    model,
  };
}

const args = Deno.args;
const values = (flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
const model = values("--model")[0];
const id = values("--id")[0] ?? "stage";
const key = values("--key")[0];
const epoch = Number(values("--epoch")[0] ?? 1);
const ranges = values("--range").map(parseRange);
const keyring = key ? await Keyring.create([parseClusterKey(key)]) : undefined;

const servers: StageServer[] = [];
for (const { range, model: own } of ranges) {
  servers.push(
    await StageServer.start({
      nodeId: id,
      model: own ?? model,
      range,
      backend: createReferenceBackend(),
      keyring,
      epochs: [epoch],
      log: (line) => console.error(`[${id}] ${line}`),
    }),
  );
}
console.log(JSON.stringify({ ready: servers.map((s) => s.address) }));
