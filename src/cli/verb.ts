/** The shape of one CLI verb (`edgering run`, `edgering inspect`, ...). */
import type { FlagTable, ParsedFlags } from "./flags.ts";

/** Where a verb writes. Separate from Deno.stdout so tests can capture output. */
export interface CliIo {
  /** generated text or requested data */
  stdout(text: string): void;
  /** progress, logs and the stats line */
  stderr(text: string): void;
}

/** A verb: name, help and the function that runs it. Returns the exit code. */
export interface Verb {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly flags: FlagTable;
  run(flags: ParsedFlags, io: CliIo): Promise<number>;
}

/** CliIo writing to the process's stdout and stderr. */
export function processIo(): CliIo {
  const encoder = new TextEncoder();
  const write = (stream: typeof Deno.stdout, text: string) => {
    const bytes = encoder.encode(text);
    let written = 0;
    while (written < bytes.length) written += stream.writeSync(bytes.subarray(written));
  };
  return { stdout: (text) => write(Deno.stdout, text), stderr: (text) => write(Deno.stderr, text) };
}
