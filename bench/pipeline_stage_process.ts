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

  /** The child's process id (for {@link procTimes}). */
  get pid(): number {
    return this.#child.pid;
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
  const out = await runChild(model, options, [
    "--solo",
    "--tokens",
    String(options.tokens),
    "--reps",
    String(options.reps),
  ]);
  return (out as { tokensPerSec: number }).tokensPerSec;
}

/**
 * One node's decode step at 1, 4 and 8 rows (`pipeline.ts --step-cost`, pipeline_step_cost.ts) in a
 * child process pinned like a stage process: median ms by batch size.
 */
export async function stepCostInProcess(
  model: string,
  options: StageProcessOptions,
): Promise<Record<number, number>> {
  return await runChild(model, options, ["--step-cost"]) as Record<number, number>;
}

/** Runs `pipeline.ts` in a (pinned) child and parses the JSON line it prints. */
async function runChild(
  model: string,
  options: StageProcessOptions,
  mode: readonly string[],
): Promise<unknown> {
  const args = [
    "run",
    "-A",
    SCRIPT,
    ...mode,
    "--model",
    model,
    "--backend",
    options.backend,
    ...(options.threads !== undefined ? ["--threads", String(options.threads)] : []),
  ];
  const pinned = options.cpu !== undefined;
  const { success, stdout } = await new Deno.Command(pinned ? "taskset" : Deno.execPath(), {
    args: pinned ? ["-c", String(options.cpu), Deno.execPath(), ...args] : args,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const line = new TextDecoder().decode(stdout).split("\n").find((l) => l.startsWith("{"));
  if (!success || !line) throw new Error(`the ${mode[0]} process failed`);
  return JSON.parse(line);
}

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU times of one process so far, ms; NaN where /proc could not be read. */
export interface ProcTimes {
  /** user + system time of all its threads */
  readonly cpuMs: number;
  /** its main thread on a CPU (/proc/PID/schedstat) */
  readonly runMs: number;
  /** its main thread runnable but waiting for a CPU: the time other processes held its core */
  readonly waitMs: number;
}

/**
 * CPU times of processes `pids` from /proc/PID/stat and /proc/PID/schedstat, read by `head` (Deno
 * reads /proc only with --allow-all; the benchmark task has --allow-run). NaN fields where unreadable.
 */
export async function procTimes(pids: readonly number[]): Promise<ProcTimes[]> {
  const files = pids.flatMap((pid) => [`/proc/${pid}/stat`, `/proc/${pid}/schedstat`]);
  let text = "";
  try {
    text = new TextDecoder().decode(
      (await new Deno.Command("head", { args: ["-n", "1", ...files] }).output()).stdout,
    );
  } catch { /* no head: NaN below */ }
  // "==> /proc/PID/stat <==\nLINE\n\n==> ..." : each file's line after its header
  const lines = new Map<string, string>();
  for (const part of text.split("==> ").slice(1)) {
    const [header, line = ""] = part.split("\n");
    lines.set(header.replace(/ <==$/, ""), line);
  }
  return pids.map((pid) => {
    const stat = lines.get(`/proc/${pid}/stat`);
    const sched = lines.get(`/proc/${pid}/schedstat`)?.split(" ").map(Number);
    // fields after the parenthesised command name: utime is the 14th field, stime the 15th
    const fields = stat?.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      cpuMs: fields ? ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ : NaN,
      runMs: sched ? sched[0] / 1e6 : NaN,
      waitMs: sched ? sched[1] / 1e6 : NaN,
    };
  });
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)];
}
