/** `edgering make-model`: writes a synthetic model of a real architecture with seeded random weights. */
import { openGguf } from "../gguf/mod.ts";
import type { Architecture } from "../model/model_config.ts";
import {
  SYNTHETIC_PRESETS,
  SYNTHETIC_TYPES,
  type SyntheticModelSpec,
  type SyntheticPresetName,
  writeSyntheticModel,
} from "../model/synthetic_model.ts";
import { UsageError } from "./cli_error.ts";
import { numberFlag, requireString } from "./flags.ts";
import type { Verb } from "./verb.ts";

/** Vocabulary the presets use when --vocab-from is not given (llama SentencePiece, 32000 tokens). */
export const DEFAULT_PRESET_VOCAB = "../shared/tokenizers/ggml-vocab-llama-spm.gguf";

export const makeModelVerb: Verb = {
  name: "make-model",
  usage:
    "edgering make-model (--preset NAME | --arch llama|qwen2 --dim D --layers L --heads H [--kv-heads K] " +
    "--ffn F [--ctx C]) --type f32|f16|q8_0|q4_0 --vocab-from FILE.gguf [--seed S] --out FILE.gguf",
  summary: "Writes a model with seeded random weights (normal, std 0.02) of a real architecture, with the\n" +
    `tokenizer copied from --vocab-from. Presets: ${Object.keys(SYNTHETIC_PRESETS).join(", ")} ` +
    `(vocabulary from ${DEFAULT_PRESET_VOCAB} unless --vocab-from is given).`,
  flags: {
    preset: { type: "string", help: `named size: ${Object.keys(SYNTHETIC_PRESETS).join("|")}` },
    arch: { type: "string", help: "architecture: llama|qwen2" },
    dim: { type: "string", help: "model width" },
    layers: { type: "string", help: "transformer blocks" },
    heads: { type: "string", help: "attention heads" },
    "kv-heads": { type: "string", help: "key/value heads (default: --heads)" },
    ffn: { type: "string", help: "feed-forward width" },
    ctx: { type: "string", help: "context length", default: "2048" },
    type: {
      type: "string",
      help: `matrix storage type: ${Object.keys(SYNTHETIC_TYPES).join("|")}`,
      default: "f32",
    },
    "vocab-from": { type: "string", help: "GGUF file to copy the tokenizer from" },
    seed: { type: "string", help: "random seed", default: "1" },
    tied: { type: "boolean", help: "tie the output head to the embedding" },
    out: { type: "string", help: "output path" },
  },
  async run(flags, io) {
    const verb = "make-model";
    const out = requireString(flags, verb, "out");
    const typeName = String(flags.values.type);
    const type = SYNTHETIC_TYPES[typeName];
    if (type === undefined) {
      throw new UsageError(
        `${verb}: --type must be one of ${Object.keys(SYNTHETIC_TYPES).join(", ")}, got "${typeName}"`,
      );
    }
    const seed = numberFlag(flags, verb, "seed", 0, 2 ** 32 - 1, true)!;
    const int = (name: string) => numberFlag(flags, verb, name, 1, 1 << 20, true);
    let shape: Omit<SyntheticModelSpec, "type" | "seed">;
    const presetName = flags.values.preset;
    if (typeof presetName === "string") {
      if (!(presetName in SYNTHETIC_PRESETS)) {
        throw new UsageError(
          `${verb}: unknown --preset "${presetName}" (known: ${Object.keys(SYNTHETIC_PRESETS).join(", ")})`,
        );
      }
      shape = SYNTHETIC_PRESETS[presetName as SyntheticPresetName];
    } else {
      const arch = requireString(flags, verb, "arch");
      if (arch !== "llama" && arch !== "qwen2") {
        throw new UsageError(`${verb}: --arch must be llama or qwen2, got "${arch}"`);
      }
      const heads = int("heads");
      const required = (name: string) => {
        const value = int(name);
        if (value === undefined) throw new UsageError(`${verb}: --${name} is required without --preset`);
        return value;
      };
      shape = {
        arch: arch as Architecture,
        dim: required("dim"),
        layers: required("layers"),
        heads: required("heads"),
        kvHeads: int("kv-heads") ?? heads!,
        ffn: required("ffn"),
        ctx: int("ctx")!,
      };
    }
    const vocabPath = typeof flags.values["vocab-from"] === "string"
      ? flags.values["vocab-from"]
      : typeof presetName === "string"
      ? DEFAULT_PRESET_VOCAB
      : requireString(flags, verb, "vocab-from");
    const vocab = await openGguf(vocabPath);
    try {
      const spec: SyntheticModelSpec = { ...shape, type, seed, tied: !!flags.values.tied };
      const started = performance.now();
      await writeSyntheticModel(spec, vocab, out);
      const size = (await Deno.stat(out)).size;
      io.stderr(
        `wrote ${out}: ${spec.arch} dim ${spec.dim}, ${spec.layers} layers, ${typeName}, ${size} bytes ` +
          `in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
      );
      return 0;
    } catch (error) {
      if (error instanceof RangeError) throw new UsageError(`${verb}: ${error.message}`);
      throw error;
    } finally {
      vocab.close();
    }
  },
};
