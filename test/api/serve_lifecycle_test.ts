/**
 * `edgering serve` as a real process: startup line, graceful drain on SIGTERM, exit codes, and the
 * one-line startup failures.
 */
import assert from "node:assert/strict";
import { TINY_SPEC, tinyModelPath } from "./test_model.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

/** The child's environment: ours (so it finds the same Deno cache) without EDGERING_* settings, and its
 * model cache in `home`. DENO_DIR is pinned because Deno's own cache also follows XDG_CACHE_HOME. */
function childEnv(home: string): Record<string, string> {
  const env = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) => !k.startsWith("EDGERING_")),
  );
  const denoDir = env.DENO_DIR ?? `${env.XDG_CACHE_HOME ?? `${env.HOME}/.cache`}/deno`;
  return { ...env, DENO_DIR: denoDir, XDG_CACHE_HOME: `${home}/cache`, NO_COLOR: "1" };
}
const LONG_SPEC = { ...TINY_SPEC, ctx: 4096 };

interface Node {
  readonly url: string;
  readonly child: Deno.ChildProcess;
  /** stderr lines so far */
  readonly lines: string[];
  readonly exited: Promise<Deno.CommandStatus>;
}

async function startNode(args: string[], home: string): Promise<Node> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "serve",
      "--no-cluster",
      "--port",
      "0",
      "--offline",
      "--backend",
      "reference",
      ...args,
    ],
    env: childEnv(home),
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let url: string | undefined;
  const pump = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += value;
      let at: number;
      while ((at = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 1);
        lines.push(line);
        url ??= line.match(/serving \S+ on (http:\/\/\S+)/)?.[1];
      }
    }
  })();
  const deadline = performance.now() + 30_000;
  while (url === undefined && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (lines.some((l) => l.startsWith("edgering: ") && !l.includes("serving") && /error|cannot/.test(l))) {
      break;
    }
  }
  if (url === undefined) {
    child.kill("SIGKILL");
    await child.status;
    throw new Error(`node did not start: ${lines.join(" | ")}`);
  }
  return { url, child, lines, exited: pump.then(() => child.status) };
}

async function withHome(body: (home: string) => Promise<void>) {
  const home = await Deno.makeTempDir({ prefix: "edgering-serve-home-" });
  try {
    await body(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

async function readEvents(response: Response, onFirst: () => Promise<void>): Promise<string[]> {
  const events: string[] = [];
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let first = true;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return events;
    buffer += value;
    let at: number;
    while ((at = buffer.indexOf("\n\n")) >= 0) {
      events.push(buffer.slice(0, at).replace(/^data: /, ""));
      buffer = buffer.slice(at + 2);
      if (first) {
        first = false;
        await onFirst();
      }
    }
  }
}

/** Greedy on the synthetic model: no end-of-sequence token comes, so the stream runs to max_tokens. */
const longStream = (max: number) =>
  JSON.stringify({ model: "tiny", prompt: "Once", max_tokens: max, temperature: 0, stream: true });

Deno.test("SIGTERM drains: new requests get 503, the running stream finishes, the process exits 0", async () => {
  const model = await tinyModelPath(LONG_SPEC);
  await withHome(async (home) => {
    const node = await startNode([
      "--model",
      model,
      "--model-name",
      "tiny",
      "--ctx",
      "4096",
      "--slots",
      "2",
      "--grace-seconds",
      "60",
    ], home);
    assert.match(
      node.lines.join("\n"),
      /serving tiny on http:\/\/127\.0\.0\.1:\d+ · backend reference .* memory: weights/,
    );
    const response = await fetch(`${node.url}/v1/completions`, { method: "POST", body: longStream(1500) });
    let during: Response | undefined;
    let health: Response | undefined;
    const events = await readEvents(response, async () => {
      node.child.kill("SIGTERM");
      // wait until the node says it is draining, then try a new request
      while (!node.lines.some((l) => l.includes("draining"))) await new Promise((r) => setTimeout(r, 10));
      health = await fetch(`${node.url}/health`);
      during = await fetch(`${node.url}/v1/completions`, {
        method: "POST",
        body: JSON.stringify({ model: "tiny", prompt: "x" }),
      });
    });
    assert.equal(health!.status, 503);
    assert.equal((await health!.json()).status, "draining");
    assert.equal(during!.status, 503);
    assert.equal((await during!.json()).error.code, "draining");
    assert.equal(events.at(-1), "[DONE]");
    const last = JSON.parse(events.at(-2)!);
    assert.equal(last.choices[0].finish_reason, "length");
    assert.ok(events.length > 100, `${events.length} events: the stream ran on through the drain`);
    const status = await node.exited;
    assert.equal(status.code, 0);
    assert.ok(node.lines.some((l) => l.includes("drained")));
  });
});

Deno.test("after the grace period running streams are cancelled with an error event and the node exits 0", async () => {
  const model = await tinyModelPath(LONG_SPEC);
  await withHome(async (home) => {
    const node = await startNode([
      "--model",
      model,
      "--model-name",
      "tiny",
      "--ctx",
      "4096",
      "--grace-seconds",
      "0",
    ], home);
    const response = await fetch(`${node.url}/v1/completions`, { method: "POST", body: longStream(4000) });
    const events = await readEvents(response, () => {
      node.child.kill("SIGINT");
      return Promise.resolve();
    });
    assert.equal(events.at(-1), "[DONE]");
    const error = JSON.parse(events.at(-2)!);
    assert.equal(error.error.code, "cancelled");
    assert.equal((await node.exited).code, 0);
  });
});

async function runServe(
  args: string[],
  home: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "serve", ...args],
    env: childEnv(home),
    clearEnv: true,
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("startup failures are one line on stderr and exit code 2", async () => {
  await withHome(async (home) => {
    const offline = await runServe(["--offline", "--port", "0"], home);
    assert.equal(offline.code, 2);
    const lines = offline.stderr.trim().split("\n").filter((l) => !l.startsWith("Deno.serve:"));
    assert.equal(lines.length, 1, offline.stderr);
    assert.match(lines[0], /^edgering: serve: no model to serve: .*offline.*Pass --model FILE\.gguf/);

    const badFlag = await runServe(["--slots", "lots"], home);
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /--slots: expected an integer, got "lots"/);

    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const busy = await runServe(
        ["--port", String((listener.addr as Deno.NetAddr).port), "--offline"],
        home,
      );
      assert.equal(busy.code, 2);
      assert.match(busy.stderr, /cannot bind 127\.0\.0\.1:\d+: the address is in use/);
    } finally {
      listener.close();
    }
  });
});

Deno.test("--print-config prints the effective config with each value's source", async () => {
  await withHome(async (home) => {
    const config = `${home}/edgering.toml`;
    await Deno.writeTextFile(config, "slots = 3\nport = 9999\n");
    const printed = await runServe(["--print-config", "--config", config, "--port", "1234"], home);
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /\nport = 1234\n/);
    assert.match(printed.stdout, /\[flag; --port, EDGERING_PORT\]\nport = 1234/);
    assert.match(printed.stdout, /\[file; --slots, EDGERING_SLOTS\]\nslots = 3/);
    assert.match(printed.stdout, new RegExp(`cache_dir = "${home}/cache/edgering"`));
  });
});
