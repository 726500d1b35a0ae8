/** `edgering run`: one-shot generation on one node, text to stdout, a stats line to stderr. */
import { BACKEND_CHOICES, type BackendChoice, createBackend } from "../backend/create_backend.ts";
import { generate } from "../engine/generate.ts";
import { loadModel } from "../engine/loaded_model.ts";
import { UsageError } from "./cli_error.ts";
import { createLoadProgress } from "./load_progress.ts";
import { numberFlag, requireString } from "./flags.ts";
import type { Verb } from "./verb.ts";

export const runVerb: Verb = {
  name: "run",
  usage: "edgering run --model FILE --prompt TEXT [flags]",
  summary:
    "Generates a continuation of the prompt on this node and writes only the generated text to stdout.\n" +
    "The last line on stderr is: stats prompt_tokens=N prompt_tps=X gen_tokens=N gen_tps=Y backend=NAME",
  flags: {
    model: { type: "string", help: "GGUF model: a file path or an http(s) URL" },
    prompt: { type: "string", help: "prompt text" },
    "max-tokens": { type: "string", help: "most tokens to generate", default: "128" },
    temperature: { type: "string", help: "sampling temperature; 0 is greedy", default: "0.8" },
    "top-k": { type: "string", help: "keep the K most likely tokens (0 = all)", default: "40" },
    "top-p": { type: "string", help: "nucleus sampling mass", default: "0.95" },
    "min-p": {
      type: "string",
      help: "drop tokens below this fraction of the top probability",
      default: "0.05",
    },
    "repeat-penalty": { type: "string", help: "repetition penalty (1 = off)", default: "1" },
    seed: { type: "string", help: "sampling seed (default: random)" },
    backend: { type: "string", help: `compute backend: ${BACKEND_CHOICES.join("|")}`, default: "auto" },
    threads: { type: "string", help: "CPU threads for the wasm backend (default: all cores)" },
    "no-bos": { type: "boolean", help: "do not add the BOS token" },
    ctx: { type: "string", help: "context size in tokens (default: the model's)" },
  },
  async run(flags, io) {
    const verb = "run";
    const model = requireString(flags, verb, "model");
    const prompt = requireString(flags, verb, "prompt");
    const backendName = String(flags.values.backend);
    if (!(BACKEND_CHOICES as readonly string[]).includes(backendName)) {
      throw new UsageError(
        `run: --backend must be one of ${BACKEND_CHOICES.join(", ")}, got "${backendName}"`,
      );
    }
    const maxTokens = numberFlag(flags, verb, "max-tokens", 0, 1 << 20, true)!;
    const sampling = {
      temperature: numberFlag(flags, verb, "temperature", 0, 100)!,
      topK: numberFlag(flags, verb, "top-k", 0, 1 << 24, true)!,
      topP: numberFlag(flags, verb, "top-p", 0, 1)!,
      minP: numberFlag(flags, verb, "min-p", 0, 1)!,
      repetitionPenalty: numberFlag(flags, verb, "repeat-penalty", 0, 100)!,
      seed: numberFlag(flags, verb, "seed", 0, 2 ** 32 - 1, true),
    };
    const backend = await createBackend(backendName as BackendChoice, {
      threads: numberFlag(flags, verb, "threads", 1, 1024, true),
    });
    const ctx = numberFlag(flags, verb, "ctx", 2, 1 << 24, true);
    const progress = createLoadProgress(`weights → ${backend.name}`, io.stderr, Deno.stderr.isTerminal());
    const loaded = await loadModel(model, backend, { ctx, onProgress: progress.onProgress })
      .finally(() => progress.done());
    try {
      const addBos = flags.values["no-bos"] ? false : loaded.tokenizer.addBos;
      const tokens = loaded.tokenizer.encode(prompt, { addBos });
      const run = generate(loaded, tokens, { maxTokens, sampling });
      let step = await run.next();
      while (!step.done) {
        io.stdout(step.value.text);
        step = await run.next();
      }
      const summary = step.value;
      io.stdout(summary.tail);
      const rate = (count: number, ms: number) => (ms > 0 ? (count * 1000) / ms : 0).toFixed(2);
      io.stderr(
        `\nstats prompt_tokens=${summary.promptTokens} prompt_tps=${
          rate(summary.promptTokens, summary.prefillMs)
        }` +
          ` gen_tokens=${summary.generatedTokens} gen_tps=${
            rate(summary.generatedTokens, summary.decodeMs)
          }` +
          ` backend=${backend.name}\n`,
      );
      return 0;
    } finally {
      loaded.close();
    }
  },
};
