/**
 * `edgering serve` as a real process on loopback for the cluster tests: the tiny stories260K model on
 * the reference backend, API and gossip ports picked by the OS, the `local` gossip profile, and its
 * own state directory. Its stderr is collected line by line.
 *
 * @module
 */

const MAIN = new URL("../../../src/main.ts", import.meta.url).pathname;
/** The tiny real model shared by the tests (read in place, never copied). */
export const MODEL = new URL("../../../../shared/models/stories260K.gguf", import.meta.url).pathname;

/** The child's environment: ours without EDGERING_* settings, so only the flags given count. */
function childEnv(): Record<string, string> {
  const env = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) => !k.startsWith("EDGERING_")),
  );
  return { ...env, NO_COLOR: "1" };
}

export class ServeProcess {
  /** stderr lines so far */
  readonly lines: string[] = [];
  /** "http://127.0.0.1:PORT" once serving */
  url = "";
  readonly exited: Promise<Deno.CommandStatus>;
  readonly #child: Deno.ChildProcess;

  /** Spawns `edgering serve NAME` with `args` after the defaults (later flags win). */
  constructor(readonly name: string, readonly stateDir: string, args: string[] = []) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "serve",
        "--model",
        MODEL,
        "--backend",
        "reference",
        "--slots",
        "2",
        "--ctx",
        "256",
        "--port",
        "0",
        "--gossip-port",
        "0",
        "--profile",
        "local",
        "--grace-seconds",
        "0",
        "--name",
        name,
        "--state-dir",
        stateDir,
        ...args,
      ],
      env: childEnv(),
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    const pump = (async () => {
      let buffer = "";
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        let at: number;
        while ((at = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, at);
          buffer = buffer.slice(at + 1);
          this.lines.push(line);
          this.url ||= line.match(/serving \S+ on (http:\/\/\S+)/)?.[1] ?? "";
        }
      }
      if (buffer) this.lines.push(buffer);
    })();
    this.exited = pump.then(() => child.status);
  }

  /** "127.0.0.1:PORT" of the API, for --addr. */
  get addr(): string {
    return this.url.replace(/^http:\/\//, "");
  }

  /** The whole log so far. */
  get log(): string {
    return this.lines.join("\n");
  }

  /** Waits for a log line matching `pattern`; throws with the log if none comes within `ms`. */
  async waitFor(pattern: RegExp, ms = 20_000): Promise<RegExpMatchArray> {
    const end = Date.now() + ms;
    for (;;) {
      for (const line of this.lines) {
        const m = line.match(pattern);
        if (m) return m;
      }
      if (Date.now() > end) throw new Error(`${this.name}: no line matching ${pattern} in:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Waits until the node serves. */
  async ready(ms = 30_000): Promise<this> {
    await this.waitFor(/serving \S+ on http:/, ms);
    return this;
  }

  /** Sends `signal` (default SIGTERM) and resolves with the exit code. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<number> {
    try {
      this.#child.kill(signal);
    } catch { /* already gone */ }
    return (await this.exited).code;
  }
}

/** Polls `probe` until it returns a value that passes `done`, or throws after `ms`. */
export async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  let error: unknown;
  while (Date.now() < end) {
    try {
      last = await probe();
      if (done(last)) return last;
    } catch (e) {
      error = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `condition not met in ${ms} ms; last value ${JSON.stringify(last)?.slice(0, 2000)} ${error ?? ""}`,
  );
}
