/** `edgering tokenize`: token ids of a text (or of a JSON array of texts) as JSON. */
import { openGguf } from "../gguf/mod.ts";
import { Tokenizer } from "../tokenizer/mod.ts";
import { UsageError } from "./cli_error.ts";
import { requireString } from "./flags.ts";
import type { Verb } from "./verb.ts";

export const tokenizeVerb: Verb = {
  name: "tokenize",
  usage: "edgering tokenize --model FILE (--text TEXT | --texts-json FILE) [--no-bos] [--special]",
  summary:
    "Prints the token ids of --text as a JSON array, or of each string in --texts-json as an array of arrays.",
  flags: {
    model: { type: "string", help: "GGUF file holding the tokenizer (a model or a vocabulary-only file)" },
    text: { type: "string", help: "text to tokenize" },
    "texts-json": { type: "string", help: "file holding a JSON array of strings" },
    "no-bos": { type: "boolean", help: "do not add the BOS token even if the model asks for it" },
    special: { type: "boolean", help: "parse special tokens such as <s> written in the text" },
  },
  async run(flags, io) {
    const file = await openGguf(requireString(flags, "tokenize", "model"));
    try {
      const tokenizer = Tokenizer.fromMetadata(file.header.metadata);
      const options = {
        addBos: flags.values["no-bos"] ? false : tokenizer.addBos,
        parseSpecial: !!flags.values.special,
      };
      const text = flags.values.text;
      const textsFile = flags.values["texts-json"];
      if (typeof text === "string" && textsFile === undefined) {
        io.stdout(JSON.stringify(tokenizer.encode(text, options)) + "\n");
      } else if (typeof textsFile === "string" && text === undefined) {
        const texts = parseTexts(await Deno.readTextFile(textsFile), textsFile);
        io.stdout(JSON.stringify(texts.map((t) => tokenizer.encode(t, options))) + "\n");
      } else {
        throw new UsageError("tokenize: give exactly one of --text or --texts-json");
      }
      return 0;
    } finally {
      file.close();
    }
  },
};

function parseTexts(json: string, path: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new UsageError(`tokenize: ${path} is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw new UsageError(`tokenize: ${path} must hold a JSON array of strings`);
  }
  return value;
}
