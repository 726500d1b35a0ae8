/**
 * A stage process of the pipeline benchmark: `bench/pipeline.ts --stage` in a child process serving
 * one StageServer per layer range, optionally pinned to one CPU with `taskset -c` (so that "one node
 * with one core" means what it says), and the small statistics the benchmark prints.
 *
 * @example
 * ```ts
 * const node = new StageProcess(model, "a", ["0:6:e:h", "0:3:e"], { backend: "wasm", threads: 1, cpu: 0 });
 * const [whole, firstHalf] = await node.ready; // "127.0.0.1:port" of each range, in order
 * await node.stop();
 * ```
 *
 * @module
 */

/** The benchmark script that serves stages with `--stage`. */
const SCRIPT = new URL("./pipeline.ts", import.meta.url).pathname;

/** How a stage process runs its ranges. */
export interface StageProcessOptions {
  /** backend of the stages ("reference", "wasm", "auto") */
  readonly backend: string;
  /** wasm threads; default: the backend's */
  readonly threads?: number;
  /** CPU to pin the process to (`taskset -c`); default: not pinned */
  readonly cpu?: number;
}

/** Is `taskset` there to pin stage processes? */
export async function canPin(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("taskset", { args: ["-c", "0", "true"] }).output();
    return success;
  } catch {
    return false;
  }
}

/** A child process serving stages; `ready` resolves to each range's address. */
export class StageProcess {
  readonly #child: Deno.ChildProcess;
  readonly ready: Promise<string[]>;

  constructor(model: string, readonly id: string, ranges: readonly string[], options: StageProcessOptions) {
    const args = [
      "run",
      "-A",
      SCRIPT,
      "--stage",
      "--model",
      model,
      "--id",
      id,
      "--backend",
      options.backend,
      ...(options.threads !== undefined ? ["--threads", String(options.threads)] : []),
      ...ranges.flatMap((r) => ["--range", r]),
    ];
    const pinned = options.cpu !== undefined;
    const child = new Deno.Command(pinned ? "taskset" : Deno.execPath(), {
      args: pinned ? ["-c", String(options.cpu), Deno.execPath(), ...args] : args,
      stdout: "piped",
      stderr: "inherit",
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
    try {
      this.#child.kill("SIGKILL");
    } catch { /* gone */ }
  }

  async stop(): Promise<void> {
    this.kill();
    await this.#child.status;
    await this.ready.catch(() => {});
  }
}

/**
 * One stream on the whole model in a child process (`pipeline.ts --solo`), pinned like a stage
 * process: tokens/s of one node running alone, measured under the same pinning as the cluster.
 */
export async function soloTokensPerSec(
  model: string,
  options: StageProcessOptions & { readonly tokens: number; readonly reps: number },
): Promise<number> {
  const args = [
    "run",
    "-A",
    SCRIPT,
    "--solo",
    "--model",
    model,
    "--backend",
    options.backend,
    "--tokens",
    String(options.tokens),
    "--reps",
    String(options.reps),
    ...(options.threads !== undefined ? ["--threads", String(options.threads)] : []),
  ];
  const pinned = options.cpu !== undefined;
  const { success, stdout } = await new Deno.Command(pinned ? "taskset" : Deno.execPath(), {
    args: pinned ? ["-c", String(options.cpu), Deno.execPath(), ...args] : args,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const line = new TextDecoder().decode(stdout).split("\n").find((l) => l.startsWith("{"));
  if (!success || !line) throw new Error("the solo process failed");
  return (JSON.parse(line) as { tokensPerSec: number }).tokensPerSec;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)];
}
