/**
 * Tiny models for the serving tests: a synthetic llama (dim 64, 2 layers, F32) with the real 512-token
 * vocabulary of stories260K, written once per test process into a temp dir, so tests run in milliseconds
 * on the reference backend.
 */
import { openGguf } from "../../src/gguf/mod.ts";
import { GgmlType } from "../../src/quant/ggml_type.ts";
import { type SyntheticModelSpec, writeSyntheticModel } from "../../src/model/synthetic_model.ts";

/** The real tiny model (no chat template). */
export const STORIES_MODEL = "../shared/models/stories260K.gguf";

/** Shape of the synthetic test model. */
export const TINY_SPEC: SyntheticModelSpec = {
  arch: "llama",
  dim: 64,
  layers: 2,
  heads: 4,
  kvHeads: 4,
  ffn: 128,
  ctx: 256,
  type: GgmlType.F32,
  seed: 7,
};

const written = new Map<string, Promise<string>>();
const tempDirs: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const dir of tempDirs) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* already gone */ }
  }
});

/** Path of a synthetic model of `spec` (default {@link TINY_SPEC}), written once per process. */
export function tinyModelPath(spec: SyntheticModelSpec = TINY_SPEC): Promise<string> {
  const key = JSON.stringify(spec);
  let path = written.get(key);
  if (!path) {
    path = (async () => {
      const dir = await Deno.makeTempDir({ prefix: "edgering-serve-test-" });
      tempDirs.push(dir);
      const out = `${dir}/tiny.gguf`;
      const vocab = await openGguf(STORIES_MODEL);
      try {
        await writeSyntheticModel(spec, vocab, out);
      } finally {
        vocab.close();
      }
      return out;
    })();
    written.set(key, path);
  }
  return path;
}
