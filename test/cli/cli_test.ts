/**
 * The CLI as a real process: help on every verb, one-line errors with exit code 2 for bad flags,
 * missing files and damaged GGUF files, and the data verbs' output formats.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { VERBS } from "../../src/main.ts";

const MODEL = "../shared/models/stories260K.gguf";

async function edgering(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-net",
      "--allow-env",
      "--allow-sys",
      "src/main.ts",
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}

function assertOneLineError(result: { code: number; stderr: string }, pattern: RegExp): void {
  assertEquals(result.code, 2, result.stderr);
  const lines = result.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, `expected one line, got:\n${result.stderr}`);
  assert(pattern.test(lines[0]), lines[0]);
  assert(!/\bat (file|ext):/.test(result.stderr), "stack trace printed");
}

Deno.test("every verb prints its help with --help and exits 0", async () => {
  for (const verb of VERBS) {
    const result = await edgering(verb.name, "--help");
    assertEquals(result.code, 0, result.stderr);
    assert(result.stdout.startsWith(`usage: edgering ${verb.name}`), result.stdout);
    assert(result.stdout.includes("--help"));
  }
  const top = await edgering("--help");
  for (const verb of VERBS) assert(top.stdout.includes(verb.name));
});

Deno.test("an unknown verb or flag is one line on stderr and exit code 2", async () => {
  assertOneLineError(await edgering("fly"), /unknown verb "fly"/);
  assertOneLineError(
    await edgering("run", "--model", MODEL, "--prompt", "x", "--warp-speed", "9"),
    /warp-speed/,
  );
  assertOneLineError(await edgering("run", "--prompt", "x"), /--model is required/);
  assertOneLineError(
    await edgering("run", "--model", MODEL, "--prompt", "x", "--temperature", "hot"),
    /--temperature/,
  );
});

Deno.test("a missing model file is one line on stderr and exit code 2", async () => {
  assertOneLineError(
    await edgering("inspect", "/nonexistent/model.gguf"),
    /cannot open \/nonexistent\/model.gguf/,
  );
  assertOneLineError(
    await edgering("run", "--model", "/nonexistent/model.gguf", "--prompt", "x"),
    /cannot open \/nonexistent\/model.gguf/,
  );
});

Deno.test("a damaged GGUF file is one line naming the problem and exit code 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const good = await Deno.readFile(MODEL);
    const badMagic = good.slice(0, 4096);
    badMagic[0] = 0x58;
    await Deno.writeFile(`${dir}/magic.gguf`, badMagic);
    assertOneLineError(await edgering("inspect", `${dir}/magic.gguf`), /bad GGUF file: .*magic/i);
    await Deno.writeFile(`${dir}/short.gguf`, good.slice(0, good.length / 2));
    assertOneLineError(
      await edgering("run", "--model", `${dir}/short.gguf`, "--prompt", "x"),
      /bad GGUF file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tokenize prints JSON ids, with and without BOS, and arrays for --texts-json", async () => {
  const withBos = await edgering("tokenize", "--model", MODEL, "--text", "Once upon a time");
  assertEquals(JSON.parse(withBos.stdout), [1, 403, 407, 261, 378]);
  const noBos = await edgering("tokenize", "--model", MODEL, "--text", "Once upon a time", "--no-bos");
  assertEquals(JSON.parse(noBos.stdout), [403, 407, 261, 378]);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/texts.json`, JSON.stringify(["Once upon a time", ""]));
    const many = await edgering(
      "tokenize",
      "--model",
      MODEL,
      "--texts-json",
      `${dir}/texts.json`,
      "--no-bos",
    );
    assertEquals(JSON.parse(many.stdout), [[403, 407, 261, 378], []]);
    await Deno.writeTextFile(`${dir}/bad.json`, "{");
    assertOneLineError(
      await edgering("tokenize", "--model", MODEL, "--texts-json", `${dir}/bad.json`),
      /not JSON/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("inspect --json describes metadata and every tensor", async () => {
  const result = await edgering("inspect", MODEL, "--json");
  assertEquals(result.code, 0, result.stderr);
  const info = JSON.parse(result.stdout);
  assertEquals(info.version, 3);
  assertEquals(info.metadata["general.architecture"], "llama");
  assertEquals(info.metadata["tokenizer.ggml.tokens"].length, 512);
  assertEquals(info.tensors.length, 48);
  const embd = info.tensors.find((t: { name: string }) => t.name === "token_embd.weight");
  assertEquals([embd.type, embd.dims, embd.bytes], ["F32", [64, 512], 64 * 512 * 4]);
});

Deno.test("make-model writes a model that run can generate from", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/tiny.gguf`;
    const made = await edgering(
      "make-model",
      "--arch",
      "llama",
      "--dim",
      "64",
      "--layers",
      "2",
      "--heads",
      "4",
      "--kv-heads",
      "2",
      "--ffn",
      "128",
      "--ctx",
      "64",
      "--type",
      "q8_0",
      "--vocab-from",
      MODEL,
      "--seed",
      "9",
      "--out",
      out,
    );
    assertEquals(made.code, 0, made.stderr);
    const run = await edgering(
      "run",
      "--model",
      out,
      "--prompt",
      "Once upon",
      "--max-tokens",
      "8",
      "--temperature",
      "0",
    );
    assertEquals(run.code, 0, run.stderr);
    assert(/gen_tokens=8 /.test(run.stderr), run.stderr);
    assertOneLineError(
      await edgering(
        "make-model",
        "--arch",
        "llama",
        "--dim",
        "30",
        "--layers",
        "1",
        "--heads",
        "4",
        "--ffn",
        "64",
        "--vocab-from",
        MODEL,
        "--out",
        `${dir}/bad.gguf`,
      ),
      /--dim 30 is not a multiple of --heads 4/,
    );
    assertOneLineError(
      await edgering("make-model", "--preset", "huge", "--out", out),
      /unknown --preset "huge"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
