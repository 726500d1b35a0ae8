/**
 * edgering: one binary per host. `edgering VERB [flags]`; `edgering --help` lists the verbs.
 *
 * This file is the program's entry point (the in-repo form of the binary: `deno task edgering`).
 */
import { describeError, EXIT_BAD_INPUT, UsageError } from "./cli/cli_error.ts";
import { formatHelp, parseFlags } from "./cli/flags.ts";
import { inspectVerb } from "./cli/inspect_command.ts";
import { keysVerb } from "./cli/keys_command.ts";
import { makeModelVerb } from "./cli/make_model_command.ts";
import { runVerb } from "./cli/run_command.ts";
import { serveVerb } from "./cli/serve_command.ts";
import { statusVerb } from "./cli/status_command.ts";
import { tokenizeVerb } from "./cli/tokenize_command.ts";
import { type CliIo, processIo, type Verb } from "./cli/verb.ts";

/** Every verb, in the order `--help` lists them. */
export const VERBS: readonly Verb[] = [
  runVerb,
  serveVerb,
  statusVerb,
  keysVerb,
  tokenizeVerb,
  inspectVerb,
  makeModelVerb,
];

/** The program version, shown by `edgering --version`. */
export const VERSION = "0.1.0";

function firstSentence(text: string): string {
  const flat = text.replaceAll("\n", " ");
  const end = flat.search(/\.(\s|$)/);
  return end < 0 ? flat : flat.slice(0, end + 1);
}

function topHelp(): string {
  const lines = ["usage: edgering VERB [flags]", "", "verbs:"];
  for (const verb of VERBS) lines.push(`  ${verb.name.padEnd(12)} ${firstSentence(verb.summary)}`);
  lines.push("", "'edgering VERB --help' describes a verb's flags.");
  return lines.join("\n") + "\n";
}

/** Runs the CLI with `args`; returns the exit code. Errors become one line on stderr. */
export async function main(args: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    const [name, ...rest] = args;
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
      io.stdout(topHelp());
      return name === undefined ? EXIT_BAD_INPUT : 0;
    }
    if (name === "--version") {
      io.stdout(`edgering ${VERSION}\n`);
      return 0;
    }
    const verb = VERBS.find((v) => v.name === name);
    if (!verb) throw new UsageError(`unknown verb "${name}" (verbs: ${VERBS.map((v) => v.name).join(", ")})`);
    const flags = parseFlags(verb.name, rest, verb.flags);
    if (flags.values.help) {
      io.stdout(formatHelp(verb.usage, verb.summary, verb.flags) + "\n");
      return 0;
    }
    return await verb.run(flags, io);
  } catch (error) {
    const { message, code } = describeError(error);
    io.stderr(`edgering: ${message}\n`);
    if (Deno.env.get("EDGERING_DEBUG") === "1" && error instanceof Error) io.stderr(`${error.stack}\n`);
    return code;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
